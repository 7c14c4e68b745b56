package kdc

import (
	"testing"
	"time"
)

// snap builds a one-listener snapshot at t0+at.
func snap(at time.Duration, completed uint64, inFlight int, oldest time.Duration) Progress {
	l := ListenerProgress{Transport: "udp", Addr: "127.0.0.1:88", Completed: completed, InFlight: inFlight,
		Received: completed + uint64(inFlight), Readers: 2}
	if inFlight > 0 {
		l.OldestStart = t0.Add(oldest)
	}
	return Progress{At: t0.Add(at), Serving: true, Listeners: []ListenerProgress{l}}
}

func TestStallDetector(t *testing.T) {
	const ms = time.Millisecond
	type step struct {
		p       Progress
		stalled bool
		forDur  time.Duration
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"idle for long is not stalled", []step{
			{snap(0, 10, 0, 0), false, 0},
			{snap(10*time.Second, 10, 0, 0), false, 0},
			{snap(time.Hour, 10, 0, 0), false, 0},
		}},
		{"busy: always work pending, completions keep coming", []step{
			{snap(0, 100, 8, 0), false, 0},
			{snap(200*ms, 5000, 8, 199*ms), false, 0},
			{snap(400*ms, 9000, 8, 399*ms), false, 0},
			{snap(1000*ms, 20000, 8, 999*ms), false, 0},
		}},
		{"busy with one long request: completions still count as progress", []step{
			{snap(0, 100, 2, 0), false, 0},
			{snap(300*ms, 400, 2, 0), false, 0},
			{snap(600*ms, 700, 2, 0), false, 0},
		}},
		{"hung: pending, nothing completes", []step{
			{snap(0, 100, 0, 0), false, 0},
			{snap(100*ms, 100, 1, 50*ms), false, 50 * ms},
			{snap(299*ms, 100, 2, 50*ms), false, 249 * ms},
			{snap(300*ms, 100, 2, 50*ms), true, 250 * ms},
			{snap(900*ms, 100, 2, 50*ms), true, 850 * ms},
		}},
		{"request after a long idle period is timed from its start", []step{
			{snap(0, 100, 0, 0), false, 0},
			{snap(time.Hour, 100, 1, time.Hour-10*ms), false, 10 * ms},
			{snap(time.Hour+240*ms, 100, 1, time.Hour-10*ms), true, 250 * ms},
		}},
		{"pending since before the first snapshot: timed from the first snapshot", []step{
			{snap(time.Second, 100, 1, 0), false, 0},
			{snap(time.Second+249*ms, 100, 1, 0), false, 249 * ms},
			{snap(time.Second+250*ms, 100, 1, 0), true, 250 * ms},
		}},
		{"completion resets the clock, clearing restores", []step{
			{snap(0, 100, 1, 0), false, 0},
			{snap(400*ms, 100, 1, 0), true, 400 * ms},
			{snap(500*ms, 101, 1, 450*ms), false, 0}, // completed at some time in (400, 500]: timed from 500
			{snap(600*ms, 105, 0, 0), false, 0},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := StallDetector{Threshold: 250 * ms}
			for i, s := range tc.steps {
				got := d.Observe(s.p)
				if got.Stalled != s.stalled || got.For != s.forDur {
					t.Fatalf("step %d: got %+v, want stalled=%v for=%s", i, got, s.stalled, s.forDur)
				}
			}
		})
	}
}

// A listener that stops completing is stalled even while another one
// progresses: two stuck UDP readers leave every UDP client unanswered.
func TestStallDetectorPerListener(t *testing.T) {
	d := StallDetector{}
	at := func(ms int, udpDone, tcpDone uint64) Progress {
		return Progress{At: t0.Add(time.Duration(ms) * time.Millisecond), Listeners: []ListenerProgress{
			{Transport: "udp", Addr: "127.0.0.1:88", Completed: udpDone, InFlight: 2, OldestStart: t0},
			{Transport: "tcp", Addr: "127.0.0.1:88", Completed: tcpDone, InFlight: 1, OldestStart: t0.Add(time.Duration(ms) * time.Millisecond)},
		}}
	}
	d.Observe(at(0, 5, 5))
	got := d.Observe(at(int(DefaultStallThreshold.Milliseconds()), 5, 500))
	if !got.Stalled || got.Listener != "udp 127.0.0.1:88" || got.InFlight != 2 {
		t.Fatalf("got %+v, want the UDP listener stalled", got)
	}
	if want := "kdc udp 127.0.0.1:88: 2 request(s) in flight, none completed for 250ms (stalled)"; got.String() != want {
		t.Fatalf("String() = %q, want %q", got.String(), want)
	}
}
