package readiness

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test advances by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestEmptySetIsReadyAndAlive(t *testing.T) {
	s := New(Options{})
	if !s.Ready() || !s.Alive() {
		t.Fatalf("empty set: ready %v alive %v, want both", s.Ready(), s.Alive())
	}
	if got := s.Report().Summary(); got != "ready" {
		t.Errorf("summary %q, want ready", got)
	}
}

func TestReadyNeedsEveryCondition(t *testing.T) {
	clk := newFakeClock()
	s := New(Options{Now: clk.Now})
	kdc := s.Condition(KDCListening, "not bound yet")
	replica := s.Condition(ReplicaCaughtUp, "applied 0 of 42")
	verdict := s.Condition(FirstHealthVerdict, "no verdict yet")
	if s.Ready() {
		t.Fatal("ready with no condition met")
	}
	kdc.Set("listening on 192.0.2.1:88")
	replica.Set("applied 42 of 42")
	if s.Ready() {
		t.Fatal("ready without the first health verdict")
	}
	want := "waiting for first_health_verdict (no verdict yet)"
	if got := s.Report().Summary(); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	clk.Advance(time.Second)
	verdict.Set("up after 2 checks")
	if !s.Ready() {
		t.Fatalf("not ready with every condition met: %+v", s.Report())
	}
	replica.Clear("lost the leader")
	if s.Ready() {
		t.Fatal("still ready after a condition was cleared")
	}
	r := s.Report()
	if c := r.Conditions[1]; c.Name != ReplicaCaughtUp || c.Met || c.Reason != "lost the leader" || !c.Since.Equal(clk.Now()) {
		t.Errorf("cleared condition reported as %+v", c)
	}
	if c := r.Conditions[2]; !c.Since.Equal(clk.Now()) || c.Reason != "up after 2 checks" {
		t.Errorf("met condition reported as %+v", c)
	}
}

func TestConditionDeclaredTwiceIsOne(t *testing.T) {
	s := New(Options{})
	a := s.Condition(KDCListening, "first")
	a.Set("bound")
	b := s.Condition(KDCListening, "second")
	if a != b || len(s.Report().Conditions) != 1 || !s.Ready() {
		t.Fatalf("redeclared condition: same %v, report %+v", a == b, s.Report())
	}
}

func TestSinceChangesOnlyWithMet(t *testing.T) {
	clk := newFakeClock()
	s := New(Options{Now: clk.Now})
	c := s.Condition(ReplicaCaughtUp, "applied 0 of 9")
	start := clk.Now()
	clk.Advance(time.Second)
	c.Clear("applied 5 of 9")
	if got := s.Report().Conditions[0]; !got.Since.Equal(start) || got.Reason != "applied 5 of 9" {
		t.Errorf("a new reason alone moved since or lost the reason: %+v", got)
	}
}

func TestSilentLoopFailsLiveness(t *testing.T) {
	clk := newFakeClock()
	s := New(Options{Now: clk.Now})
	vrrp := s.Loop("vrrp:VI_1", 3*time.Second)
	s.Loop("health", 2*time.Second).Beat()
	clk.Advance(2 * time.Second) // health exactly at its budget: still alive
	if !s.Alive() {
		t.Fatalf("not alive at the budget: %+v", s.Report().Loops)
	}
	clk.Advance(time.Millisecond)
	r := s.Report()
	if r.Alive || r.Ready {
		t.Fatalf("alive %v ready %v with health silent past its budget", r.Alive, r.Ready)
	}
	if l := r.Loops[1]; l.Alive || l.Name != "health" || l.BudgetSeconds != 2 || l.SilentSeconds != 2.001 || !strings.Contains(l.Reason, "2.001s") {
		t.Errorf("silent loop reported as %+v", l)
	}
	if got, want := r.Summary(), "stalled: health"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	vrrp.Beat()
	if l := s.Report().Loops[0]; !l.Alive || l.SilentSeconds != 0 || l.Reason != "beating" {
		t.Errorf("beating loop reported as %+v", l)
	}
}

func TestLoopThatNeverBeatsGoesSilent(t *testing.T) {
	clk := newFakeClock()
	s := New(Options{Now: clk.Now})
	s.Loop("kdc", time.Second)
	clk.Advance(time.Second + time.Nanosecond)
	if s.Alive() {
		t.Fatal("a loop that never beat is alive after its budget")
	}
}

func TestStoppedLoopNoLongerCounts(t *testing.T) {
	clk := newFakeClock()
	s := New(Options{Now: clk.Now})
	l := s.Loop("vrrp:VI_2", time.Second)
	clk.Advance(time.Minute)
	l.Stop()
	if !s.Alive() || len(s.Report().Loops) != 0 {
		t.Fatalf("stopped loop still counted: %+v", s.Report())
	}
}

func TestSubscribeCoalesces(t *testing.T) {
	s := New(Options{})
	ch := s.Subscribe()
	c := s.Condition(KDCListening, "not bound")
	c.Set("bound")
	c.Set("bound") // no change: no event
	select {
	case <-ch:
	default:
		t.Fatal("no event after changes")
	}
	select {
	case <-ch:
		t.Fatal("changes not coalesced into one pending event")
	default:
	}
	c.Set("bound")
	select {
	case <-ch:
		t.Fatal("event for an update that changed nothing")
	default:
	}
}

func TestHandlers(t *testing.T) {
	clk := newFakeClock()
	s := New(Options{Now: clk.Now})
	kdc := s.Condition(KDCListening, "not bound yet")
	loop := s.Loop("vrrp:VI_1", 3*time.Second)
	mux := http.NewServeMux()
	s.Register(mux)

	get := func(path string) (int, Report) {
		t.Helper()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: content type %q", path, ct)
		}
		var r Report
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatalf("%s: body %q: %v", path, rec.Body, err)
		}
		return rec.Code, r
	}

	// Starting: alive, not ready, and the body says why.
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while starting: %d, want 200", code)
	}
	code, r := get("/readyz")
	if code != http.StatusServiceUnavailable || len(r.Conditions) != 1 || r.Conditions[0].Reason != "not bound yet" {
		t.Errorf("/readyz while starting: %d %+v", code, r)
	}

	kdc.Set("listening on 192.0.2.1:88")
	if code, r := get("/readyz"); code != http.StatusOK || !r.Ready {
		t.Errorf("/readyz when ready: %d %+v", code, r)
	}

	// A stalled loop fails both.
	clk.Advance(4 * time.Second)
	for _, path := range []string{"/healthz", "/readyz"} {
		code, r := get(path)
		if code != http.StatusServiceUnavailable || r.Loops[0].Alive || !strings.Contains(r.Loops[0].Reason, "no heartbeat for 4s") {
			t.Errorf("%s with a stalled loop: %d %+v", path, code, r)
		}
	}
	loop.Beat()
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after the loop beat again: %d", code)
	}

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/readyz", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /readyz: %d, want 405", rec.Code)
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/readyz", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD /readyz: %d with %d body bytes", rec.Code, rec.Body.Len())
	}
}

func TestJSONKeys(t *testing.T) {
	clk := newFakeClock()
	s := New(Options{Now: clk.Now})
	s.Condition(KDCListening, "not bound yet")
	s.Loop("health", time.Second)
	b, err := json.Marshal(s.Report())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ready":false,"alive":true,"conditions":[{"name":"kdc_listening","met":false,"reason":"not bound yet","since":"2026-12-05T14:00:00Z"}],"loops":[{"name":"health","alive":true,"silent_seconds":0,"budget_seconds":1,"reason":"beating"}]}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}
