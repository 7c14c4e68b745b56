package kdc

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// FaultMode is a fault injected into a Server's request handling.
type FaultMode string

// Fault modes.
const (
	// FaultNone handles requests normally.
	FaultNone FaultMode = "none"
	// FaultHang reads requests and holds them, unanswered, until the
	// fault is cleared (then they are answered): what a KDC stuck on a
	// lock or a blocked log write looks like from outside, with the
	// process, its sockets and the agent alive.
	FaultHang FaultMode = "hang"
	// FaultSlow adds a fixed latency before each request is handled: a
	// slow but working KDC.
	FaultSlow FaultMode = "slow"
)

// MaxFaultDelay bounds FaultSlow's added latency: beyond a few seconds
// every client has given up, which FaultHang already shows.
const MaxFaultDelay = 30 * time.Second

// Faults holds the fault injected into the request handling of the Servers
// it is given to (WithFaults). It exists only when the operator enabled
// fault injection; a Server without one pays a nil check per request. The
// zero value injects nothing; it is safe for concurrent use.
type Faults struct {
	mu    sync.Mutex // serializes Set
	state atomic.Pointer[faultState]
}

// faultState is one fault; a new value replaces it on every change, so
// the request path reads it with one atomic load.
type faultState struct {
	mode  FaultMode
	delay time.Duration
	// cleared is closed when this state is replaced: held requests go on.
	cleared chan struct{}
}

// ValidateFault checks a fault and its delay (FaultSlow's latency, in
// (0, MaxFaultDelay]; 0 for the other modes).
func ValidateFault(mode FaultMode, delay time.Duration) error {
	switch mode {
	case FaultNone, FaultHang:
		if delay != 0 {
			return fmt.Errorf("kdc fault %q takes no delay (got %s)", mode, delay)
		}
	case FaultSlow:
		if delay <= 0 || delay > MaxFaultDelay {
			return fmt.Errorf("kdc fault %q: delay must be in (0, %s], got %s", mode, MaxFaultDelay, delay)
		}
	default:
		return fmt.Errorf("kdc fault %q: unknown (want %q, %q or %q)", mode, FaultNone, FaultHang, FaultSlow)
	}
	return nil
}

// Set injects mode (delay is FaultSlow's latency and must be 0 otherwise).
// Requests held by a previous FaultHang go on when the fault changes.
func (f *Faults) Set(mode FaultMode, delay time.Duration) error {
	if err := ValidateFault(mode, delay); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	next := &faultState{mode: mode, delay: delay, cleared: make(chan struct{})}
	if mode == FaultNone {
		next = nil
	}
	if prev := f.state.Swap(next); prev != nil {
		close(prev.cleared)
	}
	return nil
}

// State returns the fault in force and its delay.
func (f *Faults) State() (FaultMode, time.Duration) {
	st := f.state.Load()
	if st == nil {
		return FaultNone, 0
	}
	return st.mode, st.delay
}

// ServerOption customises a Server.
type ServerOption func(*Server)

// WithFaults lets f hang or slow the Server's request handling. Pass it
// only when the operator enabled fault injection (node.fault_injection).
func WithFaults(f *Faults) ServerOption { return func(s *Server) { s.faults = f } }

// faulty applies the injected fault, if any, then handles req. A request
// held or delayed when the server stops is dropped.
func (s *Server) faulty(req Request) []byte {
	if s.faults == nil {
		return s.handle(req)
	}
	st := s.faults.state.Load()
	switch {
	case st == nil:
	case st.mode == FaultHang:
		select {
		case <-st.cleared:
		case <-s.stopped:
			return nil
		}
	case st.mode == FaultSlow:
		t := time.NewTimer(st.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-st.cleared:
		case <-s.stopped:
			return nil
		}
	}
	return s.handle(req)
}
