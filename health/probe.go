package health

import (
	"context"
	"errors"
	"time"
)

// Probe is one health check. Run must return by the time ctx is done (the
// runner gives each run a deadline of the check's timeout) and must never
// panic on what it receives from the network.
type Probe interface {
	Run(ctx context.Context) Result
}

// Result is the outcome of one probe run.
type Result struct {
	// Start is when the run began.
	Start time.Time
	// Duration is how long the run took.
	Duration time.Duration
	// Skipped is set when the run did not happen because the previous one is
	// still going (keepalived: "skipping run"); the tracker ignores it.
	Skipped bool
	// Err is nil for a healthy run; otherwise it wraps a *CheckError.
	Err error
}

// OK reports whether the run succeeded.
func (r Result) OK() bool { return !r.Skipped && r.Err == nil }

// Kind classifies a failed run; KindNone for a healthy or skipped one.
func (r Result) Kind() FailureKind {
	if r.Err == nil {
		return KindNone
	}
	var ce *CheckError
	if errors.As(r.Err, &ce) {
		return ce.Kind
	}
	return KindOther
}
