package notify_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/kdcha/kdcha/notify"
)

// printSink stands in for a webhook or script sink.
type printSink struct{}

func (printSink) Deliver(_ context.Context, ev notify.Event) error {
	fmt.Printf("%s #%d %s -> %s (%d): %s\n", ev.Instance, ev.Seq, ev.PrevState, ev.State, ev.Priority, ev.Reason)
	return nil
}

// The VRRP runner publishes each transition after acting on it and closes
// the dispatcher last on shutdown, after publishing STOP. The main program
// would build the dispatcher with notify.New from the configuration.
func Example() {
	d, err := notify.NewDispatcher(notify.Options{Node: "kdc1"},
		notify.Target{Name: "print", Sink: printSink{}, QueueSize: 16})
	if err != nil {
		panic(err)
	}
	vips := []netip.Prefix{netip.MustParsePrefix("192.0.2.10/24")}
	d.Publish(notify.Event{Instance: "VI_1", State: notify.StateMaster, PrevState: notify.StateBackup,
		Priority: 150, Reason: "master down timer expired", VIPs: vips})
	d.Publish(notify.Event{Instance: "VI_1", State: notify.StateStop, PrevState: notify.StateMaster,
		Priority: 150, Reason: "agent stopping", VIPs: vips})

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// VI_1 #1 BACKUP -> MASTER (150): master down timer expired
	// VI_1 #2 MASTER -> STOP (150): agent stopping
}
