package scenario

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Client loop timing, as issue 9 measures: two loops, each starting a
// kinit every 100 ms (when its previous one has ended), staggered by half
// a period. ClientTimeout is the limit per attempt (MIT would wait
// 1 s and retransmit: an attempt slower than that already is a visible
// stall).
const (
	ClientPeriod  = 100 * time.Millisecond
	ClientTimeout = 500 * time.Millisecond
	clientLoops   = 2
)

// Client runs the kinit loops through the VIP and records every attempt.
type Client struct {
	mu       sync.Mutex
	attempts []Attempt
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// StartClient starts the loops, each attempt killed after timeout; they
// run until Stop or the test's end.
func (c *Cluster) StartClient(timeout time.Duration) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	cl := &Client{cancel: cancel}
	for loop := range clientLoops {
		cl.wg.Add(1)
		go func() {
			defer cl.wg.Done()
			// Stagger the loops by half a period.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(loop) * ClientPeriod / clientLoops):
			}
			tick := time.NewTicker(ClientPeriod)
			defer tick.Stop()
			for {
				start := time.Now()
				err := c.Kinit(ctx, timeout)
				if ctx.Err() != nil {
					return // killed by Stop: not a result
				}
				cl.mu.Lock()
				cl.attempts = append(cl.attempts, Attempt{Loop: loop, Start: start, End: time.Now(), OK: err == nil})
				cl.mu.Unlock()
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	c.t.Cleanup(cl.Stop)
	return cl
}

// Stop ends the loops and waits for them.
func (cl *Client) Stop() {
	cl.cancel()
	cl.wg.Wait()
}

// Attempts returns the attempts recorded so far.
func (cl *Client) Attempts() []Attempt {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return slices.Clone(cl.attempts)
}

// WaitSuccessAfter waits until an attempt started at or after t0 got a
// ticket, and returns its end.
func (cl *Client) WaitSuccessAfter(t0 time.Time, timeout time.Duration) (time.Time, bool) {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, a := range cl.Attempts() {
			if a.OK && !a.Start.Before(t0) {
				return a.End, true
			}
		}
	}
	return time.Time{}, false
}
