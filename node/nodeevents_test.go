package node

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/notify"
)

func eventsText(evs []notify.Event) string {
	var s []string
	for _, ev := range evs {
		switch ev.Type {
		case notify.TypeHealth:
			s = append(s, fmt.Sprintf("health %s %s", ev.Check, ev.State))
		case notify.TypeLeader:
			s = append(s, fmt.Sprintf("leader %s->%s", ev.PreviousLeader, ev.Leader))
		default:
			s = append(s, fmt.Sprintf("%s %s", ev.Type, ev.State))
		}
	}
	return strings.Join(s, ", ")
}

// TestNodeEventsRaft: an election (leader unknown for less than the
// grace) gives exactly one leader change and no quorum event; no leader
// for the grace gives LOST once, then RESTORED (and the change, if the
// leader is another) when one is heard again. A cluster of one reports
// none of it.
func TestNodeEventsRaft(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	w := newNodeEvents(5 * time.Second)
	steps := []struct {
		at     time.Duration
		leader string
		want   string
	}{
		{0, "", ""},
		{time.Second, "n1", ""}, // the first leader is no change
		{2 * time.Second, "n1", ""},
		{3 * time.Second, "", ""}, // n1 stopped: election
		{4 * time.Second, "", ""},
		{5 * time.Second, "n2", "leader n1->n2"},
		{6 * time.Second, "n2", ""},
		{7 * time.Second, "", ""}, // n2 and n3 gone
		{12*time.Second - time.Millisecond, "", ""},
		{12 * time.Second, "", "quorum LOST"}, // the limit: exactly the grace
		{20 * time.Second, "", ""},
		{30 * time.Second, "n2", "quorum RESTORED"},
		{31 * time.Second, "", ""},
		{40 * time.Second, "", "quorum LOST"},
		{41 * time.Second, "n3", "quorum RESTORED, leader n2->n3"},
	}
	for _, s := range steps {
		got := eventsText(w.observe(t0.Add(s.at), nodeObservation{leader: s.leader, clustered: true}))
		if got != s.want {
			t.Fatalf("at +%s leader %q: events %q, want %q", s.at, s.leader, got, s.want)
		}
	}
	single := newNodeEvents(5 * time.Second)
	for i := range 20 {
		if evs := single.observe(t0.Add(time.Duration(i)*time.Second), nodeObservation{}); len(evs) != 0 {
			t.Fatalf("a cluster of one reports %s", eventsText(evs))
		}
	}
}

// TestNodeEventsHealth: each check's UP/DOWN changes are reported once per
// change; a check without a verdict yet is ignored; the first verdict is
// reported only when it is DOWN.
func TestNodeEventsHealth(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	w := newNodeEvents(5 * time.Second)
	st := func(name string, s health.State) health.Status {
		hs := health.Status{Name: name, State: s}
		if s == health.StateDown {
			hs.LastErr = errors.New("timeout")
		}
		return hs
	}
	steps := []struct {
		checks []health.Status
		want   string
	}{
		{[]health.Status{st("kinit", health.StateInit), st("disk", health.StateInit)}, ""},
		{[]health.Status{st("kinit", health.StateUp), st("disk", health.StateDown)}, "health disk DOWN"},
		{[]health.Status{st("kinit", health.StateUp), st("disk", health.StateDown)}, ""},
		{[]health.Status{st("kinit", health.StateDown), st("disk", health.StateUp)}, "health kinit DOWN, health disk UP"},
		{nil, ""}, // a reload replaces the runner
		{[]health.Status{st("kinit", health.StateInit), st("disk", health.StateInit)}, ""},
		{[]health.Status{st("kinit", health.StateUp), st("disk", health.StateUp)}, "health kinit UP"},
	}
	for i, s := range steps {
		evs := w.observe(t0.Add(time.Duration(i)*time.Second), nodeObservation{checks: s.checks, leader: "n1", clustered: true})
		if got := eventsText(evs); got != s.want {
			t.Fatalf("step %d: events %q, want %q", i, got, s.want)
		}
		for _, ev := range evs {
			if ev.State == notify.StateDown && !strings.Contains(ev.Reason, "timeout") {
				t.Fatalf("DOWN without the check's error: %q", ev.Reason)
			}
		}
	}
}

// statusList is a verdictSource with fixed check states.
type statusList []health.Status

func (statusList) Verdict() health.Verdict     { return health.Verdict{} }
func (s statusList) Statuses() []health.Status { return s }

// TestObserveNodeWithoutDatabase: a node without a database (mode
// keepalived) still reports its checks' health, and no Raft leader or
// quorum; with one in a cluster, the leader is observed.
func TestObserveNodeWithoutDatabase(t *testing.T) {
	live := &liveStatus{}
	live.setHealth(statusList{{Name: "krb5kdc", State: health.StateDown}})
	n := &Node{parts: parts{clustered: true}, live: live}
	o := n.observeNode()
	if o.clustered || o.leader != "" {
		t.Errorf("without a database: %+v, want no Raft observation", o)
	}
	evs := newNodeEvents(quorumGrace).observe(time.Unix(1e9, 0), o)
	if len(evs) != 1 || evs[0].Type != notify.TypeHealth || evs[0].Check != "krb5kdc" {
		t.Errorf("events %+v, want one health event for krb5kdc", evs)
	}
	n.parts.leaderID = func() string { return "n2" }
	if o := n.observeNode(); !o.clustered || o.leader != "n2" {
		t.Errorf("with a database: %+v, want leader n2 observed", o)
	}
}
