package readiness_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/kdcha/kdcha/internal/readiness"
)

// The agent declares its startup conditions and essential loops once,
// serves /healthz and /readyz next to /metrics, and runs a Notifier
// (readiness.NewNotifier(set, ...).Run(ctx)) for systemd; each part then
// reports as it gets there.
func Example() {
	set := readiness.New(readiness.Options{})
	kdc := set.Condition(readiness.KDCListening, "not bound yet")
	replica := set.Condition(readiness.ReplicaCaughtUp, "waiting for the leader")
	verdict := set.Condition(readiness.FirstHealthVerdict, "no verdict yet")
	vrrp := set.Loop("vrrp:VI_KDC", 3*time.Second)

	mux := http.NewServeMux()
	set.Register(mux)

	kdc.Set("listening on 192.0.2.1:88")
	replica.Set("applied index 42 of 42")
	fmt.Println(set.Report().Summary())
	verdict.Set("kinit check up")
	vrrp.Beat()
	fmt.Println(set.Report().Summary())
	// Output:
	// waiting for first_health_verdict (no verdict yet)
	// ready
}
