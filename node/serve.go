package node

import (
	"context"
	"errors"
	"fmt"
	"github.com/kdcha/kdcha/internal/logging"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/kdc"
	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/kpasswd"
)

// nodeServices are the long-running parts of a node that `kdcha dev` and
// `kdcha agent` share: the KDC, kpasswd, the admin API and metrics.
type nodeServices struct {
	log      *slog.Logger
	database *db.DB
	cluster  admin.Cluster
	kdc      kdc.Config
	// kpasswd is the KDC section with Listen set to the password-change
	// service's addresses.
	kpasswd     kdc.Config
	adminSocket string
	metrics     string // listen address; "" disables
	registry    *prometheus.Registry
	// collectors are registered besides the services' own (the build info).
	collectors []prometheus.Collector
	// faults, when fault injection is on, reach the KDC and the admin API.
	faults *faultInjector
	// handlers are served on the metrics listener beside /metrics.
	handlers map[string]http.Handler
	// onReady is called once every socket is bound, with the KDC's and
	// kpasswd's addresses (the real port when 0 was asked).
	onReady func(kdcAddrs, kpasswdAddrs []string) error
}

// boundServices are nodeServices whose sockets are all bound.
type boundServices struct {
	s       nodeServices
	reg     *prometheus.Registry
	srv     *kdc.Server
	kpSrv   *kdc.Server
	adminL  net.Listener
	metrics net.Listener // nil when disabled
}

// bind binds every socket (so a port in use or a bad address fails before
// anything is served).
func (s nodeServices) bind() (*boundServices, error) {
	reg := s.registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	registerProcessMetrics(reg, s.collectors)
	// The self-probe authenticates every second: the KDC logs its
	// successful requests at debug and counts them apart, so neither
	// drowns the clients' traffic.
	handler := kdc.NewHandler(s.database, s.kdc.Policy(), kdc.WithLogger(s.log), kdc.WithMetrics(reg),
		kdc.WithProbeClient(ProbePrincipal+"@"+s.database.Realm()),
		kdc.WithLockout(s.kdc.Lockout, &dbLocker{db: s.database, log: s.log}))
	b := &boundServices{s: s, reg: reg}
	var err error
	var kdcOpts []kdc.ServerOption
	if s.faults != nil {
		kdcOpts = append(kdcOpts, kdc.WithFaults(s.faults.kdc))
	}
	if b.srv, err = kdc.Listen(s.kdc, handler, s.log, kdcOpts...); err != nil {
		return nil, fmt.Errorf("kdc: %w", err)
	}
	if b.kpSrv, err = kdc.Listen(s.kpasswd, kpasswd.NewHandler(s.database, s.kdc.ClockSkew, kpasswd.WithLogger(s.log)), s.log); err != nil {
		b.close()
		return nil, fmt.Errorf("kpasswd: %w", err)
	}
	if b.adminL, err = admin.ListenUnix(s.adminSocket); err != nil {
		b.close()
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

// close releases the sockets of services that were bound but never served.
func (b *boundServices) close() {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for _, srv := range []*kdc.Server{b.srv, b.kpSrv} {
		if srv != nil {
			srv.Serve(done) // with ctx already done: closes the sockets
		}
	}
	for _, l := range []net.Listener{b.adminL, b.metrics} {
		if l != nil {
			l.Close()
		}
	}
}

func addrStrings(as []netip.AddrPort) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

// KDCAddrs are the KDC's bound addresses (the real port when 0 was asked).
func (b *boundServices) KDCAddrs() []string { return addrStrings(b.srv.Addrs()) }

// kpasswdAddrs are kpasswd's bound addresses.
func (b *boundServices) kpasswdAddrs() []string { return addrStrings(b.kpSrv.Addrs()) }

// Serve serves until ctx is cancelled or one service fails, then stops
// them all and returns the first error.
func (b *boundServices) Serve(ctx context.Context) error {
	s := b.s
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return b.srv.Serve(gctx) })
	g.Go(func() error { return b.kpSrv.Serve(gctx) })
	adminSrv := admin.NewServer(s.database, s.cluster, s.log)
	if b.srv != nil {
		adminSrv.EnableKDCStats(b.srv)
	}
	if s.faults != nil {
		adminSrv.EnableFaults(s.faults)
	}
	g.Go(func() error { return adminSrv.Serve(gctx, b.adminL) })
	if b.metrics != nil {
		g.Go(func() error { return serveMetrics(gctx, b.metrics, b.reg, s.handlers) })
	}
	s.log.Info("node ready", "realm", s.database.Realm(), "kdc", strings.Join(b.KDCAddrs(), ","), "kpasswd", strings.Join(b.kpasswdAddrs(), ","), "admin_socket", s.adminSocket, "metrics", s.metrics)
	return g.Wait()
}

// run binds every socket, calls onReady, then serves until ctx is
// cancelled.
func (s nodeServices) run(ctx context.Context) error {
	b, err := s.bind()
	if err != nil {
		return err
	}
	if s.onReady != nil {
		if err := s.onReady(b.KDCAddrs(), b.kpasswdAddrs()); err != nil {
			b.close()
			return err
		}
	}
	return b.Serve(ctx)
}

func serveMetrics(ctx context.Context, l net.Listener, g prometheus.Gatherer, handlers map[string]http.Handler) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	for pattern, h := range handlers {
		mux.Handle(pattern, h)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// dbLocker replicates lockouts decided by the KDC. The write happens off
// the request path, and one lock per principal is in flight at a time.
type dbLocker struct {
	db       *db.DB
	log      *slog.Logger
	inflight sync.Map
}

func (l *dbLocker) Lock(name string) {
	if _, busy := l.inflight.LoadOrStore(name, true); busy {
		return
	}
	go func() {
		defer l.inflight.Delete(name)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := l.db.SetLocked(ctx, name, true); err != nil {
			l.log.Error("lockout: cannot replicate lock", "principal", name, "err", err)
			return
		}
		l.log.Warn("principal locked out after repeated preauthentication failures", "principal", name)
	}()
}

// NewLogger is the text logger on stderr at level, for commands that run
// before (or without) a node configuration's node.log_format.
func NewLogger(level slog.Leveler) *slog.Logger {
	log, _ := logging.New(os.Stderr, logging.FormatText, level) // a known format cannot fail
	return log
}
