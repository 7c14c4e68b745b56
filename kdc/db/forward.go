package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
)

// Forwarding: a follower cannot append to the Raft log, so it sends what
// it wants done to the leader through Options.Forward (in the product, the
// cluster package's mutual-TLS RPC) and the leader runs HandleForwarded.
// Requests and replies are small JSON documents; keys in a forwarded
// command are already sealed, and replies carry no principal at all (the
// follower reads the result from its own replica once it has applied the
// entry), so no key material crosses this channel in the clear.

// forwardVersion is the version of the forwarding encoding. A leader
// refuses other versions, so nodes of mixed builds fail loudly.
const forwardVersion = 1

// forwardKind names what a forwarded request asks the leader to do.
type forwardKind string

const (
	fwdApply        forwardKind = "apply"         // commit Command
	fwdAddVoter     forwardKind = "add_voter"     // add ID at Addr as a voter
	fwdAddNonvoter  forwardKind = "add_nonvoter"  // add ID at Addr as a non-voter
	fwdRemoveServer forwardKind = "remove_server" // remove ID
	fwdReadIndex    forwardKind = "read_index"    // report an index that covers every acknowledged write
)

type forwardRequest struct {
	Version int             `json:"v"`
	Kind    forwardKind     `json:"kind"`
	Command json.RawMessage `json:"command,omitempty"`
	ID      string          `json:"id,omitempty"`
	Addr    string          `json:"addr,omitempty"`
}

type forwardReply struct {
	// Index is the Raft index the follower must have applied before it
	// acknowledges (the command's entry, or the read index).
	Index uint64     `json:"index,omitempty"`
	Err   *wireError `json:"err,omitempty"`
}

// HandleForwarded runs a request that a follower's Options.Forward sent to
// this node, and returns the encoded reply. It must only be reachable by
// authenticated cluster members. A node that is not the leader answers
// with ErrNotLeader (and the leader it knows), which the follower sees as
// an error of its own write. The returned error is for a request that
// cannot be decoded at all; every other failure travels in the reply so
// that errors.Is works on the follower.
func (d *DB) HandleForwarded(ctx context.Context, req []byte) ([]byte, error) {
	var r forwardRequest
	if err := json.Unmarshal(req, &r); err != nil {
		return nil, fmt.Errorf("%w: forwarded request: %w", ErrInvalid, err)
	}
	if r.Version != forwardVersion {
		return nil, fmt.Errorf("%w: forwarded request version %d, this node speaks %d", ErrInvalid, r.Version, forwardVersion)
	}
	index, err := d.handle(ctx, &r)
	reply := forwardReply{Index: index, Err: encodeError(err)}
	b, err := json.Marshal(reply)
	if err != nil {
		return nil, fmt.Errorf("encode forwarded reply: %w", err)
	}
	return b, nil
}

// handle runs r on this node, which must be the leader.
func (d *DB) handle(ctx context.Context, r *forwardRequest) (uint64, error) {
	if err := d.node.checkLeader(); err != nil {
		return 0, err
	}
	switch r.Kind {
	case fwdApply:
		// Garbage must not reach the log, where every node would log it
		// as an error.
		c, err := decodeCommand(r.Command)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		_, index, err := d.applyLocal(ctx, c, r.Command)
		if err == nil {
			d.node.nudge()
		}
		return index, err
	case fwdAddVoter, fwdAddNonvoter:
		return d.node.addServer(ctx, r.ID, r.Addr, r.Kind == fwdAddVoter)
	case fwdRemoveServer:
		return d.node.removeServer(ctx, r.ID)
	case fwdReadIndex:
		if err := d.node.Barrier(ctx); err != nil {
			return 0, err
		}
		// Every write acknowledged anywhere was applied on the leader
		// before it replied, and the barrier applied any entry committed
		// by a previous leader, so this covers them all.
		return d.fsm.appliedIndex(), nil
	default:
		return 0, fmt.Errorf("%w: unknown forwarded request %q", ErrInvalid, r.Kind)
	}
}

// callLeader forwards r to the leader through d.forward (which must be
// set) and returns the index its reply names, or the leader's error.
func (d *DB) callLeader(ctx context.Context, r forwardRequest) (uint64, error) {
	addr, id := d.node.Leader()
	// A node asking to be promoted may not know the leader yet: Forward
	// finds it (through the member it joined by).
	if addr == "" && r.Kind != fwdAddVoter {
		// A candidate, or a follower cut off long enough to know it: fail
		// now rather than at the caller's deadline.
		return 0, fmt.Errorf("%w: no leader known to this node (%s)", ErrNoQuorum, d.node.State())
	}
	r.Version = forwardVersion
	req, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("encode forwarded request: %w", err)
	}
	b, err := d.forward(ctx, req)
	if errors.Is(err, ErrOutcomeUnknown) {
		return 0, fmt.Errorf("%s through leader %s (%s): %w", r.Kind, id, addr, err)
	}
	if err != nil {
		// Unreachable leader: for this node's callers, writes are
		// unavailable, which is what ErrNoQuorum means.
		return 0, fmt.Errorf("%w: forward %s to leader %s (%s): %w", ErrNoQuorum, r.Kind, id, addr, err)
	}
	var reply forwardReply
	if err := json.Unmarshal(b, &reply); err != nil {
		return 0, fmt.Errorf("decode leader's reply to %s: %w", r.Kind, err)
	}
	if reply.Err != nil {
		return 0, reply.Err.decode()
	}
	return reply.Index, nil
}

// wireError is an error as it crosses the forwarding channel: the
// sentinel it matched, by name, and its full message.
type wireError struct {
	Code string `json:"code,omitempty"`
	Msg  string `json:"msg"`
}

// wireSentinels are the errors a follower can match after forwarding, in
// the order they are tried (the first match names the error).
var wireSentinels = []struct {
	code string
	err  error
}{
	{"outcome_unknown", ErrOutcomeUnknown},
	{"not_found", ErrNotFound},
	{"exists", ErrExists},
	{"protected", ErrProtected},
	{"invalid_name", ErrInvalidName},
	{"weak_password", ErrWeakPassword},
	{"not_leader", ErrNotLeader},
	{"no_quorum", ErrNoQuorum},
	{"invalid", ErrInvalid},
	{"conflict", ErrConflict},
	{"unsupported_enctype", ErrUnsupportedEncType},
	{"master_key", ErrMasterKey},
	{"wrong_master_key", ErrWrongMasterKey},
	{"realm_mismatch", ErrRealmMismatch},
	{"no_space", syscall.ENOSPC},
	{"join_token", ErrJoinToken},
	{"deadline_exceeded", context.DeadlineExceeded},
	{"canceled", context.Canceled},
}

func encodeError(err error) *wireError {
	if err == nil {
		return nil
	}
	w := &wireError{Msg: err.Error()}
	for _, s := range wireSentinels {
		if errors.Is(err, s.err) {
			w.Code = s.code
			break
		}
	}
	return w
}

// decode rebuilds the error; an unknown code (a newer leader) still gives
// the message, matching nothing.
func (w *wireError) decode() error {
	e := &remoteError{msg: w.Msg}
	for _, s := range wireSentinels {
		if s.code == w.Code {
			e.sentinel = s.err
			break
		}
	}
	return e
}

// remoteError is an error returned by the leader: its message, matching
// the same sentinel it matched there.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return "leader: " + e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }
