package readiness

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier reports a Set to systemd over $NOTIFY_SOCKET (sd_notify(3)):
// READY=1 the first time the Set is ready, STATUS= whenever its summary
// changes, WATCHDOG=1 every half WatchdogSec while every loop is alive
// (a stalled loop withholds it, and systemd restarts the agent once
// WatchdogSec passes), RELOADING=1 with MONOTONIC_USEC around a reload and
// STOPPING=1 at stop. Without $NOTIFY_SOCKET (not started by systemd) it
// sends nothing.
//
// The environment is left as is: notify and health scripts inherit
// NOTIFY_SOCKET, which is harmless because systemd accepts messages only
// from the main process (NotifyAccess=main, the default of Type=notify),
// and WATCHDOG_PID names the agent, not them.
type Notifier struct {
	set      *Set
	log      *slog.Logger
	enabled  bool
	watchdog time.Duration
	ticker   func(time.Duration) (<-chan time.Time, func())

	mu        sync.Mutex
	readySent bool
	status    string
	stopping  bool
	sendErr   bool
}

// NotifierOptions are a Notifier's dependencies.
type NotifierOptions struct {
	// Logger receives send failures and watchdog pings withheld; nil means
	// slog.Default().
	Logger *slog.Logger
	// Ticker starts the watchdog ticker and returns its channel and its
	// stop function; nil means time.NewTicker. Tests drive it by hand.
	Ticker func(time.Duration) (<-chan time.Time, func())
}

// NewNotifier reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID.
// It fails only on a malformed watchdog setting.
func NewNotifier(set *Set, opts NotifierOptions) (*Notifier, error) {
	wd, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return nil, err
	}
	n := &Notifier{set: set, log: opts.Logger, ticker: opts.Ticker, watchdog: wd}
	// daemon.SdNotify reads the variable again on each send; this only
	// spares Run a goroutine when there is no one to tell.
	n.enabled = os.Getenv("NOTIFY_SOCKET") != ""
	if n.log == nil {
		n.log = slog.Default()
	}
	if n.ticker == nil {
		n.ticker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	return n, nil
}

// Watchdog returns systemd's WatchdogSec for this process, 0 when off.
func (n *Notifier) Watchdog() time.Duration { return n.watchdog }

// Run reports the Set until ctx ends: once at start, on every change and
// on every watchdog tick. It returns at once when not under systemd.
func (n *Notifier) Run(ctx context.Context) error {
	if !n.enabled {
		return nil
	}
	changes := n.set.Subscribe()
	var tick <-chan time.Time
	if n.watchdog > 0 {
		c, stop := n.ticker(n.watchdog / 2)
		defer stop()
		tick = c
	}
	n.update(false)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changes:
			n.update(false)
		case <-tick:
			n.update(true)
		}
	}
}

// update sends, in one datagram, READY=1 if the Set became ready for the
// first time, STATUS= if the summary changed and, on a watchdog tick,
// WATCHDOG=1 if every loop is alive.
func (n *Notifier) update(tick bool) {
	r := n.set.Report()
	n.mu.Lock()
	defer n.mu.Unlock()
	var lines []string
	if r.Ready && !n.readySent && !n.stopping {
		lines = append(lines, daemon.SdNotifyReady)
		n.readySent = true
	}
	if s := r.Summary(); s != n.status && !n.stopping {
		lines = append(lines, "STATUS="+s)
		n.status = s
	}
	if tick {
		if r.Alive {
			lines = append(lines, daemon.SdNotifyWatchdog)
		} else {
			n.log.Warn("systemd watchdog ping withheld: a loop stopped beating", "status", r.Summary())
		}
	}
	n.sendLocked(lines...)
}

// Reloading tells systemd a configuration reload has started; call
// Reloaded when it ends. MONOTONIC_USEC is what Type=notify-reload
// (systemd 253 and later) requires to match the message to its SIGHUP.
func (n *Notifier) Reloading() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.status = "reloading configuration"
	n.sendLocked(daemon.SdNotifyReloading, strings.TrimSuffix(daemon.SdNotifyMonotonicUsec(), "\n"), "STATUS="+n.status)
}

// Reloaded ends a reload. READY=1 is sent again only if it was sent
// before (a reload during startup must not declare the node ready);
// a failed reload, which leaves the old configuration running, shows its
// error in STATUS=.
func (n *Notifier) Reloaded(err error) {
	r := n.set.Report()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopping {
		return
	}
	var lines []string
	if n.readySent {
		lines = append(lines, daemon.SdNotifyReady)
	}
	n.status = r.Summary()
	if err != nil {
		n.status = "reload failed, old configuration kept: " + firstLine(err.Error()) + "; " + n.status
	}
	n.sendLocked(append(lines, "STATUS="+n.status)...)
}

// Stopping tells systemd the agent is shutting down; later changes of the
// Set no longer update STATUS=, and READY=1 is not sent any more.
func (n *Notifier) Stopping() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopping = true
	n.status = "stopping"
	n.sendLocked(daemon.SdNotifyStopping, "STATUS="+n.status)
}

// sendLocked writes one datagram; a failure is logged once per run of
// failures, since the next tick retries anyway.
func (n *Notifier) sendLocked(lines ...string) {
	if !n.enabled || len(lines) == 0 {
		return
	}
	_, err := daemon.SdNotify(false, strings.Join(lines, "\n"))
	switch {
	case err != nil && !n.sendErr:
		n.log.Warn("systemd notification failed", "err", err)
	case err == nil && n.sendErr:
		n.log.Info("systemd notifications work again")
	}
	n.sendErr = err != nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
