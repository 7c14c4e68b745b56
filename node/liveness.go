package node

import (
	"sync/atomic"
	"time"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/internal/readiness"
)

// The loops whose heartbeats feed systemd's watchdog (Options.Liveness):
// each VRRP instance's protocol loop and each health check's loop. Not the
// KDC workers: a hung KDC must cost the node its VIP (the kdc-progress and
// kinit checks fail, and their loops keep beating), not get the agent
// restarted by systemd, which would drop the VIP without a resignation.
const (
	// vrrpBeatInterval is how often an idle VRRP protocol loop beats.
	vrrpBeatInterval = time.Second
	// loopBudget is the least silence that makes a loop count as stuck:
	// several beats missed, so that a loaded host's scheduling delays do
	// not get a working agent restarted (systemd's WatchdogSec is 10 s in
	// deploy/kdcha.service, pinged every 5 s while alive).
	loopBudget = 5 * time.Second
)

// healthBudget is a check loop's budget: it beats once per run, and two
// runs start at most Interval + Timeout apart while probes honour their
// timeout; twice that, or loopBudget if more.
func healthBudget(c health.Check) time.Duration {
	return max(loopBudget, 2*(c.Interval+c.Timeout))
}

// heartbeat is one loop's readiness.Loop, declared when the loop starts
// running and stopped when it returns: a part that is opened but not yet
// running (VRRP waits for the first health verdict) is not expected to
// beat, and one that ended on purpose (a reload, a stop) no longer counts.
// With no Set (Options.Liveness nil) it does nothing.
type heartbeat struct {
	set    *readiness.Set
	name   string
	budget time.Duration
	loop   atomic.Pointer[readiness.Loop]
}

// Beat records progress of the running loop; before start or after stop
// it does nothing.
func (b *heartbeat) Beat() {
	if l := b.loop.Load(); l != nil {
		l.Beat()
	}
}

func (b *heartbeat) start() {
	if b.set != nil {
		b.loop.Store(b.set.Loop(b.name, b.budget))
	}
}

func (b *heartbeat) stop() {
	if l := b.loop.Swap(nil); l != nil {
		l.Stop()
	}
}
