package notify

import (
	"slices"
	"strings"
	"testing"
)

// TestNodeEventsOrderedAndSequenced: node-level events share one stream:
// one sequence, delivered in Publish order even while a VRRP instance's
// events interleave; VRRP events keep their own sequence.
func TestNodeEventsOrderedAndSequenced(t *testing.T) {
	sink := newFakeSink(false)
	d, _ := newTestDispatcher(t, Target{Name: "fake", Sink: sink, QueueSize: 10})
	pub := []Event{
		{Type: TypeHealth, Check: "kinit", State: StateDown},
		{Instance: "VI_1", State: StateBackup},
		{Type: TypeQuorum, State: StateLost, Instance: "ignored for node events"},
		{Type: TypeLeader, State: StateChanged, Leader: "n2", PreviousLeader: "n1"},
		{Type: TypeQuorum, State: StateRestored},
		{Type: TypeHealth, Check: "kinit", State: StateUp},
	}
	for _, ev := range pub {
		d.Publish(ev)
	}
	closeNow(t, d)
	var node []Event
	for range pub {
		ev := recv(t, sink.done, "delivery")
		if ev.Type == TypeVRRP {
			if ev.Seq != 1 || ev.Instance != "VI_1" {
				t.Fatalf("vrrp event %+v, want seq 1 of VI_1", ev)
			}
			continue
		}
		node = append(node, ev)
	}
	want := []State{StateDown, StateLost, StateChanged, StateRestored, StateUp}
	for i, ev := range node {
		if ev.State != want[i] || ev.Seq != uint64(i+1) || ev.Instance != "" || ev.Node != "kdc1" {
			t.Fatalf("node event %d: %+v, want state %s seq %d, no instance, node kdc1", i, ev, want[i], i+1)
		}
	}
}

// TestWebhookEventsFilter: a webhook without events gets the defaults
// (no leader changes); one with events gets exactly those; scripts of an
// instance never get node events.
func TestWebhookEventsFilter(t *testing.T) {
	all := []Event{
		{Type: TypeVRRP, Instance: "VI_1", State: StateMaster},
		{Type: TypeHealth, Check: "kinit", State: StateDown},
		{Type: TypeLeader, State: StateChanged, Leader: "n2"},
		{Type: TypeQuorum, State: StateLost},
	}
	for _, tc := range []struct {
		name   string
		events []Type
		want   []Type
	}{
		{"default", nil, []Type{TypeVRRP, TypeHealth, TypeQuorum}},
		{"leader only", []Type{TypeLeader}, []Type{TypeLeader}},
		{"all", Types, Types},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := WebhookConfig{URL: "http://192.0.2.1/", Events: tc.events}.withDefaults(0)
			tgt := Target{Name: c.Name, Types: c.Events}
			var got []Type
			for _, ev := range all {
				if tgt.wants(ev) {
					got = append(got, ev.Type)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	script := Target{Name: "script:VI_1", Instance: "VI_1", Types: []Type{TypeVRRP}}
	for _, ev := range all[1:] {
		ev.Instance = nodeStream
		if script.wants(ev) {
			t.Fatalf("an instance script takes %+v", ev)
		}
	}
}

func TestValidateWebhookEvents(t *testing.T) {
	for _, tc := range []struct {
		events []Type
		want   string
	}{
		{[]Type{"vrrp", "election"}, `notify.webhooks[0].events: unknown event type "election"`},
		{[]Type{}, "notify.webhooks[0].events: empty"},
	} {
		err := Config{Webhooks: []WebhookConfig{{URL: "http://192.0.2.1/", Events: tc.events}}}.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("events %v: %v, want %q", tc.events, err, tc.want)
		}
	}
	if err := (Config{Node: `"unterminated`}).Validate(); err == nil || !strings.Contains(err.Error(), "notify.node") {
		t.Errorf("bad node script: %v", err)
	}
}

// TestNodeScript: notify.node runs for node events with keepalived-style
// arguments and the KDCHA_* environment, in order; VRRP events do not
// reach it, and instance scripts get the environment too.
func TestNodeScript(t *testing.T) {
	dir := t.TempDir()
	// One log per script: the node's and the instance's streams run
	// concurrently, so their lines could interleave in one file.
	log, instLog := dir+"/log", dir+"/instance-log"
	script := writeScript(t, dir, "node.sh", `log=$1; shift; printf '%s|' "$@" "$KDCHA_TYPE" "$KDCHA_SEQ" "$KDCHA_REASON" "$KDCHA_PREVIOUS_LEADER" >> "$log"; echo >> "$log"`)
	d, err := New(Config{Node: script + " " + log, Scripts: map[string]ScriptConfig{"VI_1": {Notify: script + " " + instLog}}},
		Options{Node: "n1", Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	d.Publish(Event{Type: TypeHealth, Check: "kinit", State: StateDown, Reason: "timeout\x00after 1s"})
	d.Publish(Event{Instance: "VI_1", State: StateBackup, Priority: 100, Reason: "vrrp"})
	d.Publish(Event{Type: TypeLeader, State: StateChanged, Leader: "n2", PreviousLeader: "n3"})
	d.Publish(Event{Type: TypeQuorum, State: StateLost})
	closeNow(t, d)
	if inst := readLines(t, instLog); !slices.Equal(inst, []string{"INSTANCE|VI_1|BACKUP|100|vrrp|1|vrrp||"}) {
		t.Errorf("instance script ran %q", inst)
	}
	node := readLines(t, log)
	want := []string{
		"HEALTH|kinit|DOWN|n1|health|1|timeoutafter 1s||",
		"LEADER|n2|CHANGED|n1|leader|2||n3|",
		"QUORUM|raft|LOST|n1|quorum|3|||",
	}
	if !slices.Equal(node, want) {
		t.Fatalf("node script ran:\n%s\nwant:\n%s", strings.Join(node, "\n"), strings.Join(want, "\n"))
	}
}
