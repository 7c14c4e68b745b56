package db

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Proposing a change: on the leader it is applied through Raft directly;
// on a follower it is forwarded and acknowledged once applied locally.
// Writes that carry keys seal them for the kvno this replica expects and
// re-seal after catching up when that was stale.

// sealRetries bounds how often a write that carries keys is re-sealed after
// ErrConflict.
const sealRetries = 5

// proposeKeys seals keys for the kvno this replica expects next, builds
// the command with build and proposes it. A replica that lags (a follower,
// or a leader that just lost a race with a forwarded rekey) sealed for a
// stale kvno, which the FSM refuses with ErrConflict: then it catches up
// with Sync, re-seals and tries again, a bounded number of times. Commands
// with keys never carry IfRevision, so ErrConflict here always means a
// stale kvno.
func (d *DB) proposeKeys(ctx context.Context, name string, aliases []string, keys []plainKey,
	build func(kvno uint32, exists bool, sealed []sealedKey) (*command, error)) (*Principal, error) {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	synced := false
	for attempt := 1; ; attempt++ {
		c, err := d.plan(name, aliases, keys, build)
		if err != nil && !synced && d.lagging() {
			// "exists" or "not found" judged on a follower's replica may
			// be stale: judge again once it caught up.
			synced = true
			if d.Sync(ctx) == nil {
				c, err = d.plan(name, aliases, keys, build)
			}
		}
		if err != nil {
			return nil, err
		}
		p, err := d.propose(ctx, c)
		if !errors.Is(err, ErrConflict) || attempt == sealRetries {
			return p, err
		}
		d.log.Debug("kvno raced, catching up and re-sealing", "principal", name, "kvno", c.KVNO, "attempt", attempt)
		if err := d.Sync(ctx); err != nil {
			return nil, fmt.Errorf("%s %s: catch up after a kvno race: %w", c.Op, name, err)
		}
	}
}

// propose stamps, encodes and commits c, and returns the principal after
// it. On the leader it applies c itself; on a follower it forwards c and
// acknowledges only once this node's replica has applied it, so a caller
// that reads here afterwards (or a KDC here) never sees the state before.
func (d *DB) propose(ctx context.Context, c *command) (*Principal, error) {
	start := time.Now()
	c.Time = start.UTC()
	b, err := encodeCommand(c)
	if err != nil {
		return nil, err
	}
	var p *Principal
	if d.forward == nil || d.node.isLeader() {
		p, _, err = d.applyLocal(ctx, c, b)
	} else {
		p, err = d.applyForwarded(ctx, c, b)
	}
	d.metrics.observeWrite(c.Op, start, err)
	if err != nil {
		return nil, err
	}
	if c.Name != "" {
		d.log.Info("principal changed", "op", c.Op, "principal", c.Name)
	}
	return p, nil
}

// applyLocal commits the encoded command b on this node (the leader) and
// unpacks the FSM's result and the entry's index.
func (d *DB) applyLocal(ctx context.Context, c *command, b []byte) (*Principal, uint64, error) {
	resp, index, err := d.node.Apply(ctx, b)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", c.Op, c.Name, err)
	}
	res, ok := resp.(*applyResult)
	if !ok {
		return nil, index, fmt.Errorf("%s %s: unexpected FSM result %T", c.Op, c.Name, resp)
	}
	return res.Principal, index, res.Err
}

// applyForwarded has the leader commit b and waits for this node to apply
// it.
func (d *DB) applyForwarded(ctx context.Context, c *command, b []byte) (*Principal, error) {
	index, err := d.callLeader(ctx, forwardRequest{Kind: fwdApply, Command: b})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.Op, c.Name, err)
	}
	if err := d.fsm.waitApplied(ctx, index); err != nil {
		// Committed, so it will be applied here; the caller only learns
		// that late.
		return nil, fmt.Errorf("%s %s: committed but not yet applied on this node: %w", c.Op, c.Name, err)
	}
	if res, ok := d.fsm.result(index); ok {
		return res.Principal, res.Err
	}
	// Installed through a snapshot rather than applied entry by entry:
	// the replica holds this change or a later one, the newer truth.
	if c.Op == opDelete || c.Name == "" {
		return nil, nil
	}
	if p, ok := d.idx.Lookup(c.Name); ok {
		return p, nil
	}
	return nil, fmt.Errorf("%s %s: %w (deleted again right after)", c.Op, c.Name, ErrNotFound)
}

// plan seals keys for the kvno this replica expects next and builds the
// command.
func (d *DB) plan(name string, aliases []string, keys []plainKey,
	build func(kvno uint32, exists bool, sealed []sealedKey) (*command, error)) (*command, error) {
	kvno, exists := d.fsm.keyPlan(name, aliases)
	sealed, err := sealKeys(d.mk, name, kvno, keys)
	if err != nil {
		return nil, fmt.Errorf("seal keys of %s: %w", name, err)
	}
	return build(kvno, exists, sealed)
}

// lagging reports whether this node's replica may miss acknowledged
// writes: it is a follower that can reach the leader.
func (d *DB) lagging() bool { return d.forward != nil && !d.node.isLeader() }

// target returns the principal a write names. A follower's replica may
// not have a principal that was just created elsewhere yet; it catches up
// once before answering ErrNotFound.
func (d *DB) target(ctx context.Context, name string) (*Principal, error) {
	p, err := d.Get(name)
	if errors.Is(err, ErrNotFound) && d.lagging() && d.Sync(ctx) == nil {
		return d.Get(name)
	}
	return p, err
}
