package notify

import (
	"net/netip"
	"time"
)

// State is a VRRP instance state, spelled as keepalived spells it in the
// arguments of a generic notify script.
type State string

// The states a VRRP instance reports.
const (
	StateMaster State = "MASTER"
	StateBackup State = "BACKUP"
	StateFault  State = "FAULT"
	StateStop   State = "STOP"
)

// Event is one state transition of one VRRP instance. Its JSON encoding is
// the default webhook body; its fields are the data of a webhook template.
type Event struct {
	// Node names the host that made the transition. Publish fills it from
	// Options.Node when empty.
	Node string `json:"node"`
	// Instance is the VRRP instance name, as in the configuration.
	Instance string `json:"instance"`
	// State is the state entered.
	State State `json:"state"`
	// PrevState is the state left; empty for the first event of an instance.
	PrevState State `json:"previous_state"`
	// Priority is the instance's effective priority after the transition
	// (0-255), the value keepalived passes to notify scripts.
	Priority int `json:"priority"`
	// Reason says why, for people: "probe kinit failed 2 times: timeout".
	Reason string `json:"reason"`
	// VIPs are the instance's virtual addresses.
	VIPs []netip.Prefix `json:"vips"`
	// Time is when the transition happened. Publish fills it when zero.
	Time time.Time `json:"time"`
	// Seq is assigned by Publish: 1 for the first event of an instance in
	// this process, then +1 per event. A receiver that sees a gap knows events
	// were dropped; one that sees it restart at 1 knows the agent restarted.
	Seq uint64 `json:"seq"`
}
