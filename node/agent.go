package node

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// Options are what the command adds to a node besides its configuration.
type Options struct {
	// Collectors are registered on the node's metrics endpoint besides
	// its own (e.g. kdcha_build_info).
	Collectors []prometheus.Collector
}

// RunAgent runs a node from its configuration until ctx is cancelled.
func RunAgent(ctx context.Context, cfg *Config, opts Options) error {
	level, _ := ParseLogLevel(cfg.Node.LogLevel)
	log := NewLogger(level)
	m, err := OpenMember(cfg, log, OpenExisting, nil)
	if err != nil {
		return err
	}
	defer m.Close()
	go m.credentialsWorker(ctx)
	go func() {
		m.ensureMembership(ctx)
		m.untilDone(ctx, "cluster CA key not moved into the database yet", m.MoveCAKey)
	}()
	go ensureChangePW(ctx, m.db, log)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.collectors()...)
	return nodeServices{
		log:         log,
		database:    m.db,
		cluster:     m,
		kdc:         cfg.KDC,
		kpasswd:     cfg.KDC.Kpasswd(),
		adminSocket: cfg.Node.AdminSocket,
		metrics:     cfg.Metrics.Listen,
		registry:    reg,
		collectors:  opts.Collectors,
		also: func(ctx context.Context, kdcAddrs []string) error {
			m.live.kdc.Store(&kdcAddrs)
			return haServices{cfg: cfg, log: log, reg: reg, database: m.db, kdcAddr: localKDCAddr(kdcAddrs), live: m.live}.run(ctx)
		},
	}.run(ctx)
}
