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
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/internal/readiness"
	"github.com/kdcha/kdcha/kdc"
	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/notify"
	"github.com/kdcha/kdcha/vrrp"
)

// ProbePrincipal is the principal the agent's own health probe
// authenticates as. `cluster init` creates it; every node writes its keytab
// from its local replica, so no node needs a Raft write to start probing.
const ProbePrincipal = "kdcha/health"

// haParts build the failover parts of a node: the health checks that set
// the VRRP priority (with the probe keytab they need), the VRRP instances
// and the notification sinks of their transitions.
type haParts struct {
	log      *slog.Logger
	reg      prometheus.Registerer
	database *db.DB
	// kdcServer is this node's bound KDC, watched from inside by the
	// kdc-progress check (nil until bind).
	kdcServer *kdc.Server
	// realtimePriority is vrrp.realtime_priority, for every instance.
	realtimePriority int
	// faults, when fault injection is on, mutes the instances it opens.
	faults *faultInjector
	// liveness receives the heartbeats of the instances and health
	// checks while they run (nil: none).
	liveness *readiness.Set
	// notifyMetrics are the current notification sinks' collectors,
	// replaced when a reload replaces the sinks.
	notifyMetrics []prometheus.Collector

	metricsOnce   sync.Once
	metricsErr    error
	healthMetrics *health.Metrics
	vrrpMetrics   *vrrp.Metrics
}

// metrics registers the health and VRRP metrics once: runners and
// instances that a reload replaces share them.
func (h *haParts) metrics() error {
	h.metricsOnce.Do(func() {
		if h.healthMetrics, h.metricsErr = health.NewMetrics(h.reg); h.metricsErr != nil {
			h.metricsErr = fmt.Errorf("health metrics: %w", h.metricsErr)
			return
		}
		if h.vrrpMetrics, h.metricsErr = vrrp.NewMetrics(h.reg); h.metricsErr != nil {
			h.metricsErr = fmt.Errorf("vrrp metrics: %w", h.metricsErr)
		}
	})
	return h.metricsErr
}

// newNotifier starts the sinks of cfg.Notify; their metrics replace the
// previous sinks' (a reload builds the sinks last, once nothing else can
// fail).
func (h *haParts) newNotifier(cfg *Config) (notifier, error) {
	var cs collectorList
	d, err := notify.New(cfg.Notify, notify.Options{Node: cfg.Node.Name, Logger: h.log, Registerer: &cs})
	if err != nil {
		return nil, err
	}
	for _, c := range h.notifyMetrics {
		h.reg.Unregister(c)
	}
	for _, c := range cs.cs {
		if err := h.reg.Register(c); err != nil {
			return nil, errors.Join(fmt.Errorf("notify metrics: %w", err), d.Close(context.Background()))
		}
	}
	h.notifyMetrics = cs.cs
	return d, nil
}

// openInstance binds one VRRP instance's sockets.
func (h *haParts) openInstance(ic vrrp.InstanceConfig, onEvent func(vrrp.InstanceEvent)) (vrrpInstance, error) {
	if err := h.metrics(); err != nil {
		return nil, err
	}
	beat := &heartbeat{set: h.liveness, name: "vrrp:" + ic.Name, budget: loopBudget}
	in, err := vrrp.Open(ic, vrrp.InstanceDeps{OnEvent: onEvent, Log: h.log, Metrics: h.vrrpMetrics, RealtimePriority: h.realtimePriority,
		Heartbeat: beat.Beat, HeartbeatInterval: vrrpBeatInterval})
	if err != nil {
		return nil, err
	}
	if h.faults != nil {
		h.faults.track(in)
	}
	return beatingInstance{Instance: in, beat: beat}, nil
}

// beatingInstance is a VRRP instance whose protocol loop counts for
// liveness while Run runs.
type beatingInstance struct {
	*vrrp.Instance
	beat *heartbeat
}

// Run runs the instance with its heartbeat declared.
func (b beatingInstance) Run(ctx context.Context) error {
	b.beat.start()
	defer b.beat.stop()
	return b.Instance.Run(ctx)
}

// checkRunner is a health runner with its checks' heartbeats and, in mode
// kdc, the refresher of the probe's keytab.
type checkRunner struct {
	*health.Runner
	// refresh keeps the probe keytab current; nil without a probe.
	refresh func(ctx context.Context)
	// beats are the checks' heartbeats by check name.
	beats map[string]*heartbeat
}

// Run runs the checks (and the keytab refresher) until ctx is done, with
// the checks' heartbeats declared.
func (p checkRunner) Run(ctx context.Context) {
	for _, b := range p.beats {
		b.start()
		defer b.stop()
	}
	var wg sync.WaitGroup
	if p.refresh != nil {
		wg.Go(func() { p.refresh(ctx) })
	}
	p.Runner.Run(ctx)
	wg.Wait()
}

// runner builds the runner of checks, each beating for liveness.
func (h *haParts) runner(checks []health.Check, onChange func(health.Verdict), refresh func(context.Context)) checkRunner {
	beats := map[string]*heartbeat{}
	for _, c := range checks {
		beats[c.Name] = &heartbeat{set: h.liveness, name: "health:" + c.Name, budget: healthBudget(c)}
	}
	runner := health.NewRunner(checks, health.RunnerOptions{OnChange: onChange, Logger: h.log, Metrics: h.healthMetrics,
		Heartbeat: func(check string) { beats[check].Beat() }})
	return checkRunner{Runner: runner, refresh: refresh, beats: beats}
}

// newHealth builds the runner of cfg's checks (see checks), the node's own
// probe aimed at kdcAddrs.
func (h *haParts) newHealth(cfg *Config, kdcAddrs []string, onChange func(health.Verdict)) (healthRunner, error) {
	if err := h.metrics(); err != nil {
		return nil, err
	}
	checks, err := h.checks(cfg, localKDCAddr(kdcAddrs))
	if err != nil {
		return nil, err
	}
	keytab := h.probeKeytabPath(cfg)
	// Write the probe's keytab before the first probe runs, so a healthy
	// node does not start by counting a failure.
	last := h.writeProbeKeytab(keytab, nil)
	return h.runner(checks, onChange, func(ctx context.Context) { h.refreshProbeKeytab(ctx, keytab, last) }), nil
}

// collectorList records what a notify.Dispatcher registers, so that its
// metrics replace the previous sinks' only once it is built.
type collectorList struct{ cs []prometheus.Collector }

// Register implements prometheus.Registerer.
func (l *collectorList) Register(c prometheus.Collector) error {
	l.cs = append(l.cs, c)
	return nil
}

// MustRegister implements prometheus.Registerer.
func (l *collectorList) MustRegister(cs ...prometheus.Collector) { l.cs = append(l.cs, cs...) }

// Unregister implements prometheus.Registerer.
func (l *collectorList) Unregister(prometheus.Collector) bool { return false }

// notifyEvent turns a VRRP transition into a notification. Leaving for INIT
// at shutdown is keepalived's STOP; other INIT transitions are not reported.
func notifyEvent(e vrrp.InstanceEvent, vips []netip.Prefix) (notify.Event, bool) {
	state := notify.State(e.State.String())
	if e.State == vrrp.StateInitialize {
		// The resign hold ends with a reason that details the shutdown.
		if !strings.HasPrefix(string(e.Reason), string(vrrp.ReasonShutdown)) {
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

// checks returns the configured health checks plus, unless the
// configuration already has a kinit check, the agent's own: a preauthenticated
// AS exchange for the probe principal against this node's KDC. A cluster
// member also checks that its replica hears the Raft leader (a priority
// hint, weight -50).
func (h *haParts) checks(c *Config, kdcAddr string) ([]health.Check, error) {
	cfg := c.Health
	hasKinit := false
	for _, c := range cfg.Checks {
		hasKinit = hasKinit || c.Type == health.CheckKinit
	}
	if !hasKinit {
		cfg.Checks = append(cfg.Checks, health.CheckConfig{
			Name:      "kinit",
			Type:      health.CheckKinit,
			KDC:       kdcAddr,
			Transport: DefaultProbeTransport,
			Principal: ProbePrincipal + "@" + c.Realm,
			Keytab:    h.probeKeytabPath(c),
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
	if h.kdcServer != nil {
		// A hung KDC is seen from inside in a few hundred ms, long before
		// the AS probe's timeouts add up; a busy one still completes.
		checks = append(checks, kdc.NewProgressCheck(h.kdcServer, 0))
	}
	if c.Clustered() {
		checks = append(checks, replicaCheck(h.database))
	}
	return checks, nil
}

func (h *haParts) probeKeytabPath(c *Config) string {
	return filepath.Join(c.Node.DataDir, "health.keytab")
}

// refreshProbeKeytab keeps the probe's keytab equal to the probe
// principal's current keys in the local replica (a rekey on any node
// reaches every node through Raft, and a joining node receives the
// principal with its first snapshot). It checks every second: reading a
// few keys from memory is cheap, and until the keytab is right the node's
// own health keeps its priority down.
func (h *haParts) refreshProbeKeytab(ctx context.Context, path string, last []byte) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		last = h.writeProbeKeytab(path, last)
	}
}

// writeProbeKeytab writes the probe principal's keytab to path if it differs from
// last and returns what the file now holds. The entries are stamped with
// the principal's modification time, so unchanged keys give the same
// bytes and the file is written (and logged, at debug) only when the keys
// change. It reads the replica directly rather than through db.Keytab,
// which logs every call as an export.
func (h *haParts) writeProbeKeytab(path string, last []byte) []byte {
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
	if err := db.ReplaceSecretFile(path, kt); err != nil {
		h.log.Error("health probe keytab", "path", path, "err", err)
		return last
	}
	h.log.Debug("health probe keytab written: the probe principal's keys changed", "path", path, "kvno", p.KVNO())
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
