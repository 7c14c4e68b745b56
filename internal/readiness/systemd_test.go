package readiness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listenNotify stands in for systemd: a unixgram socket named by
// NOTIFY_SOCKET (a path in a temporary directory, or "@name" for an
// abstract socket), and a reader of the datagrams it receives.
func listenNotify(t *testing.T, name string) func() string {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	return func() string {
		t.Helper()
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(buf[:n])
	}
}

func TestNotifierProtocol(t *testing.T) {
	read := listenNotify(t, filepath.Join(t.TempDir(), "notify"))
	t.Setenv("WATCHDOG_USEC", "2000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))

	clk := newFakeClock()
	s := New(Options{Now: clk.Now})
	kdc := s.Condition(KDCListening, "not bound yet")
	loop := s.Loop("vrrp:VI_1", 3*time.Second)
	ticks := make(chan time.Time)
	period := make(chan time.Duration, 1)
	n, err := NewNotifier(s, NotifierOptions{Ticker: func(d time.Duration) (<-chan time.Time, func()) {
		period <- d
		return ticks, func() {}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	expect := func(step, want string) {
		t.Helper()
		if got := read(); got != want {
			t.Errorf("%s: got %q, want %q", step, got, want)
		}
	}
	expect("start", "STATUS=waiting for kdc_listening (not bound yet)")
	if d := <-period; d != time.Second {
		t.Errorf("watchdog ticker every %v, want half of WatchdogSec 2s", d)
	}
	kdc.Set("listening")
	expect("first ready", "READY=1\nSTATUS=ready")
	ticks <- clk.Now()
	expect("watchdog tick", "WATCHDOG=1")

	clk.Advance(4 * time.Second)
	ticks <- clk.Now()
	expect("tick with a stalled loop (no WATCHDOG=1)", "STATUS=stalled: vrrp:VI_1")
	loop.Beat()
	ticks <- clk.Now()
	expect("tick after the loop beat again (no second READY=1)", "STATUS=ready\nWATCHDOG=1")

	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	before := ts.Nano() / 1000
	n.Reloading()
	got := read()
	var usec int64
	if _, err := fmt.Sscanf(got, "RELOADING=1\nMONOTONIC_USEC=%d\nSTATUS=reloading configuration", &usec); err != nil {
		t.Errorf("reloading: %q: %v", got, err)
	}
	if usec < before || usec > before+5_000_000 {
		t.Errorf("MONOTONIC_USEC=%d, clock read %d just before", usec, before)
	}
	n.Reloaded(nil)
	expect("reloaded", "READY=1\nSTATUS=ready")
	n.Reloaded(errors.New("vrrp.instances[0].priority: must be 1..255\nsecond line"))
	expect("failed reload", "READY=1\nSTATUS=reload failed, old configuration kept: vrrp.instances[0].priority: must be 1..255; ready")

	n.Stopping()
	expect("stopping", "STOPPING=1\nSTATUS=stopping")
	kdc.Clear("closed")
	ticks <- clk.Now()
	expect("tick while stopping: only the watchdog", "WATCHDOG=1")
}

func TestNotifierReloadBeforeReadyIsNotReady(t *testing.T) {
	read := listenNotify(t, filepath.Join(t.TempDir(), "notify"))
	t.Setenv("WATCHDOG_USEC", "")
	s := New(Options{})
	s.Condition(ReplicaCaughtUp, "applied 0 of 3")
	n, err := NewNotifier(s, NotifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Reloaded(nil)
	if got, want := read(), "STATUS=waiting for replica_caught_up (applied 0 of 3)"; got != want {
		t.Errorf("reload while starting sent %q, want %q (no READY=1)", got, want)
	}
}

func TestNotifierAbstractSocket(t *testing.T) {
	read := listenNotify(t, fmt.Sprintf("@kdcha-readiness-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	n, err := NewNotifier(New(Options{}), NotifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Stopping()
	if got := read(); !strings.HasPrefix(got, "STOPPING=1\n") {
		t.Errorf("abstract socket got %q", got)
	}
}

func TestNotifierWatchdogForAnotherPID(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "notify"))
	t.Setenv("WATCHDOG_USEC", "2000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()+1))
	n, err := NewNotifier(New(Options{}), NotifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Watchdog() != 0 {
		t.Errorf("watchdog %v for a WATCHDOG_PID that is not us, want off", n.Watchdog())
	}
	t.Setenv("WATCHDOG_USEC", "soon")
	if _, err := NewNotifier(New(Options{}), NotifierOptions{}); err == nil {
		t.Error("malformed WATCHDOG_USEC accepted")
	}
}

func TestNotifierOutsideSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n, err := NewNotifier(New(Options{}), NotifierOptions{Ticker: func(time.Duration) (<-chan time.Time, func()) {
		t.Error("watchdog ticker started without NOTIFY_SOCKET")
		return nil, func() {}
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Returns at once rather than blocking until the context ends.
	if err := n.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.Stopping()
}
