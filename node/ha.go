package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/notify"
	"github.com/kdcha/kdcha/vrrp"
)

// ProbePrincipal is the principal the agent's own health probe
// authenticates as. `cluster init` creates it; every node writes its keytab
// from its local replica, so no node needs a Raft write to start probing.
const ProbePrincipal = "kdcha/health"

// haServices are the failover parts of a node: VRRP instances, the health
// checks that set their priority, and the notifications of their
// transitions.
type haServices struct {
	cfg      *Config
	log      *slog.Logger
	reg      prometheus.Registerer
	database *db.DB
	// kdcAddr is this node's own KDC address, probed by default.
	kdcAddr string
	// live receives the instances and the health runner for `kdcha status`.
	live *liveStatus
}

// run runs until ctx is cancelled, then lets every instance resign (priority
// 0 advertisement, VIPs removed) and drains the notifications.
func (h haServices) run(ctx context.Context) error {
	dispatcher, err := notify.New(h.cfg.Notify, notify.Options{Node: h.cfg.Node.Name, Logger: h.log, Registerer: h.reg})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := dispatcher.Close(closeCtx); err != nil {
			h.log.Warn("notifications not all delivered at shutdown", "err", err)
		}
	}()

	instances, err := h.openInstances(dispatcher)
	if err != nil {
		return err
	}
	checks, err := h.checks()
	if err != nil {
		return err
	}
	// Write the probe's keytab before the first probe runs, so a healthy
	// node does not start by counting a failure.
	keytab := h.writeProbeKeytab(nil)
	healthMetrics, err := health.NewMetrics(h.reg)
	if err != nil {
		return fmt.Errorf("health metrics: %w", err)
	}
	verdicts := make(chan health.Verdict, 1)
	runner := health.NewRunner(checks, health.RunnerOptions{
		OnChange: func(v health.Verdict) { offerLatest(verdicts, v) },
		Logger:   h.log,
		Metrics:  healthMetrics,
	})

	h.live.instances.Store(&instances)
	h.live.runner.Store(runner)

	g, gctx := errgroup.WithContext(ctx)
	for _, in := range instances {
		g.Go(func() error { return in.Run(gctx) })
	}
	g.Go(func() error { runner.Run(gctx); return nil })
	g.Go(func() error { applyVerdicts(gctx, instances, verdicts, h.log); return nil })
	g.Go(func() error { h.refreshProbeKeytab(gctx, keytab); return nil })
	return g.Wait()
}

func (h haServices) openInstances(dispatcher *notify.Dispatcher) ([]*vrrp.Instance, error) {
	if len(h.cfg.VRRP.Instances) == 0 {
		return nil, nil
	}
	metrics, err := vrrp.NewMetrics(h.reg)
	if err != nil {
		return nil, fmt.Errorf("vrrp metrics: %w", err)
	}
	var out []*vrrp.Instance
	for _, ic := range h.cfg.VRRP.Instances {
		vips, err := ic.VIPs()
		if err != nil {
			return nil, err
		}
		in, err := vrrp.Open(ic, vrrp.InstanceDeps{
			OnEvent: func(e vrrp.InstanceEvent) {
				if ev, ok := notifyEvent(e, vips); ok {
					dispatcher.Publish(ev)
				}
			},
			Log:     h.log,
			Metrics: metrics,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// notifyEvent turns a VRRP transition into a notification. Leaving for INIT
// at shutdown is keepalived's STOP; other INIT transitions are not reported.
func notifyEvent(e vrrp.InstanceEvent, vips []netip.Prefix) (notify.Event, bool) {
	state := notify.State(e.State.String())
	if e.State == vrrp.StateInitialize {
		if e.Reason != vrrp.ReasonShutdown {
			return notify.Event{}, false
		}
		state = notify.StateStop
	}
	reason := string(e.Reason)
	if e.Detail != "" {
		reason += ": " + e.Detail
	}
	return notify.Event{
		Instance:  e.Instance,
		State:     state,
		PrevState: notify.State(e.Previous.String()),
		Priority:  int(e.Priority),
		Reason:    reason,
		VIPs:      vips,
		Time:      e.Time,
	}, true
}

// offerLatest replaces whatever verdict is waiting with v: only the newest
// one matters, and the health runner must never block on the VRRP side.
func offerLatest(ch chan health.Verdict, v health.Verdict) {
	for {
		select {
		case ch <- v:
			return
		default:
			select {
			case <-ch:
			default:
			}
		}
	}
}

// applyVerdicts feeds health verdicts to every instance: the summed weights
// as a priority delta, and a weight-0 failure as a fault.
func applyVerdicts(ctx context.Context, instances []*vrrp.Instance, verdicts <-chan health.Verdict, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case v := <-verdicts:
			for _, in := range instances {
				err := in.SetPriorityDelta(ctx, v.Delta)
				if v.Fault {
					err = errors.Join(err, in.SetFault(ctx, "health", v.Reason))
				} else {
					err = errors.Join(err, in.ClearFault(ctx, "health"))
				}
				if err != nil && ctx.Err() == nil {
					log.Warn("cannot apply health verdict", "err", err)
				}
			}
		}
	}
}

// checks returns the configured health checks plus, unless the
// configuration already has a kinit check, the agent's own: a preauthenticated
// AS exchange for the probe principal against this node's KDC. A cluster
// member also checks that its replica hears the Raft leader (a priority
// hint, weight -50).
func (h haServices) checks() ([]health.Check, error) {
	cfg := h.cfg.Health
	hasKinit := false
	for _, c := range cfg.Checks {
		hasKinit = hasKinit || c.Type == health.CheckKinit
	}
	if !hasKinit {
		cfg.Checks = append(cfg.Checks, health.CheckConfig{
			Name:      "kinit",
			Type:      health.CheckKinit,
			KDC:       h.kdcAddr,
			Principal: ProbePrincipal + "@" + h.cfg.Realm,
			Keytab:    h.probeKeytabPath(),
		})
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	checks, err := health.NewChecks(cfg)
	if err != nil {
		return nil, err
	}
	if h.cfg.Clustered() {
		checks = append(checks, replicaCheck(h.database))
	}
	return checks, nil
}

func (h haServices) probeKeytabPath() string {
	return filepath.Join(h.cfg.Node.DataDir, "health.keytab")
}

// refreshProbeKeytab keeps the probe's keytab equal to the probe
// principal's current keys in the local replica (a rekey on any node
// reaches every node through Raft, and a joining node receives the
// principal with its first snapshot). It checks every second: reading a
// few keys from memory is cheap, and until the keytab is right the node's
// own health keeps its priority down.
func (h haServices) refreshProbeKeytab(ctx context.Context, last []byte) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		last = h.writeProbeKeytab(last)
	}
}

// writeProbeKeytab writes the probe principal's keytab if it differs from
// last and returns what the file now holds. The entries are stamped with
// the principal's modification time, so unchanged keys give the same
// bytes and the file is written (and logged, at debug) only when the keys
// change. It reads the replica directly rather than through db.Keytab,
// which logs every call as an export.
func (h haServices) writeProbeKeytab(last []byte) []byte {
	p, err := h.database.Get(ProbePrincipal)
	var kt []byte
	if err == nil {
		kt, err = db.MarshalKeytab([]*db.Principal{p}, p.Modified)
	}
	if err != nil {
		if last != nil || !errors.Is(err, db.ErrNotFound) {
			h.log.Warn("health probe keytab: probe principal unavailable", "principal", ProbePrincipal, "err", err)
		}
		return last
	}
	if bytes.Equal(kt, last) {
		return last
	}
	if err := db.ReplaceSecretFile(h.probeKeytabPath(), kt); err != nil {
		h.log.Error("health probe keytab", "path", h.probeKeytabPath(), "err", err)
		return last
	}
	h.log.Debug("health probe keytab written: the probe principal's keys changed", "path", h.probeKeytabPath(), "kvno", p.KVNO())
	return kt
}

// localKDCAddr is the address the node's own probe uses: the first KDC
// address, with a wildcard host replaced by loopback.
func localKDCAddr(addrs []string) string {
	if len(addrs) == 0 {
		return health.DefaultKDC
	}
	host, port, err := net.SplitHostPort(addrs[0])
	if err != nil {
		return addrs[0]
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if ip != nil && ip.To4() == nil {
			host = "::1"
		} else {
			host = "127.0.0.1"
		}
	}
	return net.JoinHostPort(host, port)
}
