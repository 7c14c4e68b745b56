package node

import (
	"testing"

	"github.com/kdcha/kdcha/notify"
	"github.com/kdcha/kdcha/vrrp"
)

// TestNotifyEventStop: every way a resigning master's hold ends is
// keepalived's STOP; other INIT transitions are not reported.
func TestNotifyEventStop(t *testing.T) {
	for _, reason := range []vrrp.Reason{vrrp.ReasonShutdown, vrrp.ReasonSuccessor, vrrp.ReasonResignTimeout} {
		e := vrrp.InstanceEvent{Instance: "VI_1", Event: vrrp.Event{State: vrrp.StateInitialize, Previous: vrrp.StateMaster, Reason: reason}}
		got, ok := notifyEvent(e, nil)
		if !ok || got.State != notify.StateStop {
			t.Errorf("%q: got %+v, %v; want a STOP notification", reason, got, ok)
		}
	}
	e := vrrp.InstanceEvent{Instance: "VI_1", Event: vrrp.Event{State: vrrp.StateInitialize, Reason: vrrp.ReasonFault}}
	if _, ok := notifyEvent(e, nil); ok {
		t.Error("a non-shutdown INIT transition was reported")
	}
}
