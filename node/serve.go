package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/kdc"
	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/kpasswd"
)

// nodeServices are the long-running parts of a node that `kdcha dev` and
// `kdcha agent` share.
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
	// onReady is called once every socket is bound, with the KDC's and
	// kpasswd's addresses (the real port when 0 was asked).
	onReady func(kdcAddrs, kpasswdAddrs []string) error
	// also, if set, runs beside the KDC (the failover services), given the
	// KDC's bound addresses.
	also func(ctx context.Context, kdcAddrs []string) error
}

// run binds every socket first (so a port in use or a bad address fails
// before anything is served), then serves until ctx is cancelled.
func (s nodeServices) run(ctx context.Context) error {
	reg := s.registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(s.collectors...)
	handler := kdc.NewHandler(s.database, s.kdc.Policy(), kdc.WithLogger(s.log), kdc.WithMetrics(reg),
		kdc.WithLockout(s.kdc.Lockout, &dbLocker{db: s.database, log: s.log}))
	srv, err := kdc.Listen(s.kdc, handler, s.log)
	if err != nil {
		return fmt.Errorf("kdc: %w", err)
	}
	kpSrv, err := kdc.Listen(s.kpasswd, kpasswd.NewHandler(s.database, s.kdc.ClockSkew, kpasswd.WithLogger(s.log)), s.log)
	if err != nil {
		return fmt.Errorf("kpasswd: %w", err)
	}
	adminL, err := admin.ListenUnix(s.adminSocket)
	if err != nil {
		return err
	}
	var metricsL net.Listener
	if s.metrics != "" {
		if metricsL, err = net.Listen("tcp", s.metrics); err != nil {
			adminL.Close()
			return fmt.Errorf("metrics: %w", err)
		}
	}
	var addrs []string
	for _, a := range srv.Addrs() {
		addrs = append(addrs, a.String())
	}
	var kpAddrs []string
	for _, a := range kpSrv.Addrs() {
		kpAddrs = append(kpAddrs, a.String())
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx) })
	g.Go(func() error { return kpSrv.Serve(gctx) })
	g.Go(func() error { return admin.NewServer(s.database, s.cluster, s.log).Serve(gctx, adminL) })
	if metricsL != nil {
		g.Go(func() error { return serveMetrics(gctx, metricsL, reg) })
	}
	if s.also != nil {
		g.Go(func() error { return s.also(gctx, addrs) })
	}
	s.log.Info("node ready", "realm", s.database.Realm(), "kdc", strings.Join(addrs, ","), "kpasswd", strings.Join(kpAddrs, ","), "admin_socket", s.adminSocket, "metrics", s.metrics)
	if s.onReady != nil {
		if err := s.onReady(addrs, kpAddrs); err != nil {
			return err
		}
	}
	return g.Wait()
}

func serveMetrics(ctx context.Context, l net.Listener, reg *prometheus.Registry) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
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

// ParseLogLevel maps a config level name to slog's.
func ParseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
	}
	return l, nil
}

// NewLogger is the agent's logger: text lines on stderr at level.
func NewLogger(level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
