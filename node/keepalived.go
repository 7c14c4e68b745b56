package node

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/health"
)

// keepalivedParts are the parts of a node in mode keepalived: no database
// (openReplica nil), services that are only the status-only admin API and
// the metrics listener, the configured health checks alone (no own probe,
// no probe keytab, no KDC progress or replica checks), and the same VRRP
// instances and notification sinks as mode kdc.
func keepalivedParts(cfg *Config, log *slog.Logger, reg *prometheus.Registry, live *liveStatus, ha *haParts, opts Options) parts {
	return parts{
		bind: func() (servers, error) {
			return bindStatusServices(statusServices{
				log:         log,
				status:      keepalivedStatus{cfg: cfg, live: live},
				adminSocket: cfg.Node.AdminSocket,
				metrics:     cfg.Metrics.Listen,
				registry:    reg,
				collectors:  opts.Collectors,
				handlers:    opts.Handlers,
			})
		},
		newNotifier:  ha.newNotifier,
		newHealth:    ha.newExternalHealth,
		openInstance: ha.openInstance,
	}
}

// newExternalHealth builds the runner of cfg's checks alone: they probe the
// KDC the node fronts, with the keytab the operator gave.
func (h *haParts) newExternalHealth(cfg *Config, _ []string, onChange func(health.Verdict)) (healthRunner, error) {
	if err := h.metrics(); err != nil {
		return nil, err
	}
	hc := cfg.Health
	hc.ApplyDefaults()
	if err := hc.Validate(); err != nil {
		return nil, err
	}
	checks, err := health.NewChecks(hc)
	if err != nil {
		return nil, err
	}
	return h.runner(checks, onChange, nil), nil
}

// keepalivedStatus answers `kdcha status` for a node without a database.
type keepalivedStatus struct {
	cfg  *Config
	live *liveStatus
}

// NodeStatus implements admin.StatusReporter.
func (s keepalivedStatus) NodeStatus(context.Context) (admin.NodeStatus, error) {
	v := admin.NodeStatus{Node: s.cfg.Node.Name, Realm: s.cfg.Realm, Mode: string(ModeKeepalived)}
	s.live.fill(&v)
	return v, nil
}

// whyStatusOnly answers admin requests a keepalived-mode node cannot serve.
const whyStatusOnly = "this node runs in mode keepalived: it has no KDC database, only `kdcha status`; administer principals on the KDC it fronts"

// statusServices are what a node in mode keepalived serves besides VRRP:
// the status-only admin API and the metrics listener.
type statusServices struct {
	log         *slog.Logger
	status      admin.StatusReporter
	adminSocket string
	metrics     string // listen address; "" disables
	registry    *prometheus.Registry
	collectors  []prometheus.Collector
	handlers    map[string]http.Handler
}

// boundStatusServices are statusServices with their sockets bound.
type boundStatusServices struct {
	s       statusServices
	adminL  net.Listener
	metrics net.Listener // nil when disabled
}

func bindStatusServices(s statusServices) (*boundStatusServices, error) {
	registerProcessMetrics(s.registry, s.collectors)
	b := &boundStatusServices{s: s}
	var err error
	if b.adminL, err = admin.ListenUnix(s.adminSocket); err != nil {
		return nil, err
	}
	if s.metrics != "" {
		if b.metrics, err = net.Listen("tcp", s.metrics); err != nil {
			b.close()
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return b, nil
}

// KDCAddrs is empty: the node runs no KDC.
func (b *boundStatusServices) KDCAddrs() []string { return nil }

// Serve serves the admin API and metrics until ctx is cancelled or one
// fails.
func (b *boundStatusServices) Serve(ctx context.Context) error {
	s := b.s
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return admin.NewStatusServer(s.status, whyStatusOnly, s.log).Serve(gctx, b.adminL) })
	if b.metrics != nil {
		g.Go(func() error { return serveMetrics(gctx, b.metrics, s.registry, s.handlers) })
	}
	s.log.Info("node ready", "mode", string(ModeKeepalived), "admin_socket", s.adminSocket, "metrics", s.metrics)
	return g.Wait()
}

func (b *boundStatusServices) close() {
	for _, l := range []net.Listener{b.adminL, b.metrics} {
		if l != nil {
			l.Close()
		}
	}
}

// registerProcessMetrics registers the Go runtime and process collectors
// and extra (the build info) on a node's metrics registry, whatever its
// mode.
func registerProcessMetrics(reg *prometheus.Registry, extra []prometheus.Collector) {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(extra...)
}
