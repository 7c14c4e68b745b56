package db

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// hclogAdapter routes hashicorp/raft's hclog output into the node's slog
// logger. Raft's Info lines (elections, snapshots, every start) become
// Debug: they are routine for an operator of a KDC, and a single-node
// database would otherwise print a dozen lines per start. Raft repeats its
// complaints about an unreachable peer on every heartbeat and retry (a
// planned stop of one node used to write dozens of ERROR lines on the
// others): peerLog turns them into one WARN per peer (see peerFailures).
type hclogAdapter struct {
	base  *slog.Logger // without name or implied args, for ResetNamed
	l     *slog.Logger
	name  string
	args  []any
	peers *peerLog // shared by every logger derived from one newHCLogAdapter
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func newHCLogAdapter(l *slog.Logger) *hclogAdapter {
	l = l.With("component", "raft")
	return &hclogAdapter{base: l, l: l, peers: &peerLog{down: map[string]bool{}}}
}

// NewNetworkTransport wraps stream (the cluster package's mutual-TLS
// stream layer) in raft's network transport, logging through log like the
// rest of Raft instead of to stderr. Pass the result as Options.Transport.
func NewNetworkTransport(stream raft.StreamLayer, log *slog.Logger) *raft.NetworkTransport {
	return raft.NewNetworkTransportWithLogger(stream, 3, 10*time.Second, newHCLogAdapter(log).Named("net"))
}

func slogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelDebug
	}
}

// peerFailures are raft's messages saying that a peer did not answer, with
// the attribute that names the peer.
var peerFailures = map[string]string{
	"failed to appendEntries to":              "peer",
	"failed to heartbeat to":                  "peer",
	"failed to pipeline appendEntries":        "peer",
	"failed to start pipeline replication to": "peer",
	"failed to send snapshot to":              "peer",
	"failed to install snapshot":              "peer", // the leader's side; the follower's has no peer
	"failed to make requestVote RPC":          "target",
	"failed to contact":                       "server-id",
}

// peerAnswers are raft's messages proving that a peer answered: a leader
// pipelines only after a successful AppendEntries, and a follower follows
// a leader it heard from.
var peerAnswers = map[string]string{
	"pipelining replication":  "peer",
	"entering follower state": "leader-id",
}

// Log implements hclog.Logger.
func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off {
		return
	}
	ctx := context.Background()
	if key, ok := peerFailures[msg]; ok && level >= hclog.Warn {
		if peer, ok := a.peers.name(argValue(args, key)); ok {
			if a.peers.markDown(peer) {
				a.l.Log(ctx, slog.LevelWarn, "raft peer unreachable; further failures logged at debug until it answers",
					append([]any{"peer", peer, "raft_msg", msg}, withoutArg(args, key)...)...)
				return
			}
			a.l.Log(ctx, slog.LevelDebug, msg, args...)
			return
		}
	}
	if key, ok := peerAnswers[msg]; ok {
		if peer, ok := a.peers.name(argValue(args, key)); ok && a.peers.markUp(peer) {
			a.l.Log(ctx, slog.LevelInfo, "raft peer reachable again", "peer", peer)
		}
	}
	a.l.Log(ctx, adjustLevel(msg, slogLevel(level), args), msg, args...)
}

// adjustLevel lowers raft's level for messages that are routine for a
// KDC cluster.
func adjustLevel(msg string, level slog.Level, args []any) slog.Level {
	if votePolitics(msg) {
		return slog.LevelDebug
	}
	switch msg {
	case "heartbeat timeout reached, starting election":
		// A node that never knew a leader (every start, and the only
		// election of a single node) is not news; losing one is.
		if id, _ := argValue(args, "last-leader-id").(raft.ServerID); id == "" {
			return slog.LevelDebug
		}
		return slog.LevelInfo
	case "Election timeout reached, restarting election":
		// Repeats while there is no quorum; the unreachable peers were
		// named once already.
		return slog.LevelDebug
	case "failed to decode incoming command":
		// The transport's side of a peer closing its connection (a stop
		// or restart): the peer's own failures are logged above.
		if err, _ := argValue(args, "error").(error); connGone(err) {
			return slog.LevelDebug
		}
	}
	return level
}

// votePolitics reports whether msg is a node declining a (pre-)vote for
// an ordinary reason (it still hears a leader, or it is more up to date):
// every election after a stop has a few. A vote from a node outside the
// configuration stays a warning.
func votePolitics(msg string) bool {
	return (strings.HasPrefix(msg, "rejecting vote request since") || strings.HasPrefix(msg, "rejecting pre-vote request since")) &&
		!strings.HasSuffix(msg, "not in configuration")
}

// connGone reports whether err says the other end closed the connection.
func connGone(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// argValue returns the value of key in hclog's alternating key/value args.
func argValue(args []any, key string) any {
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == key {
			return args[i+1]
		}
	}
	return nil
}

// withoutArg returns args without key and its value.
func withoutArg(args []any, key string) []any {
	out := make([]any, 0, len(args))
	for i := 0; i < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == key && i+1 < len(args) {
			continue
		}
		out = append(out, args[i:min(i+2, len(args))]...)
	}
	return out
}

// peerLog remembers which peers raft could not reach, so that only the
// first failure of each is a warning.
type peerLog struct {
	mu   sync.Mutex
	down map[string]bool // by server ID (or address if the ID is unknown)
	// servers returns raft's latest configuration, to name a peer that
	// raft identified only by address; nil before raft starts.
	servers atomic.Pointer[func() []raft.Server]
}

// name returns the server ID of the peer raft logged as v (a raft.Server,
// ID or address).
func (p *peerLog) name(v any) (string, bool) {
	switch v := v.(type) {
	case raft.Server:
		return string(v.ID), v.ID != ""
	case raft.ServerID:
		return string(v), v != ""
	case raft.ServerAddress:
		if servers := p.servers.Load(); servers != nil {
			for _, s := range (*servers)() {
				if s.Address == v {
					return string(s.ID), true
				}
			}
		}
		return string(v), v != ""
	}
	return "", false
}

// markDown records peer as unreachable and reports whether it was not
// already.
func (p *peerLog) markDown(peer string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down[peer] {
		return false
	}
	p.down[peer] = true
	return true
}

// markUp records peer as reachable and reports whether it was not.
func (p *peerLog) markUp(peer string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.down[peer] {
		return false
	}
	delete(p.down, peer)
	return true
}

// resolvePeers lets the adapter name peers that raft logs by address only
// (heartbeat failures) by their ID from r's configuration.
// GetConfiguration answers from a copy without waiting for raft's loop,
// so calling it from raft's own log calls cannot deadlock.
func (a *hclogAdapter) resolvePeers(r *raft.Raft) {
	servers := func() []raft.Server {
		f := r.GetConfiguration()
		if f.Error() != nil {
			return nil
		}
		return f.Configuration().Servers
	}
	a.peers.servers.Store(&servers)
}

func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hclogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hclogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

func (a *hclogAdapter) enabled(level hclog.Level) bool {
	return a.l.Enabled(context.Background(), slogLevel(level))
}

func (a *hclogAdapter) IsTrace() bool { return a.enabled(hclog.Trace) }
func (a *hclogAdapter) IsDebug() bool { return a.enabled(hclog.Debug) }
func (a *hclogAdapter) IsInfo() bool  { return a.enabled(hclog.Info) }
func (a *hclogAdapter) IsWarn() bool  { return a.enabled(hclog.Warn) }
func (a *hclogAdapter) IsError() bool { return a.enabled(hclog.Error) }

func (a *hclogAdapter) ImpliedArgs() []any { return a.args }

func (a *hclogAdapter) With(args ...any) hclog.Logger {
	return &hclogAdapter{base: a.base, l: a.l.With(args...), name: a.name, args: append(slices.Clone(a.args), args...), peers: a.peers}
}

func (a *hclogAdapter) Name() string { return a.name }

func (a *hclogAdapter) Named(name string) hclog.Logger {
	if a.name != "" {
		name = a.name + "." + name
	}
	return a.ResetNamed(name)
}

func (a *hclogAdapter) ResetNamed(name string) hclog.Logger {
	return &hclogAdapter{base: a.base, l: a.base.With("subsystem", name).With(a.args...), name: name, args: a.args, peers: a.peers}
}

// SetLevel is a no-op: the level is the slog handler's business.
func (a *hclogAdapter) SetLevel(hclog.Level) {}

// GetLevel reports the most verbose level the handler lets through.
func (a *hclogAdapter) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Debug, hclog.Warn, hclog.Error} {
		if a.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

func (a *hclogAdapter) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(a.l.Handler(), slog.LevelDebug)
}

func (a *hclogAdapter) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return a.StandardLogger(opts).Writer()
}
