package health

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Check is a probe with its schedule and tracker settings.
type Check struct {
	// Name identifies the check in logs, reasons and metrics.
	Name string
	// Probe performs one run.
	Probe Probe
	// Interval is the time between the starts of two runs; a run longer
	// than Interval delays the next one instead of overlapping it.
	Interval time.Duration
	// Timeout bounds each run.
	Timeout time.Duration
	// Track holds rise, fall, weight and init_fail.
	Track TrackParams
}

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	// OnChange receives the Verdict once when Run starts and then every time
	// its Delta, Fault or Pending changes. Calls are serialized; it must not
	// block (hand the value to the VRRP loop through a channel or mutex).
	OnChange func(Verdict)
	// Logger receives state changes (Info/Warn) and individual failures
	// (Debug). Default slog.Default().
	Logger *slog.Logger
	// Metrics, if set, records every run.
	Metrics *Metrics
	// Heartbeat, if set, is called with the check's name by each check's
	// loop before every run: a check whose probe does not return (one that
	// ignores its context) stops beating, which the agent turns into
	// withholding systemd's watchdog ping. It must not block.
	Heartbeat func(check string)
}

// Runner runs each check at its interval with a real clock, feeds the
// trackers and publishes the aggregated Verdict. It is the edge around the
// pure Tracker and Aggregate.
type Runner struct {
	checks []Check
	opts   RunnerOptions

	mu       sync.Mutex
	trackers []*Tracker
	verdict  Verdict
}

// NewRunner returns a runner whose trackers start in their initial states.
func NewRunner(checks []Check, opts RunnerOptions) *Runner {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	now := time.Now()
	r := &Runner{checks: checks, opts: opts}
	for _, c := range checks {
		r.trackers = append(r.trackers, NewTracker(c.Name, c.Track, now))
	}
	r.verdict = Aggregate(r.statusesLocked())
	return r
}

// Run runs every check until ctx is done; the first run of each check starts
// immediately. It returns once all runs have finished.
func (r *Runner) Run(ctx context.Context) {
	for _, c := range r.checks {
		r.opts.Logger.Info("health check starting", "check", c.Name, "probe", fmt.Sprint(c.Probe),
			"interval", c.Interval, "timeout", c.Timeout, "rise", c.Track.Rise, "fall", c.Track.Fall,
			"weight", c.Track.Weight, "init_fail", c.Track.InitFail)
	}
	r.mu.Lock()
	r.publishLocked(r.verdict)
	r.mu.Unlock()
	var wg sync.WaitGroup
	for i := range r.checks {
		wg.Go(func() { r.loop(ctx, i) })
	}
	wg.Wait()
}

func (r *Runner) loop(ctx context.Context, i int) {
	c := r.checks[i]
	tick := time.NewTicker(c.Interval)
	defer tick.Stop()
	for {
		if r.opts.Heartbeat != nil {
			r.opts.Heartbeat(c.Name)
		}
		runCtx, cancel := context.WithTimeout(ctx, c.Timeout)
		res := c.Probe.Run(runCtx)
		cancel()
		if ctx.Err() != nil {
			// A run cut short by shutdown says nothing about health.
			return
		}
		r.observe(i, res, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// observe feeds one result to its tracker and republishes if needed.
func (r *Runner) observe(i int, res Result, now time.Time) {
	c := r.checks[i]
	log := r.opts.Logger.With("check", c.Name)
	if m := r.opts.Metrics; m != nil {
		m.observe(c.Name, res)
	}
	switch {
	case res.Skipped:
		log.Info("health check run skipped: previous run still going")
	case !res.OK():
		log.Debug("health check run failed", "kind", res.Kind().String(), "duration", res.Duration, "err", res.Err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	st, changed := r.trackers[i].Observe(res, now)
	if m := r.opts.Metrics; m != nil {
		m.setState(c.Name, st)
	}
	if changed {
		if st.State == StateUp {
			log.Info("health check up", "weight", st.Weight, "delta", st.Delta)
		} else {
			log.Warn("health check down", "failures", st.Failures, "weight", st.Weight,
				"delta", st.Delta, "fault", st.Fault, "err", st.LastErr)
		}
	}
	v := Aggregate(r.statusesLocked())
	prev := r.verdict
	r.verdict = v
	if v.Delta != prev.Delta || v.Fault != prev.Fault || v.Pending != prev.Pending {
		r.publishLocked(v)
	}
}

func (r *Runner) publishLocked(v Verdict) {
	if m := r.opts.Metrics; m != nil {
		m.setVerdict(v)
	}
	r.opts.Logger.Info("health verdict", "delta", v.Delta, "fault", v.Fault, "pending", v.Pending, "reason", v.Reason)
	if r.opts.OnChange != nil {
		r.opts.OnChange(v)
	}
}

// Verdict returns the current verdict, with an up-to-date Reason.
func (r *Runner) Verdict() Verdict {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.verdict
}

// Statuses returns a snapshot of every check, in configuration order, for
// status pages and the admin API.
func (r *Runner) Statuses() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.statusesLocked()
}

func (r *Runner) statusesLocked() []Status {
	out := make([]Status, len(r.trackers))
	for i, t := range r.trackers {
		out[i] = t.Status()
	}
	return out
}
