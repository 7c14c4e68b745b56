package kdc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kdcha/kdcha/health"
)

// ProgressProbe is a health.Probe that fails while the Server's request
// handling is stalled (StallDetector) or while the Server is not serving.
// It reads counters only, so a run returns in microseconds whatever state
// the KDC is in; it complements the AS exchange probe, which remains the
// end-to-end proof that clients get tickets.
type ProgressProbe struct {
	server *Server

	mu       sync.Mutex
	detector StallDetector
}

// NewProgressProbe returns a probe of s's progress; threshold 0 means
// DefaultStallThreshold.
func NewProgressProbe(s *Server, threshold time.Duration) *ProgressProbe {
	return &ProgressProbe{server: s, detector: StallDetector{Threshold: threshold}}
}

// Default schedule of the progress check (NewProgressCheck): a run costs
// microseconds, so it runs often; one stalled verdict is enough to go
// down because the threshold already is the debounce. Detection of a hang
// takes at most threshold + interval (350 ms by default).
const (
	ProgressCheckInterval = 100 * time.Millisecond
	ProgressCheckTimeout  = 50 * time.Millisecond
)

// NewProgressCheck returns the progress probe of s as a health check named
// "kdc-progress", every ProgressCheckInterval, going down after one
// stalled run and up after two good ones, with the kinit check's default
// weight (-253): a hung KDC must lose the VIP.
func NewProgressCheck(s *Server, threshold time.Duration) health.Check {
	return health.Check{
		Name:     "kdc-progress",
		Probe:    NewProgressProbe(s, threshold),
		Interval: ProgressCheckInterval,
		Timeout:  ProgressCheckTimeout,
		Track:    health.TrackParams{Rise: 2, Fall: 1, Weight: health.DefaultKinitWeight},
	}
}

// String describes the probe for the runner's log.
func (p *ProgressProbe) String() string {
	return fmt.Sprintf("kdc request handling completes pending requests within %s", p.threshold())
}

func (p *ProgressProbe) threshold() time.Duration {
	if p.detector.Threshold > 0 {
		return p.detector.Threshold
	}
	return DefaultStallThreshold
}

// errNotServing is the failure of a probe run before Serve or after its
// shutdown began.
var errNotServing = errors.New("kdc is not serving")

// Run implements health.Probe.
func (p *ProgressProbe) Run(context.Context) health.Result {
	start := time.Now()
	p.mu.Lock() // snapshots must reach the detector in order
	snap := p.server.Progress()
	st := p.detector.Observe(snap)
	p.mu.Unlock()
	r := health.Result{Start: start}
	switch {
	case !snap.Serving:
		r.Err = &health.CheckError{Kind: health.KindNetwork, Step: "progress", Err: errNotServing}
	case st.Stalled:
		r.Err = &health.CheckError{Kind: health.KindTimeout, Step: "progress", Err: errors.New(st.String())}
	}
	r.Duration = time.Since(start)
	return r
}
