package health

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var (
	t0      = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	errProb = failure(KindTimeout, "as-req", errors.New("no reply"))
)

// results turns "+-s" into ok, failed and skipped results.
func results(seq string) []Result {
	var out []Result
	for _, c := range seq {
		switch c {
		case '+':
			out = append(out, Result{})
		case '-':
			out = append(out, Result{Err: errProb})
		case 's':
			out = append(out, Result{Skipped: true})
		}
	}
	return out
}

// states runs seq through a tracker and returns the state after each step
// as "I", "U" or "D", plus the final status.
func states(p TrackParams, seq string) (string, Status) {
	tr := NewTracker("kinit", p, t0)
	var b strings.Builder
	var st Status
	for i, r := range results(seq) {
		st, _ = tr.Observe(r, t0.Add(time.Duration(i+1)*time.Second))
		b.WriteString(strings.ToUpper(st.State.String()[:1]))
	}
	return b.String(), st
}

func TestTrackerTransitions(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    TrackParams
		seq  string
		want string
	}{
		{"rise1 fall1: every result flips", TrackParams{Rise: 1, Fall: 1}, "+-+-", "UDUD"},
		{"init: one success is enough", TrackParams{Rise: 3, Fall: 3}, "+", "U"},
		{"init: one failure is down", TrackParams{Rise: 3, Fall: 3}, "-", "D"},
		{"init_fail: rise successes needed", TrackParams{Rise: 3, Fall: 3, InitFail: true}, "+++", "DDU"},
		{"fall 3 needs 3 in a row", TrackParams{Rise: 2, Fall: 3}, "+---", "UUUD"},
		{"a success resets the fall count", TrackParams{Rise: 2, Fall: 3}, "+--+--", "UUUUUU"},
		{"rise 2 needs 2 in a row", TrackParams{Rise: 2, Fall: 1}, "+-+-++", "UDDDDU"},
		{"a failure resets the rise count", TrackParams{Rise: 3, Fall: 1, InitFail: true}, "++-+++", "DDDDDU"},
		{"skipped runs are ignored", TrackParams{Rise: 1, Fall: 2}, "+-s-", "UUUD"},
		{"skipped before any result stays init", TrackParams{Rise: 2, Fall: 2}, "ss", "II"},
		{"rise 1 fall 5", TrackParams{Rise: 1, Fall: 5}, "+----+-----", "UUUUUUUUUUD"},
		{"zero rise and fall act as 1", TrackParams{}, "+-", "UD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := states(tc.p, tc.seq)
			if got != tc.want {
				t.Errorf("states after %q = %s, want %s", tc.seq, got, tc.want)
			}
		})
	}
}

func TestTrackerWeight(t *testing.T) {
	for _, tc := range []struct {
		weight    int
		state     string // sequence bringing the tracker to the state
		wantDelta int
		wantFault bool
	}{
		{weight: -50, state: "", wantDelta: -50},
		{weight: -50, state: "+", wantDelta: 0},
		{weight: -50, state: "+-", wantDelta: -50},
		{weight: 30, state: "", wantDelta: 0},
		{weight: 30, state: "+", wantDelta: 30},
		{weight: 30, state: "+-", wantDelta: 0},
		{weight: 0, state: "", wantFault: true},
		{weight: 0, state: "+", wantFault: false},
		{weight: 0, state: "+-", wantFault: true},
		{weight: -253, state: "-", wantDelta: -253},
		{weight: 253, state: "+", wantDelta: 253},
	} {
		t.Run(fmt.Sprintf("weight %d after %q", tc.weight, tc.state), func(t *testing.T) {
			tr := NewTracker("c", TrackParams{Rise: 1, Fall: 1, Weight: tc.weight}, t0)
			st := tr.Status()
			for _, r := range results(tc.state) {
				st, _ = tr.Observe(r, t0)
			}
			if st.Delta != tc.wantDelta || st.Fault != tc.wantFault {
				t.Errorf("delta %d fault %v, want %d %v", st.Delta, st.Fault, tc.wantDelta, tc.wantFault)
			}
		})
	}
}

// refModel is keepalived's rule stated declaratively, independent of the
// counter Tracker uses: up after rise consecutive successes, down after fall
// consecutive failures, and from the initial state the first result decides
// (unless init_fail, which starts down).
type refModel struct {
	p           TrackParams
	state       State
	succ, fails int
}

func (m *refModel) observe(ok bool) {
	if ok {
		m.succ++
		m.fails = 0
	} else {
		m.fails++
		m.succ = 0
	}
	switch {
	case m.state == StateInit && ok, m.state == StateDown && m.succ >= max(m.p.Rise, 1):
		m.state = StateUp
	case m.state == StateInit && !ok, m.state == StateUp && m.fails >= max(m.p.Fall, 1):
		m.state = StateDown
	}
}

// TestTrackerMatchesModel checks every rise/fall/weight/init_fail
// combination against the reference model over all result sequences up to
// 8 runs long, including the priority contribution and the changed flag.
func TestTrackerMatchesModel(t *testing.T) {
	const maxLen = 8
	for rise := 1; rise <= 4; rise++ {
		for fall := 1; fall <= 4; fall++ {
			for _, weight := range []int{-253, -10, 0, 10, 253} {
				for _, initFail := range []bool{false, true} {
					p := TrackParams{Rise: rise, Fall: fall, Weight: weight, InitFail: initFail}
					for bits := 0; bits < 1<<maxLen; bits++ {
						checkAgainstModel(t, p, bits, maxLen)
					}
				}
			}
		}
	}
}

func checkAgainstModel(t *testing.T, p TrackParams, bits, n int) {
	t.Helper()
	tr := NewTracker("c", p, t0)
	m := &refModel{p: p, state: StateInit}
	if p.InitFail {
		m.state = StateDown
	}
	for i := range n {
		ok := bits&(1<<i) != 0
		prev := m.state
		m.observe(ok)
		r := Result{}
		if !ok {
			r.Err = errProb
		}
		now := t0.Add(time.Duration(i) * time.Second)
		st, changed := tr.Observe(r, now)
		if st.State != m.state || changed != (prev != m.state) {
			t.Fatalf("%+v seq %0*b step %d: state %v changed %v, model %v changed %v",
				p, n, bits, i, st.State, changed, m.state, prev != m.state)
		}
		if changed && !st.Since.Equal(now) {
			t.Fatalf("%+v: Since %v not updated to %v on change", p, st.Since, now)
		}
		up := m.state == StateUp
		wantDelta := 0
		if (p.Weight > 0 && up) || (p.Weight < 0 && !up) {
			wantDelta = p.Weight
		}
		if st.Delta != wantDelta || st.Fault != (p.Weight == 0 && !up) {
			t.Fatalf("%+v seq %0*b step %d: delta %d fault %v, want %d %v",
				p, n, bits, i, st.Delta, st.Fault, wantDelta, p.Weight == 0 && !up)
		}
	}
}

func TestTrackerStatusRecordsFailures(t *testing.T) {
	tr := NewTracker("kinit", TrackParams{Rise: 1, Fall: 3, Weight: -10}, t0)
	tr.Observe(Result{}, t0.Add(time.Second))
	st, _ := tr.Observe(Result{Err: errProb}, t0.Add(2*time.Second))
	st, _ = tr.Observe(Result{Err: errProb}, t0.Add(3*time.Second))
	if st.Failures != 2 || !errors.Is(st.LastErr, errProb) || !st.LastRun.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("after 2 failures: %+v", st)
	}
	if !st.Since.Equal(t0.Add(time.Second)) {
		t.Errorf("Since = %v, want the up transition at %v", st.Since, t0.Add(time.Second))
	}
	st, _ = tr.Observe(Result{}, t0.Add(4*time.Second))
	if st.Failures != 0 || st.LastErr != nil {
		t.Errorf("a success must clear failures: %+v", st)
	}
}
