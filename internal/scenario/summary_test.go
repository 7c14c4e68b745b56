package scenario

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ok := func(start, end int) Attempt { return Attempt{Start: at(start), End: at(end), OK: true} }
	bad := func(start, end int) Attempt { return Attempt{Start: at(start), End: at(end)} }
	add := func(node string, ms int) VIPEvent { return VIPEvent{Node: node, At: at(ms), Added: true} }
	del := func(node string, ms int) VIPEvent { return VIPEvent{Node: node, At: at(ms)} }
	for _, tt := range []struct {
		name     string
		attempts []Attempt
		events   []VIPEvent
		want     Summary
	}{
		{
			name:     "crash: one move, gap from the last success before the fault",
			attempts: []Attempt{ok(-200, -150), ok(-100, -60), bad(0, 500), bad(100, 600), ok(400, 420), ok(500, 510)},
			events:   []VIPEvent{del("n1", -5000), add("n1", -5000), add("n2", 380)},
			want:     Summary{TookOver: "n2", VIPMove: 380 * time.Millisecond, Moves: 1, Outage: 480 * time.Millisecond, Attempts: 4, Failed: 2, Slowest: 500 * time.Millisecond},
		},
		{
			name:     "preempt back counts as a second move; re-adding on the holder does not",
			attempts: []Attempt{ok(0, 10), ok(100, 110), ok(200, 900)},
			events:   []VIPEvent{add("n1", 50), add("n2", 100), del("n1", 101), add("n1", 700)},
			want:     Summary{TookOver: "n2", VIPMove: 100 * time.Millisecond, Moves: 2, Outage: 790 * time.Millisecond, Attempts: 3, Slowest: 700 * time.Millisecond},
		},
		{
			name:     "nothing after the fault: outage is the window",
			attempts: []Attempt{ok(-100, -50), bad(10, 510)},
			want:     Summary{Outage: 1050 * time.Millisecond, Attempts: 1, Failed: 1, Slowest: 500 * time.Millisecond},
		},
		{
			name:     "failing again after a success: the gap runs to the window's end",
			attempts: []Attempt{ok(-100, -50), ok(100, 120), bad(200, 700), bad(300, 800)},
			want:     Summary{Outage: 880 * time.Millisecond, Attempts: 3, Failed: 2, Slowest: 500 * time.Millisecond},
		},
		{
			name:     "events and attempts after the window are ignored",
			attempts: []Attempt{ok(0, 20), ok(100, 120), bad(1100, 1600)},
			events:   []VIPEvent{add("n3", 1001)},
			want:     Summary{Outage: 100 * time.Millisecond, Attempts: 2, Slowest: 20 * time.Millisecond},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summarize(t0, at(1000), "n1", tt.attempts, tt.events); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
