package vrrp

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kdcha/kdcha/internal/netnstest"
)

// timedTransport records the longest gap between two adverts received.
type timedTransport struct {
	Transport
	mu      sync.Mutex
	last    time.Time
	maxGap  time.Duration
	counted bool // gaps count only once counting starts
}

func (w *timedTransport) Receive() (Received, error) {
	r, err := w.Transport.Receive()
	if err == nil && r.Packet.Priority != 0 {
		now := time.Now()
		w.mu.Lock()
		if w.counted && !w.last.IsZero() {
			w.maxGap = max(w.maxGap, now.Sub(w.last))
		}
		w.last = now
		w.mu.Unlock()
	}
	return r, err
}

func (w *timedTransport) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.counted, w.last, w.maxGap = true, time.Time{}, 0
}

func (w *timedTransport) gap() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxGap
}

// soakNode is an instance started for the soak with a transition counter.
type soakNode struct {
	inst        *Instance
	tr          *timedTransport
	transitions atomic.Int64
}

func startSoakNode(t *testing.T, n netnstest.Node, cfg InstanceConfig, rt int) *soakNode {
	t.Helper()
	s := &soakNode{}
	if err := n.Do(func() (err error) {
		s.inst, err = Open(cfg, InstanceDeps{RealtimePriority: rt, Log: testLogger(t).With("node", cfg.Name),
			OnEvent: func(InstanceEvent) { s.transitions.Add(1) }})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.tr = &timedTransport{Transport: s.inst.t}
	s.inst.t = s.tr
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.inst.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	})
	return s
}

// TestSoakLoadedHost measures spurious transitions of a master (150) and a
// backup (100) while the host is overloaded: stress-ng --cpu 4 on every
// core plus GOMAXPROCS goroutines spinning in this process (a KDC at
// capacity), with the protocol threads at the normal policy and at
// SCHED_RR. Long: it runs only with KDCHA_SOAK=1 (KDCHA_SOAK_SECONDS per
// case, default 60). KDCHA_SOAK_NICE renices the process first;
// KDCHA_SOAK_LOAD=spin or stress keeps only one of the two loads, to tell
// which one hurts. Figures are in vrrp/README.md.
func TestSoakLoadedHost(t *testing.T) {
	if os.Getenv("KDCHA_SOAK") != "1" {
		t.Skip("soak test: set KDCHA_SOAK=1 (takes 4 x KDCHA_SOAK_SECONDS, default 60)")
	}
	if _, err := exec.LookPath("stress-ng"); err != nil {
		t.Skip("needs stress-ng (Debian package stress-ng)")
	}
	secs := 60
	if s := os.Getenv("KDCHA_SOAK_SECONDS"); s != "" {
		var err error
		if secs, err = strconv.Atoi(s); err != nil || secs < 1 {
			t.Fatalf("KDCHA_SOAK_SECONDS=%q", s)
		}
	}
	if s := os.Getenv("KDCHA_SOAK_NICE"); s != "" {
		// As systemd's Nice= does for the agent: every thread of this
		// process (Linux nice values are per thread; new ones inherit).
		nice, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("KDCHA_SOAK_NICE=%q", s)
		}
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			tid, _ := strconv.Atoi(task.Name())
			if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err != nil {
				t.Fatalf("nice %d: %v", nice, err)
			}
		}
	}
	for _, interval := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
		for _, rt := range []int{0, 10} {
			t.Run(interval.String()+"/rt"+strconv.Itoa(rt), func(t *testing.T) {
				lan := netnstest.NewLAN(t, 2)
				cfgA, cfgB := testInstanceConfig("A", 150), testInstanceConfig("B", 100)
				cfgA.AdvertInterval, cfgB.AdvertInterval = interval, interval
				a := startSoakNode(t, lan[0], cfgA, rt)
				b := startSoakNode(t, lan[1], cfgB, rt)
				for start := time.Now(); a.inst.Status().State != StateMaster || b.inst.Status().State != StateBackup; time.Sleep(10 * time.Millisecond) {
					if time.Since(start) > 5*time.Second {
						t.Fatalf("no election: A %v, B %v", a.inst.Status().State, b.inst.Status().State)
					}
				}
				before := a.transitions.Load() + b.transitions.Load()
				b.tr.start()

				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+10)*time.Second)
				defer cancel()
				workers := "4"
				if os.Getenv("KDCHA_SOAK_LOAD") == "spin" {
					workers = "0" // diagnosis: the in-process load only
				}
				stress := exec.CommandContext(ctx, "stress-ng", "--cpu", workers, "--cpu-load", map[string]string{"4": "100", "0": "0"}[workers], "--timeout", strconv.Itoa(secs)+"s", "--quiet")
				if err := stress.Start(); err != nil {
					t.Fatal(err)
				}
				var stop atomic.Bool
				var spin sync.WaitGroup
				spinners := runtime.GOMAXPROCS(0)
				if os.Getenv("KDCHA_SOAK_LOAD") == "stress" {
					spinners = 0 // diagnosis: the other processes' load only
				}
				for range spinners {
					spin.Go(func() {
						for !stop.Load() {
						}
					})
				}
				err := stress.Wait()
				stop.Store(true)
				spin.Wait()
				if err != nil {
					t.Fatalf("stress-ng: %v", err)
				}
				n := a.transitions.Load() + b.transitions.Load() - before
				t.Logf("adverts every %v, realtime priority %d, %ds under load: %d spurious transitions, longest gap between adverts at the backup %v (master down interval %v)",
					interval, rt, secs, n, b.tr.gap().Round(time.Millisecond), masterDownInterval(Version3, 100, interval))
			})
		}
	}
}
