package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kdcha/kdcha/cluster"
	"github.com/kdcha/kdcha/kdc/db"
)

// member is a node's database and, in cluster mode (cluster.listen set),
// its mutual-TLS cluster listener carrying Raft and the member RPC.
type member struct {
	cfg    *agentConfig
	log    *slog.Logger
	db     *db.DB
	mux    *cluster.Mux         // nil for a single node
	client *cluster.Client      // nil for a single node
	creds  *cluster.Credentials // nil for a single node
	// live is what the running services publish for `kdcha status`.
	live *liveStatus
}

func (c *agentConfig) clustered() bool { return c.Cluster.Listen != "" }

func (c *agentConfig) dbDir() string { return filepath.Join(c.Node.DataDir, "db") }

func (c *agentConfig) credentialsDir() string { return filepath.Join(c.Node.DataDir, "cluster") }

// seedFile holds the address of the member a node joined through; the
// joining agent sends its own admission there until it knows the leader.
func (c *agentConfig) seedFile() string { return filepath.Join(c.credentialsDir(), "seed") }

func (c *agentConfig) masterKeyPath() string {
	if c.Database.MasterKeyFile != "" {
		return c.Database.MasterKeyFile
	}
	return filepath.Join(c.dbDir(), db.DefaultMasterKeyFile)
}

func (c *agentConfig) dbOptions(log *slog.Logger) db.Options {
	etypes, _ := parseEncTypes(c.Database.EncTypes)
	return db.Options{
		DataDir:       c.dbDir(),
		Realm:         c.Realm,
		MasterKeyPath: c.Database.MasterKeyFile,
		NodeID:        c.Node.Name,
		EncTypes:      etypes,
		Logger:        log,
	}
}

// openMember opens the node's database. mode says what a fresh data dir
// becomes: memberOpen refuses one, memberInit bootstraps a new realm,
// memberRestore bootstraps it from a backup.
func openMember(cfg *agentConfig, log *slog.Logger, mode memberMode, restore io.Reader) (*member, error) {
	m := &member{cfg: cfg, log: log, live: &liveStatus{}}
	opts := cfg.dbOptions(log)
	initialized, err := db.Initialized(opts.DataDir)
	if err != nil {
		return nil, err
	}
	seed, _ := os.ReadFile(cfg.seedFile())
	switch {
	case initialized && mode != memberOpen:
		return nil, fmt.Errorf("%s already holds a database for realm %s: refusing to initialise it again", cfg.Node.DataDir, cfg.Realm)
	case !initialized && mode == memberOpen && len(seed) == 0:
		return nil, fmt.Errorf("no principal database under %s: run `kdcha cluster init --config FILE` on the first node, or `kdcha cluster join` on the others", cfg.Node.DataDir)
	case !initialized && mode == memberOpen:
		opts.Join, opts.CreateIfMissing = true, true
	case mode == memberInit:
		opts.CreateIfMissing = true
	case mode == memberRestore:
		opts.CreateIfMissing, opts.RestoreFrom = true, restore
	}
	if cfg.clustered() {
		creds, err := cluster.Load(cfg.credentialsDir())
		if err != nil {
			return nil, fmt.Errorf("cluster credentials: %w (run `kdcha cluster init` or `kdcha cluster join`)", err)
		}
		m.creds = creds
		ccfg := cfg.Cluster.WithDefaults()
		var current atomic.Pointer[db.DB]
		// Until the database is open nobody is a member: the Raft
		// configuration is not known yet, and peers retry.
		members := func(id string) bool {
			d := current.Load()
			return d != nil && d.IsMember(id)
		}
		if m.mux, err = cluster.Listen(ccfg, creds, members, log); err != nil {
			return nil, err
		}
		m.client = cluster.NewClient(creds, ccfg)
		seedAddr := strings.TrimSpace(string(seed))
		leader := func() string {
			if d := current.Load(); d != nil {
				if l := d.Status().Leader; l != "" {
					return l
				}
			}
			return seedAddr
		}
		opts.Transport = raft.NewNetworkTransport(m.mux.StreamLayer(), 3, 10*time.Second, os.Stderr)
		fwd := cluster.NewForwarder(m.client, leader, log)
		opts.Forward = func(ctx context.Context, req []byte) ([]byte, error) {
			b, err := fwd.Forward(ctx, req)
			if err != nil && !cluster.NotSent(err) {
				// Sent, but no answer: telling the user "unavailable" would
				// invite a retry that applies the change twice.
				return nil, fmt.Errorf("%w: %w", db.ErrOutcomeUnknown, err)
			}
			return b, err
		}
		defer func() { current.Store(m.db) }()
	}
	if m.db, err = db.Open(opts); err != nil {
		if m.mux != nil {
			m.mux.Close()
		}
		return nil, fmt.Errorf("open database: %w", err)
	}
	if m.mux != nil {
		m.mux.Serve(rpcHandler{m})
	}
	return m, nil
}

type memberMode int

const (
	memberOpen memberMode = iota
	memberInit
	memberRestore
)

func (m *member) Close() error {
	err := m.db.Close()
	if m.mux != nil {
		err = errors.Join(err, m.mux.Close())
	}
	return err
}

// ensureMembership adds this node to the Raft configuration if it is not
// in it yet (a node that joined and has not been admitted, or one whose
// admission failed), retrying until ctx ends. The leader is reached through
// the forwarder, which falls back to the member the node joined through.
func (m *member) ensureMembership(ctx context.Context) {
	if m.mux == nil {
		return
	}
	m.untilDone(ctx, "not yet a cluster member (voter)", func(ctx context.Context) error {
		if st, err := m.db.ClusterStatus(); err == nil && isVoter(st.Members, m.cfg.Node.Name) {
			return nil
		}
		if err := m.db.AddVoter(ctx, m.cfg.Node.Name, m.mux.Advertise()); err != nil {
			return err
		}
		m.log.Info("joined the cluster as a voter", "node", m.cfg.Node.Name, "address", m.mux.Advertise())
		return nil
	})
}

// untilDone calls f (bounded by 15 s) every second until it succeeds or
// ctx ends, logging every tenth failure as "<what>; retrying".
func (m *member) untilDone(ctx context.Context, what string, f func(context.Context) error) {
	for attempt := 0; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := f(callCtx)
		cancel()
		if err == nil {
			return
		}
		if attempt%10 == 0 {
			m.log.Warn(what+"; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// moveCAKey moves a cluster CA key found in the credentials directory into
// the replicated database, sealed with the master key, and deletes the
// file. `cluster init` and `cluster restore` leave the key there, and
// every node of older versions holds one. The database's key is replaced
// only when it is not this cluster's (a backup of another cluster was
// restored); a replica that lags may store the same key again, which is
// harmless.
func (m *member) moveCAKey(ctx context.Context) error {
	if m.creds == nil {
		return nil
	}
	der, err := m.creds.CAKey()
	if err != nil || der == nil {
		return err
	}
	if have, err := m.db.ClusterCAKey(); err != nil || m.creds.CheckCAKey(have) != nil {
		if err := m.db.SetClusterCAKey(ctx, der); err != nil {
			return fmt.Errorf("store the cluster CA key in the database: %w", err)
		}
	}
	if err := m.creds.ForgetCAKey(); err != nil {
		return err
	}
	m.log.Info("cluster CA key moved into the replicated database; removed it from disk", "file", filepath.Join(m.creds.Dir(), cluster.CAKeyFile))
	return nil
}

// isVoter reports whether id is a voting member; a joined node is first
// admitted as a non-voter and promoted by ensureMembership.
func isVoter(ms []db.Member, id string) bool {
	for _, mb := range ms {
		if mb.ID == id && mb.Voter {
			return true
		}
	}
	return false
}

// collectors are the member's Prometheus metrics.
func (m *member) collectors() []prometheus.Collector {
	cs := m.db.Collectors()
	if m.mux != nil {
		refused := func(pick func(cluster.RefusedStats) uint64, why string) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name:        "kdcha_cluster_refused_connections_total",
				Help:        "Connections to the cluster listener refused, by reason.",
				ConstLabels: prometheus.Labels{"reason": why},
			}, func() float64 { return float64(pick(m.mux.Refused())) })
		}
		cs = append(cs,
			refused(func(s cluster.RefusedStats) uint64 { return s.UnknownProtocol }, "unknown_protocol"),
			refused(func(s cluster.RefusedStats) uint64 { return s.NoClientCert }, "no_client_cert"),
			refused(func(s cluster.RefusedStats) uint64 { return s.UntrustedCert }, "untrusted_cert"),
			refused(func(s cluster.RefusedStats) uint64 { return s.Handshake }, "handshake"),
			refused(func(s cluster.RefusedStats) uint64 { return s.NotMember }, "not_member"),
			refused(func(s cluster.RefusedStats) uint64 { return s.TooManyHandshakes }, "too_many_handshakes"),
		)
	}
	return cs
}

// rpcHandler answers other members over the cluster listener.
type rpcHandler struct{ m *member }

func (h rpcHandler) Forward(ctx context.Context, payload []byte) ([]byte, error) {
	if st := h.m.db.Status(); st.State != "Leader" {
		return nil, &cluster.NotLeaderError{Leader: st.Leader}
	}
	return h.m.db.HandleForwarded(ctx, payload)
}

func (h rpcHandler) Status(context.Context) ([]byte, error) {
	st, err := h.m.db.ClusterStatus()
	if err != nil {
		return nil, err
	}
	return json.Marshal(st)
}

// Admit admits a joining node: it refuses a node ID that is a member at
// another address (before the token is used up), uses the join token (a
// replicated write that only one join wins, accepted whichever member
// issued the token), adds the node as a non-voter and hands it the realm
// and master key, and the cluster package the CA key to sign its
// certificate with. As a non-voter the node may use the cluster listener
// (membership is the Raft configuration) without counting towards quorum
// before it runs; once its Raft is up it promotes itself
// (ensureMembership).
func (h rpcHandler) Admit(ctx context.Context, req cluster.AdmitRequest) (cluster.Admission, error) {
	m := h.m
	if err := m.db.CheckNewMember(req.NodeID, req.Addr); err != nil {
		return cluster.Admission{}, fmt.Errorf("%w: %w", cluster.ErrInvalid, err)
	}
	key, err := os.ReadFile(m.cfg.masterKeyPath())
	if err != nil {
		return cluster.Admission{}, fmt.Errorf("read master key: %w", err)
	}
	caKey, err := m.db.ClusterCAKey()
	if err != nil {
		return cluster.Admission{}, fmt.Errorf("cluster CA key (a member that still has %s moves it into the database when its agent starts): %w", cluster.CAKeyFile, err)
	}
	if err := m.db.UseJoinToken(ctx, req.TokenHash, req.NodeID); err != nil {
		if errors.Is(err, db.ErrJoinToken) {
			return cluster.Admission{}, fmt.Errorf("%w: %w", cluster.ErrInvalidToken, err)
		}
		return cluster.Admission{}, err
	}
	m.log.Info("admitting a node to the cluster", "node", req.NodeID, "address", req.Addr)
	if err := m.db.AddNonvoter(ctx, req.NodeID, req.Addr); err != nil {
		if errors.Is(err, db.ErrInvalid) {
			return cluster.Admission{}, fmt.Errorf("%w: %w", cluster.ErrInvalid, err)
		}
		return cluster.Admission{}, err
	}
	return cluster.Admission{Realm: m.cfg.Realm, MasterKey: key, CAKey: caKey}, nil
}

// memberStatus is one row of `kdcha cluster status`.
type memberStatus struct {
	ID           string `json:"id"`
	Address      string `json:"address"`
	Voter        bool   `json:"voter"`
	State        string `json:"state,omitempty"`
	AppliedIndex uint64 `json:"applied_index"`
	// Lag is how many committed entries the member has not applied yet.
	Lag   uint64 `json:"lag"`
	Error string `json:"error,omitempty"`
}

// clusterView is the answer of the cluster status API.
type clusterView struct {
	Self    db.ClusterStatus `json:"self"`
	Members []memberStatus   `json:"members"`
}

// Status asks every member for its applied index (admin.Cluster).
func (m *member) Status(ctx context.Context) (any, error) {
	self, err := m.db.ClusterStatus()
	if err != nil {
		return nil, err
	}
	view := clusterView{Self: self}
	commit := self.CommitIndex
	for _, mb := range self.Members {
		row := memberStatus{ID: mb.ID, Address: mb.Address, Voter: mb.Voter}
		st := self
		if mb.ID != self.NodeID {
			callCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
			b, err := m.client.Status(callCtx, mb.Address)
			cancel()
			if err == nil {
				err = json.Unmarshal(b, &st)
			}
			if err != nil {
				row.Error = err.Error()
				view.Members = append(view.Members, row)
				continue
			}
		}
		row.State, row.AppliedIndex = st.State, st.AppliedIndex
		if st.State == "Leader" {
			commit = max(commit, st.CommitIndex)
		}
		view.Members = append(view.Members, row)
	}
	for i := range view.Members {
		if view.Members[i].Error == "" && commit > view.Members[i].AppliedIndex {
			view.Members[i].Lag = commit - view.Members[i].AppliedIndex
		}
	}
	return view, nil
}

// JoinToken issues a join token valid for ttl on every member, once
// (admin.Cluster): the token goes to the caller, its hash into the
// replicated database.
func (m *member) JoinToken(ctx context.Context, ttl time.Duration) (string, error) {
	if m.mux == nil {
		return "", fmt.Errorf("%w: this node is not in a cluster (no cluster.listen)", db.ErrInvalid)
	}
	if err := cluster.CheckTokenTTL(ttl); err != nil {
		return "", fmt.Errorf("%w: %w", db.ErrInvalid, err)
	}
	tok, hash, err := cluster.NewJoinToken(m.creds)
	if err != nil {
		return "", err
	}
	if err := m.db.AddJoinToken(ctx, hash, ttl); err != nil {
		return "", fmt.Errorf("store join token: %w", err)
	}
	return tok, nil
}

// Leave removes this node from the cluster (admin.Cluster).
func (m *member) Leave(ctx context.Context) error {
	if m.mux == nil {
		return fmt.Errorf("%w: this node is not in a cluster (no cluster.listen)", db.ErrInvalid)
	}
	return m.db.RemoveServer(ctx, m.cfg.Node.Name)
}

// Remove removes another node from the cluster (admin.Cluster).
func (m *member) Remove(ctx context.Context, node string) error {
	if m.mux == nil {
		return fmt.Errorf("%w: this node is not in a cluster (no cluster.listen)", db.ErrInvalid)
	}
	if node == m.cfg.Node.Name {
		return fmt.Errorf("%w: use `kdcha cluster leave` to remove this node", db.ErrInvalid)
	}
	return m.db.RemoveServer(ctx, node)
}

// Backup writes a backup of the replica after syncing it (admin.Cluster).
func (m *member) Backup(ctx context.Context, w io.Writer) error {
	if err := m.db.Sync(ctx); err != nil {
		return err
	}
	return m.db.Backup(w)
}
