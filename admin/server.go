package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// Store is what the API needs from the principal database.
type Store interface {
	Realm() string
	Create(ctx context.Context, req db.CreateRequest) (*db.Principal, error)
	// SyncRead runs before every read: it brings the replica up to date
	// with every write acknowledged anywhere in the cluster, so an admin
	// read right after a write through another node sees it. Without a
	// quorum it returns why in stale (unless consistent), and the read is
	// served from the local replica, marked as possibly stale (see
	// db.DB.SyncRead).
	SyncRead(ctx context.Context, consistent bool) (stale, err error)
	Get(name string) (*db.Principal, error)
	List() []*db.Principal
	Modify(ctx context.Context, name string, m db.Modification) (*db.Principal, error)
	SetPassword(ctx context.Context, name, password string) (*db.Principal, error)
	Rekey(ctx context.Context, name string) (*db.Principal, error)
	SetLocked(ctx context.Context, name string, locked bool) (*db.Principal, error)
	Delete(ctx context.Context, name string, force bool) error
	KeytabWith(opts db.KeytabOptions, names ...string) ([]byte, error)
	// Backup writes a copy of the local replica (call SyncRead first).
	Backup(w io.Writer) error
	// RotateMasterKey replaces the realm master key on every node (see
	// db.DB.RotateMasterKey); calling it again resumes an unfinished one.
	RotateMasterKey(ctx context.Context) (db.RotationReport, error)
}

// Cluster is what the API needs for cluster administration.
type Cluster interface {
	// NodeStatus returns the whole node at a glance: KDC, cluster role,
	// VRRP instances and health.
	NodeStatus(ctx context.Context) (NodeStatus, error)
	// Status returns the cluster as this node sees it.
	Status(ctx context.Context) (ClusterStatus, error)
	// Leave removes this node from the cluster.
	Leave(ctx context.Context) error
	// Remove removes another node (for example a dead one) from the
	// cluster.
	Remove(ctx context.Context, node string) error
	// JoinToken issues a single-use join token valid for ttl on every
	// member.
	JoinToken(ctx context.Context, ttl time.Duration) (string, error)
	// RotateCredentials replaces the cluster CA and every node's
	// certificate (see db.DB.RotateClusterCredentials); calling it again
	// resumes an unfinished rotation.
	RotateCredentials(ctx context.Context) (db.CredentialsRotation, error)
}

// maxBody caps request bodies; admin requests are a few hundred bytes.
const maxBody = 1 << 20

// Server serves the admin API for one Store.
type Server struct {
	store   Store
	cluster Cluster
	log     *slog.Logger
	mux     *http.ServeMux
	faults  FaultInjector // nil unless fault injection is enabled
	// kdcStats serves GET /v1/kdc/stats (nil: no KDC on this Server).
	kdcStats KDCStatsSource
}

// NewServer returns the API handler; cluster may be nil (no cluster
// endpoints).
func NewServer(store Store, cluster Cluster, log *slog.Logger) *Server {
	s := &Server{store: store, cluster: cluster, log: log, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /v1/principals", s.list)
	s.mux.HandleFunc("GET /v1/principal", s.get)
	s.mux.HandleFunc("POST /v1/principal", s.add)
	s.mux.HandleFunc("PATCH /v1/principal", s.modify)
	s.mux.HandleFunc("DELETE /v1/principal", s.delete)
	s.mux.HandleFunc("POST /v1/principal/password", s.setPassword)
	s.mux.HandleFunc("POST /v1/principal/rekey", s.rekey)
	s.mux.HandleFunc("POST /v1/keytab", s.keytab)
	s.mux.HandleFunc("POST /v1/realm/rotate-master-key", s.rotateMasterKey)
	s.registerMigration()
	s.registerPolicies()
	s.registerRealmSettings()

	s.registerFaults()
	s.registerKDCStats()
	if cluster != nil {
		s.mux.HandleFunc("GET /v1/status", s.nodeStatus)
		s.mux.HandleFunc("GET /v1/cluster/status", s.clusterStatus)
		s.mux.HandleFunc("POST /v1/cluster/leave", s.clusterLeave)
		s.mux.HandleFunc("POST /v1/cluster/remove", s.clusterRemove)
		s.mux.HandleFunc("GET /v1/cluster/backup", s.clusterBackup)
		s.mux.HandleFunc("POST /v1/cluster/token", s.clusterToken)
		s.mux.HandleFunc("POST /v1/cluster/rotate-credentials", s.rotateCredentials)
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// ListenUnix opens the admin socket at path with mode 0600, replacing a
// stale socket left by a crash but refusing to take over one that a live
// process still answers on (two agents on one data dir would corrupt it).
// It refuses a directory another user could write (CheckSocketDir).
func ListenUnix(path string) (net.Listener, error) {
	if err := CheckSocketDir(path); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("admin socket %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s: another process is serving it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("admin socket %s: remove stale socket: %w", path, err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("admin socket %s: chmod: %w", path, err)
	}
	return l, nil
}

// Serve runs the API on l until ctx is cancelled.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ConnContext: withPeerUID}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(shutdownCtx)
	}()
	err := hs.Serve(l)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// list lists every principal, or those whose canonical name matches the
// glob parameter (db.CompileGlob).
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	match := func(string) bool { return true }
	if pattern := r.URL.Query().Get("glob"); pattern != "" {
		g, err := db.CompileGlob(pattern, s.store.Realm())
		if err != nil {
			writeError(w, err)
			return
		}
		match = g.Match
	}
	if !s.syncRead(w, r) {
		return
	}
	ps := s.store.List()
	out := make([]PrincipalInfo, 0, len(ps))
	for _, p := range ps {
		if match(p.Name) {
			out = append(out, infoOf(p))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	if !s.syncRead(w, r) {
		return
	}
	p, err := s.store.Get(r.URL.Query().Get("name"))
	s.reply(w, r, "", p, err)
}

func (s *Server) add(w http.ResponseWriter, r *http.Request) {
	var req AddRequest
	if !readJSON(w, r, &req) {
		return
	}
	cr := db.CreateRequest{
		Name:             req.Name,
		Password:         req.Password,
		RandomKey:        req.RandomKey,
		MaxLife:          time.Duration(req.MaxLife),
		MaxRenewableLife: time.Duration(req.MaxRenewableLife),
		Aliases:          req.Aliases,
		Policy:           req.Policy,
	}
	if req.NoPreauth {
		cr.Attributes = &db.Attributes{}
	}
	if len(req.EncTypes) > 0 {
		ets, err := db.ParseEncTypes(req.EncTypes)
		if err != nil {
			writeError(w, err)
			return
		}
		cr.EncTypes = ets
	}
	p, err := s.store.Create(r.Context(), cr)
	s.reply(w, r, "principal.add", p, err, fieldsSet(req, "name")...)
}

func (s *Server) modify(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	var req ModifyRequest
	if !readJSON(w, r, &req) {
		return
	}
	var etypes *[]int32
	if req.EncTypes != nil {
		ets := []int32{}
		if len(*req.EncTypes) > 0 {
			var err error
			if ets, err = db.ParseEncTypes(*req.EncTypes); err != nil {
				writeError(w, err)
				return
			}
		}
		etypes = &ets
	}
	// The change is made against what the leader has: without a quorum
	// it could not be made anyway.
	cur, err := s.freshGet(r.Context(), name)
	if err != nil {
		s.reply(w, r, "", nil, err)
		return
	}
	attrs := req.apply(cur.Attributes)
	p, err := s.store.Modify(r.Context(), name, db.Modification{
		Attributes:       &attrs,
		MaxLife:          (*time.Duration)(req.MaxLife),
		MaxRenewableLife: (*time.Duration)(req.MaxRenewableLife),
		Aliases:          req.Aliases,
		Expires:          req.Expires,
		PasswordExpires:  req.PasswordExpires,
		Policy:           req.Policy,
		EncTypes:         etypes,
		IfRevision:       cur.Revision,
	})
	if err == nil && req.Unlock && p.Locked {
		p, err = s.store.SetLocked(r.Context(), name, false)
	}
	s.reply(w, r, "principal.modify", p, err, fieldsSet(req)...)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	force := r.URL.Query().Get("force") == "true"
	if err := s.store.Delete(r.Context(), name, force); err != nil {
		writeError(w, err)
		return
	}
	s.audit(r, "principal.delete", "principal", name, "force", force)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) {
	var req PasswordRequest
	if !readJSON(w, r, &req) {
		return
	}
	p, err := s.store.SetPassword(r.Context(), r.URL.Query().Get("name"), req.Password)
	s.reply(w, r, "principal.set_password", p, err, "password")
}

func (s *Server) rekey(w http.ResponseWriter, r *http.Request) {
	p, err := s.store.Rekey(r.Context(), r.URL.Query().Get("name"))
	s.reply(w, r, "principal.rekey", p, err, "keys")
}

func (s *Server) keytab(w http.ResponseWriter, r *http.Request) {
	var req KeytabRequest
	if !readJSON(w, r, &req) || !s.syncRead(w, r) {
		return
	}
	opts := db.KeytabOptions{KeepOld: req.KeepOld}
	for _, n := range req.EncTypes {
		et, err := db.EncTypeByName(n)
		if err != nil {
			writeError(w, err)
			return
		}
		opts.EncTypes = append(opts.EncTypes, et)
	}
	b, err := s.store.KeytabWith(opts, req.Names...)
	if err != nil {
		writeError(w, err)
		return
	}
	s.audit(r, "keytab.export", "principals", req.Names)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(b)
}

func (s *Server) nodeStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.cluster.NodeStatus(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) clusterStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.cluster.Status(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) clusterLeave(w http.ResponseWriter, r *http.Request) {
	if err := s.cluster.Leave(r.Context()); err != nil {
		writeError(w, err)
		return
	}
	s.audit(r, "cluster.leave")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) clusterRemove(w http.ResponseWriter, r *http.Request) {
	node := r.URL.Query().Get("node")
	if err := s.cluster.Remove(r.Context(), node); err != nil {
		writeError(w, err)
		return
	}
	s.audit(r, "cluster.remove", "node", node)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) clusterToken(w http.ResponseWriter, r *http.Request) {
	var req TokenRequest
	if !readJSON(w, r, &req) {
		return
	}
	tok, err := s.cluster.JoinToken(r.Context(), time.Duration(req.TTL))
	if err != nil {
		writeError(w, err)
		return
	}
	// The token itself is a secret: it goes to the caller only.
	s.audit(r, "cluster.token", "ttl", time.Duration(req.TTL))
	writeJSON(w, http.StatusOK, TokenResponse{Token: tok})
}

func (s *Server) clusterBackup(w http.ResponseWriter, r *http.Request) {
	// Buffer the backup so that a failure half-way is an error status,
	// not a truncated file that looks complete.
	if !s.syncRead(w, r) {
		return
	}
	var buf bytes.Buffer
	if err := s.store.Backup(&buf); err != nil {
		writeError(w, err)
		return
	}
	s.audit(r, "cluster.backup", "bytes", buf.Len())
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(buf.Bytes())
}

// Headers of a read answered from the local replica without a quorum.
const (
	// StaleHeader is "true" when the answer may be stale.
	StaleHeader = "Kdcha-Stale"
	// StaleReasonHeader says why the replica could not be confirmed current.
	StaleReasonHeader = "Kdcha-Stale-Reason"
)

// syncRead prepares a read (Store.SyncRead; query consistent=true demands
// a leader) and marks the answer as possibly stale if it is. It reports
// false after answering with the error.
func (s *Server) syncRead(w http.ResponseWriter, r *http.Request) bool {
	stale, err := s.store.SyncRead(r.Context(), r.URL.Query().Get("consistent") == "true")
	if err != nil {
		writeError(w, err)
		return false
	}
	if stale != nil {
		w.Header().Set(StaleHeader, "true")
		w.Header().Set(StaleReasonHeader, strings.Join(strings.Fields(stale.Error()), " "))
	}
	return true
}

// freshGet reads name after the replica caught up with the leader.
func (s *Server) freshGet(ctx context.Context, name string) (*db.Principal, error) {
	if _, err := s.store.SyncRead(ctx, true); err != nil {
		return nil, err
	}
	return s.store.Get(name)
}

// reply answers with the principal or the error, and logs the change op
// (none for a read: op "") of the fields named changed.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, op string, p *db.Principal, err error, changed ...string) {
	if err != nil {
		writeError(w, err)
		return
	}
	if op != "" {
		s.audit(r, op, "principal", p.Name, "changed", changed, "kvno", p.KVNO(), "revision", p.Revision)
	}
	writeJSON(w, http.StatusOK, infoOf(p))
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, fmt.Errorf("%w: request body: %v", db.ErrInvalid, err))
		return false
	}
	return true
}

// statusOf maps database errors to HTTP statuses; the client maps them back.
func statusOf(err error) int {
	switch {
	case errors.Is(err, db.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, db.ErrProtected):
		return http.StatusForbidden
	case errors.Is(err, db.ErrExists), errors.Is(err, db.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, db.ErrInvalidName), errors.Is(err, db.ErrWeakPassword), errors.Is(err, db.ErrInvalid), errors.Is(err, db.ErrUnsupportedEncType):
		return http.StatusBadRequest
	case errors.Is(err, db.ErrNotLeader), errors.Is(err, db.ErrNoQuorum):
		return http.StatusServiceUnavailable
	case errors.Is(err, db.ErrOutcomeUnknown):
		return http.StatusGatewayTimeout
	case errors.Is(err, syscall.ENOSPC):
		return http.StatusInsufficientStorage
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, statusOf(err), errorBody{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
