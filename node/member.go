package node

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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/cluster"
	"github.com/kdcha/kdcha/kdc/db"
)

// Member is a node's database and, in cluster mode (cluster.listen set),
// its mutual-TLS cluster listener carrying Raft and the member RPC. It
// implements admin.Cluster.
type Member struct {
	cfg    *Config
	log    *slog.Logger
	db     *db.DB
	mux    *cluster.Mux         // nil for a single node
	client *cluster.Client      // nil for a single node
	creds  *cluster.Credentials // nil for a single node
	// live is what the running services publish for `kdcha status`.
	live *liveStatus
}

// Clustered reports whether the node replicates with others (cluster.listen
// set); otherwise it is a cluster of one.
func (c *Config) Clustered() bool { return c.Cluster.Listen != "" }

// DBDir is where the principal database lives.
func (c *Config) DBDir() string { return filepath.Join(c.Node.DataDir, "db") }

// CredentialsDir holds the node's cluster key, certificate and trusted CAs.
func (c *Config) CredentialsDir() string { return filepath.Join(c.Node.DataDir, "cluster") }

// SeedFile holds the address of the member a node joined through; the
// joining agent sends its own admission there until it knows the leader.
func (c *Config) SeedFile() string { return filepath.Join(c.CredentialsDir(), "seed") }

// MasterKeyPath is the realm master key stash: database.master_key_file, or
// its default under the database directory.
func (c *Config) MasterKeyPath() string {
	if c.Database.MasterKeyFile != "" {
		return c.Database.MasterKeyFile
	}
	return filepath.Join(c.DBDir(), db.DefaultMasterKeyFile)
}

func (c *Config) dbOptions(log *slog.Logger) db.Options {
	etypes, _ := parseEncTypes(c.Database.EncTypes)
	return db.Options{
		DataDir:       c.DBDir(),
		Realm:         c.Realm,
		MasterKeyPath: c.Database.MasterKeyFile,
		NodeID:        c.Node.Name,
		EncTypes:      etypes,
		Logger:        log,
	}
}

// OpenMember opens the node's database. mode says what a fresh data dir
// becomes: OpenExisting refuses one, InitRealm bootstraps a new realm,
// RestoreRealm bootstraps it from a backup.
func OpenMember(cfg *Config, log *slog.Logger, mode OpenMode, restore io.Reader) (*Member, error) {
	m := &Member{cfg: cfg, log: log, live: &liveStatus{}}
	opts := cfg.dbOptions(log)
	initialized, err := db.Initialized(opts.DataDir)
	if err != nil {
		return nil, err
	}
	seed, _ := os.ReadFile(cfg.SeedFile())
	switch {
	case initialized && mode != OpenExisting:
		return nil, fmt.Errorf("%s already holds a database for realm %s: refusing to initialise it again", cfg.Node.DataDir, cfg.Realm)
	case !initialized && mode == OpenExisting && len(seed) == 0:
		return nil, fmt.Errorf("no principal database under %s: run `kdcha cluster init --config FILE` on the first node, or `kdcha cluster join` on the others", cfg.Node.DataDir)
	case !initialized && mode == OpenExisting:
		opts.Join, opts.CreateIfMissing = true, true
	case mode == InitRealm:
		opts.CreateIfMissing = true
	case mode == RestoreRealm:
		opts.CreateIfMissing, opts.RestoreFrom = true, restore
	}
	if cfg.Clustered() {
		creds, err := cluster.Load(cfg.CredentialsDir())
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
		opts.Transport = db.NewNetworkTransport(m.mux.StreamLayer(), log)
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

// OpenMode says what OpenMember does with a data dir without a database.
type OpenMode int

const (
	// OpenExisting opens the database; an empty data dir is an error unless
	// the node has joined a cluster (`kdcha cluster join`).
	OpenExisting OpenMode = iota
	// InitRealm creates a new realm (`kdcha cluster init`).
	InitRealm
	// RestoreRealm creates a realm from a backup (`kdcha cluster restore`).
	RestoreRealm
)

// DB is the member's principal database.
func (m *Member) DB() *db.DB { return m.db }

// Close closes the database and the cluster listener.
func (m *Member) Close() error {
	err := m.db.Close()
	if m.mux != nil {
		err = errors.Join(err, m.mux.Close())
	}
	return err
}

// ensureMembership adds this node to the Raft configuration as a voter if
// it is not one yet (a node that joined and has not been promoted, or one
// whose admission failed), once it has heard from the leader (see
// leaderContact), retrying until ctx ends. The leader is reached through
// the forwarder, which falls back to the member the node joined through.
func (m *Member) ensureMembership(ctx context.Context) {
	if m.mux == nil {
		return
	}
	start := time.Now()
	m.untilDone(ctx, "not yet a cluster member (voter)", func(ctx context.Context) error {
		st, err := m.db.ClusterStatus()
		if err != nil {
			return err
		}
		if isVoter(st.Members, m.cfg.Node.Name) {
			return nil
		}
		if err := readyToVote(st, time.Since(start)); err != nil {
			return err
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
func (m *Member) untilDone(ctx context.Context, what string, f func(context.Context) error) {
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

// MoveCAKey moves a cluster CA key found in the credentials directory into
// the replicated database, sealed with the master key, and deletes the
// file. `cluster init` and `cluster restore` leave the key there, and
// every node of older versions holds one. The database's key is replaced
// only when it is not this cluster's (a backup of another cluster was
// restored); a replica that lags may store the same key again, which is
// harmless.
func (m *Member) MoveCAKey(ctx context.Context) error {
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

// errNoLeaderContact keeps a non-voter from asking for its promotion.
var errNoLeaderContact = errors.New("no contact with the raft leader yet: not asking to vote before the leader's log reaches this node")

// leaderContactWait bounds how long a node waits to hear from the leader
// before it asks to vote anyway. A node whose admission failed half-way is
// not in the leader's configuration, so never hears from it, and is added
// by the promotion itself; and a node pointed at the wrong cluster must
// find out (the other side refuses it) without a long wait. Raft's
// replication backoff to an unreachable peer can exceed this (it tops out
// at about 41 s): such a node is then promoted before replication reaches
// it, the rare case this wait only narrows.
const leaderContactWait = 15 * time.Second

// readyToVote returns errNoLeaderContact while this node has not heard
// from the Raft leader and has waited less than leaderContactWait. A
// joined node was admitted as a non-voter before its agent ran, so the
// leader's replication to it has been failing and backing off; promoted
// before that replication gets through, it would count towards quorum
// without acknowledging anything, and a leader with one other voter would
// lose its lease and step down mid-write ("leadership lost while
// committing log").
func readyToVote(st db.ClusterStatus, waited time.Duration) error {
	if (st.LeaderID == "" || st.LastContact.IsZero()) && waited < leaderContactWait {
		return errNoLeaderContact
	}
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
func (m *Member) collectors() []prometheus.Collector {
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
type rpcHandler struct{ m *Member }

func (h rpcHandler) Forward(ctx context.Context, payload []byte) ([]byte, error) {
	if st := h.m.db.Status(); st.State != db.RoleLeader {
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
	key, err := os.ReadFile(m.cfg.MasterKeyPath())
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

// Status asks every member for its applied index (admin.Cluster).
func (m *Member) Status(ctx context.Context) (admin.ClusterStatus, error) {
	self, err := m.db.ClusterStatus()
	if err != nil {
		return admin.ClusterStatus{}, err
	}
	view := admin.ClusterStatus{Self: admin.RaftStatusOf(self)}
	commit := self.CommitIndex
	for _, mb := range self.Members {
		row := admin.MemberStatus{ID: mb.ID, Address: mb.Address, Voter: mb.Voter}
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
		row.State, row.Term, row.AppliedIndex = st.State, st.Term, st.AppliedIndex
		if st.State == db.RoleLeader {
			commit = max(commit, st.CommitIndex)
		}
		view.Members = append(view.Members, row)
	}
	for i := range view.Members {
		if view.Members[i].Error == "" && commit > view.Members[i].AppliedIndex {
			view.Members[i].Lag = commit - view.Members[i].AppliedIndex
		}
	}
	view.Leader, view.Term = agreedLeader(view.Members)
	return view, nil
}

// JoinToken issues a join token valid for ttl on every member, once
// (admin.Cluster): the token goes to the caller, its hash into the
// replicated database.
func (m *Member) JoinToken(ctx context.Context, ttl time.Duration) (string, error) {
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
func (m *Member) Leave(ctx context.Context) error {
	if m.mux == nil {
		return fmt.Errorf("%w: this node is not in a cluster (no cluster.listen)", db.ErrInvalid)
	}
	return m.db.RemoveServer(ctx, m.cfg.Node.Name)
}

// Remove removes another node from the cluster (admin.Cluster).
func (m *Member) Remove(ctx context.Context, node string) error {
	if m.mux == nil {
		return fmt.Errorf("%w: this node is not in a cluster (no cluster.listen)", db.ErrInvalid)
	}
	if node == m.cfg.Node.Name {
		return fmt.Errorf("%w: use `kdcha cluster leave` to remove this node", db.ErrInvalid)
	}
	return m.db.RemoveServer(ctx, node)
}
