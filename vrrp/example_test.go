package vrrp_test

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"

	"github.com/kdcha/kdcha/vrrp"
	"github.com/prometheus/client_golang/prometheus"
)

// ExampleOpen shows how the agent runs the instances of its `vrrp` section:
// open each, run it until shutdown, and feed it the health verdicts. (Not
// run as a test: it needs root and a real interface.)
func ExampleOpen() {
	cfg := vrrp.Config{Instances: []vrrp.InstanceConfig{vrrp.DefaultInstanceConfig()}}
	cfg.Instances[0].Name, cfg.Instances[0].Interface, cfg.Instances[0].VRID = "VI_KDC", "eth0", 51
	cfg.Instances[0].VirtualIPAddresses = []string{"192.0.2.10/24"}
	if err := cfg.Validate(); err != nil {
		slog.Error("invalid configuration", "err", err)
		return
	}
	metrics, err := vrrp.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		slog.Error("metrics", "err", err)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait() // let every instance resign and remove its VIPs
	for _, ic := range cfg.Instances {
		inst, err := vrrp.Open(ic, vrrp.InstanceDeps{
			OnEvent: func(e vrrp.InstanceEvent) { slog.Info("vrrp event", "instance", e.Instance, "state", e.State) },
			Metrics: metrics,
		})
		if err != nil {
			slog.Error("open instance", "err", err)
			return
		}
		wg.Go(func() {
			if err := inst.Run(ctx); err != nil {
				slog.Error("instance stopped", "err", err)
			}
		})
		// The health package's verdicts arrive as:
		_ = inst.SetPriorityDelta(ctx, -20)
		_ = inst.SetFault(ctx, "health", "kinit: timeout")
		_ = inst.ClearFault(ctx, "health")
	}
	<-ctx.Done()
}
