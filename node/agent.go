package node

import (
	"context"
	"errors"
	"github.com/kdcha/kdcha/internal/logging"
	"github.com/kdcha/kdcha/internal/readiness"
	"github.com/kdcha/kdcha/kdc"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kdcha/kdcha/kdc/db"
)

// Options are what the command adds to a node besides its configuration.
type Options struct {
	// Collectors are registered on the node's metrics endpoint besides
	// its own (e.g. kdcha_build_info).
	Collectors []prometheus.Collector
	// Handlers are served on the metrics listener beside /metrics, by
	// pattern (e.g. "/healthz", "/readyz"); nothing when metrics are off.
	Handlers map[string]http.Handler
	// OnPhase, if set, is called at every phase change (e.g. to tell
	// systemd the node is ready at PhaseRunning). It must not block and
	// must not call the Node.
	OnPhase func(Phase)
	// OnReloading and OnReloaded, if set, are called by Run around each
	// SIGHUP reload (e.g. to tell systemd RELOADING=1, then READY=1 or
	// the error); they must not block.
	OnReloading func()
	OnReloaded  func(error)
	// Logger, if set, replaces the node's logger (text on stderr at
	// node.log_level); node.log_level then does not apply.
	Logger *slog.Logger
	// Liveness, if set, gets a loop that must keep beating for each
	// running VRRP instance ("vrrp:NAME") and health check
	// ("health:NAME"), for /healthz and systemd's watchdog (see
	// liveness.go).
	Liveness *readiness.Set
}

// New prepares a node from a configuration LoadConfig returned; Start
// runs it.
func New(cfg *Config, opts Options) *Node {
	level := new(slog.LevelVar)
	l, _ := logging.ParseLevel(cfg.Node.LogLevel) // validated by LoadConfig
	level.Set(l)
	log := opts.Logger
	if log == nil {
		// The format was validated by LoadConfig; an unknown one falls
		// back to text.
		if log, _ = logging.New(os.Stderr, cfg.Node.LogFormat, level); log == nil {
			log = NewLogger(level)
		}
	}
	reg := prometheus.NewRegistry()
	live := &liveStatus{}
	ha := &haParts{log: log, reg: reg, realtimePriority: cfg.VRRP.RealtimePriority, liveness: opts.Liveness}
	if cfg.Node.FaultInjection {
		ha.faults = &faultInjector{kdc: &kdc.Faults{}}
		log.Warn("fault injection is enabled: `kdcha debug fault` can hang this KDC and mute its VRRP")
	}
	var member *Member
	p := parts{
		clustered: cfg.Clustered(),
		openReplica: func() (replica, error) {
			m, err := OpenMember(cfg, log, OpenExisting, nil)
			if err != nil {
				return nil, err
			}
			m.live = live
			member, ha.database = m, m.db
			reg.MustRegister(m.collectors()...)
			return startMemberWork(m), nil
		},
		leaderID: func() string { return member.db.LeaderID() },
		bind: func() (servers, error) {
			b, err := nodeServices{
				log:         log,
				database:    member.db,
				cluster:     member,
				kdc:         cfg.KDC,
				kpasswd:     cfg.KDC.Kpasswd(),
				adminSocket: cfg.Node.AdminSocket,
				metrics:     cfg.Metrics.Listen,
				registry:    reg,
				collectors:  opts.Collectors,
				handlers:    opts.Handlers,
				faults:      ha.faults,
			}.bind()
			if err != nil {
				return nil, err
			}
			ha.kdcServer = b.srv
			return b, nil
		},
		newNotifier:  ha.newNotifier,
		newHealth:    ha.newHealth,
		openInstance: ha.openInstance,
	}
	if !cfg.Mode.embedsKDC() {
		// The one place the mode switches: the part list.
		p = keepalivedParts(cfg, log, reg, live, ha, opts)
	}
	n := newNode(cfg, log, level, p, live, opts.OnPhase)
	n.onReloading, n.onReloaded = opts.OnReloading, opts.OnReloaded
	return n
}

// memberWork is a member with its background work running: the
// credentials worker, the membership and CA key moves, kadmin/changepw.
type memberWork struct {
	*Member
	// ctx ends when Close begins.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startMemberWork(m *Member) *memberWork {
	ctx, cancel := context.WithCancel(context.Background())
	w := &memberWork{Member: m, ctx: ctx, cancel: cancel}
	w.wg.Go(func() { m.credentialsWorker(ctx) })
	w.wg.Go(func() {
		m.ensureMembership(ctx)
		m.untilDone(ctx, "cluster CA key not moved into the database yet", m.MoveCAKey)
	})
	w.wg.Go(func() { ensureChangePW(ctx, m.db, m.log) })
	w.wg.Go(func() { watchRealmSettings(ctx, m) })
	return w
}

// ClusterStatus is the database's Raft view.
func (w *memberWork) ClusterStatus() (db.ClusterStatus, error) { return w.db.ClusterStatus() }

// TransferLeadership hands Raft leadership over if this node has it.
func (w *memberWork) TransferLeadership(ctx context.Context) error {
	return w.db.TransferLeadership(ctx)
}

// Close stops the background work, then closes the member.
func (w *memberWork) Close() error {
	w.cancel()
	w.wg.Wait()
	return w.Member.Close()
}

// Run starts a node and runs it until ctx is cancelled (then stops it
// gracefully) or a part of it fails. Each signal from reload (SIGHUP)
// reloads the configuration file at configPath.
func Run(ctx context.Context, n *Node, configPath string, reload <-chan os.Signal) error {
	if err := n.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: not a failure
		}
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return n.Stop(context.Background())
		case <-n.Failed():
			return errors.Join(n.Err(), n.Stop(context.Background()))
		case <-reload:
			if n.onReloading != nil {
				n.onReloading()
			}
			err := n.ReloadFile(ctx, configPath) // outcome logged and shown in status
			if n.onReloaded != nil {
				n.onReloaded(err)
			}
		}
	}
}
