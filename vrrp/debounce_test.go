package vrrp

import (
	"testing"
	"time"
)

// fakeTimers records AfterFunc calls so a test fires them by hand.
type fakeTimers struct {
	fns     []func()
	stopped []bool
}

type fakeTimer struct {
	ft *fakeTimers
	i  int
}

func (t fakeTimer) Stop() bool { t.ft.stopped[t.i] = true; return true }

func (ft *fakeTimers) afterFunc(_ time.Duration, f func()) interface{ Stop() bool } {
	ft.fns = append(ft.fns, f)
	ft.stopped = append(ft.stopped, false)
	return fakeTimer{ft, len(ft.fns) - 1}
}

// fire runs the last armed timer unless it was stopped.
func (ft *fakeTimers) fire() {
	i := len(ft.fns) - 1
	if i >= 0 && !ft.stopped[i] {
		ft.fns[i]()
	}
}

func TestLinkDebouncer(t *testing.T) {
	type ev struct {
		up   bool
		fire bool // fire the pending timer after this change
	}
	cases := []struct {
		name     string
		down, up time.Duration
		events   []ev
		want     []bool
	}{
		{"first state reported at once", time.Second, time.Second, []ev{{up: true}}, []bool{true}},
		{"down after the delay", time.Second, time.Second, []ev{{up: true}, {up: false, fire: true}}, []bool{true, false}},
		{"flap shorter than the delay is ignored", time.Second, time.Second, []ev{{up: true}, {up: false}, {up: true, fire: true}}, []bool{true}},
		{"up needs the up delay", 0, time.Second, []ev{{up: true}, {up: false}, {up: true}}, []bool{true, false}},
		{"up after the up delay", 0, time.Second, []ev{{up: true}, {up: false}, {up: true, fire: true}}, []bool{true, false, true}},
		{"no delays: every change at once", 0, 0, []ev{{up: false}, {up: true}, {up: false}}, []bool{false, true, false}},
		{"repeated state reports nothing", 0, 0, []ev{{up: true}, {up: true}}, []bool{true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []bool
			ft := &fakeTimers{}
			d := newLinkDebouncer(c.down, c.up, func(up bool) { got = append(got, up) })
			d.afterFunc = ft.afterFunc
			for _, e := range c.events {
				d.changed(e.up)
				if e.fire {
					ft.fire()
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("reports %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("reports %v, want %v", got, c.want)
				}
			}
		})
	}
}
