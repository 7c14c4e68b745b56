package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Retry bounds of Forwarder: with these, a forwarded write waits out an
// election of a few seconds before failing.
const (
	forwardAttempts   = 8
	forwardBackoff    = 100 * time.Millisecond
	forwardMaxBackoff = time.Second
)

// Forwarder sends opaque requests to the current Raft leader. Its Forward
// method is what cmd/kdcha passes to the database as Options.Forward.
type Forwarder struct {
	client *Client
	leader func() string
	log    *slog.Logger
}

// NewForwarder returns a Forwarder that asks leader for the leader's
// cluster address ("" while unknown) before each attempt; with the Raft
// transport on the mux that is the leader's Raft address.
func NewForwarder(c *Client, leader func() string, log *slog.Logger) *Forwarder {
	if log == nil {
		log = slog.Default()
	}
	return &Forwarder{client: c, leader: leader, log: log.With("component", "cluster")}
}

// Forward delivers payload to the leader and returns its reply. It
// retries, with backoff and at most 8 attempts, only when the request
// surely was not processed: no leader known, a member answering "not
// leader" (its hint is tried next, at once), or a failed connect. A
// failure after the request was sent is returned as is, since retrying
// could apply a write twice. ctx bounds the whole; each attempt is bounded
// by the request timeout.
func (f *Forwarder) Forward(ctx context.Context, payload []byte) ([]byte, error) {
	var (
		hint  string
		last  error
		delay = forwardBackoff
	)
	for attempt := 1; attempt <= forwardAttempts; attempt++ {
		addr := hint
		hint = ""
		if addr == "" {
			addr = f.leader()
		}
		if addr == "" {
			last = &NotLeaderError{}
		} else {
			reply, err := f.client.Forward(ctx, addr, payload)
			if err == nil {
				return reply, nil
			}
			last = err
			var nl *NotLeaderError
			switch {
			case errors.As(err, &nl) && nl.Leader != "" && nl.Leader != addr:
				f.log.Debug("forward redirected", "from", addr, "to", nl.Leader)
				hint = nl.Leader
				continue
			case errors.As(err, &nl), isDialError(err):
				f.log.Debug("forward to leader failed, retrying", "addr", addr, "attempt", attempt, "err", err)
			default:
				return nil, err
			}
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, fmt.Errorf("forward to leader: %w (last error: %w)", ctx.Err(), last)
		}
		delay = min(delay*2, forwardMaxBackoff)
	}
	return nil, fmt.Errorf("forward to leader: gave up after %d attempts: %w", forwardAttempts, last)
}

// NotSent reports whether a Forward error means the payload surely reached
// no leader (no leader known, only "not leader" answers, or no connection),
// so trying again cannot apply it twice. After any other error the payload
// may have been applied.
func NotSent(err error) bool {
	var nl *NotLeaderError
	return errors.As(err, &nl) || isDialError(err)
}
