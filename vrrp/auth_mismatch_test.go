package vrrp

import (
	"context"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kdcha/kdcha/internal/netnstest"
)

// TestKeepalivedAuthPassMismatch runs a real keepalived with
// `authentication { auth_type PASS }` next to kdcha: kdcha cannot use its
// adverts (nor it kdcha's), so both become MASTER. That must not be
// silent: one warning naming the peer (rate-limited: more adverts do not log
// again within a minute), a per-instance counter and the status (what
// `kdcha status` prints).
func TestKeepalivedAuthPassMismatch(t *testing.T) {
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived not installed (apt-get install -y keepalived)")
	}
	t.Parallel()
	lan := netnstest.NewLAN(t, 2)
	kdchaNode, kaNode := lan[0], lan[1]
	cfg := testInstanceConfig("kdcha", 150)
	cfg.Version, cfg.AdvertInterval = 2, time.Second

	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	var inst *Instance
	if err := kdchaNode.Do(func() (err error) {
		inst, err = Open(cfg, InstanceDeps{Metrics: metrics, Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inst.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if t.Failed() {
			t.Logf("kdcha logs:\n%s", logs)
		}
	})
	ka := startKeepalivedExtra(t, kaNode, 2, time.Second, 100, "192.0.2.100/24", netip.Addr{},
		"  authentication {\n    auth_type PASS\n    auth_pass s3cret\n  }\n")

	// keepalived hears nothing it accepts either: it becomes MASTER after
	// its down interval and advertises; wait for a few of its adverts.
	kaAddr := kaNode.Addr.Addr()
	var dropped DroppedAdverts
	for start := time.Now(); dropped.Count < 3; time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > 15*time.Second {
			t.Fatalf("after 15 s kdcha status shows dropped adverts %+v, want 3 from %v", inst.Status().Dropped, kaAddr)
		}
		if d := inst.Status().Dropped; len(d) == 1 {
			dropped = d[0]
		}
	}
	if dropped.Src != kaAddr || dropped.Reason != ReasonAuthTypeMismatch {
		t.Fatalf("dropped %+v, want auth type mismatch from %v", dropped, kaAddr)
	}
	ka.waitLog(t, "Entering MASTER STATE", time.Second)
	if st := inst.Status().State; st != StateMaster {
		t.Errorf("kdcha is %v; with both deaf to each other it is MASTER too (split brain)", st)
	}
	warns := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "authentication type mismatch") {
			warns++
			if !strings.Contains(line, "src="+kaAddr.String()) || !strings.Contains(line, "Remove the authentication block") {
				t.Errorf("warning does not name the peer and the fix: %s", line)
			}
		}
	}
	if warns != 1 {
		t.Errorf("%d warnings for %d dropped adverts within a minute, want 1", warns, dropped.Count)
	}
	if v := metricValue(t, reg, "kdcha_vrrp_adverts_discarded_total", map[string]string{"instance": "kdcha", "reason": "auth_type"}); v < 3 {
		t.Errorf("kdcha_vrrp_adverts_discarded_total{reason=auth_type} = %v, want >= 3", v)
	}
}
