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

// The states of the node-level events (types health, leader, quorum).
const (
	// StateUp and StateDown: a health check of the node came up or went
	// down (type health).
	StateUp   State = "UP"
	StateDown State = "DOWN"
	// StateChanged: the node follows a new Raft leader (type leader).
	StateChanged State = "CHANGED"
	// StateLost and StateRestored: the node has heard no Raft leader for
	// the grace period, and hears one again (type quorum).
	StateLost     State = "LOST"
	StateRestored State = "RESTORED"
)

// Type says what an event is about; a webhook's events filter selects by
// it.
type Type string

// The event types.
const (
	// TypeVRRP: a VRRP instance's transition (Instance set).
	TypeVRRP Type = "vrrp"
	// TypeHealth: one of the node's health checks went DOWN or came UP
	// (Check set), whatever the node's VRRP state.
	TypeHealth Type = "health"
	// TypeLeader: the node follows a new Raft leader (Leader set).
	TypeLeader Type = "leader"
	// TypeQuorum: the node lost contact with any Raft leader for a grace
	// period (LOST), or regained it (RESTORED).
	TypeQuorum Type = "quorum"
)

// Types lists every event type, in documentation order.
var Types = []Type{TypeVRRP, TypeHealth, TypeLeader, TypeQuorum}

// nodeStream is the sequence and ordering key of the node-level events
// (every type but vrrp): they share one lane, so a receiver sees them in
// the order the node saw them.
const nodeStream = ""

// Event is one state transition of one VRRP instance, or of the node
// itself (Type). Its JSON encoding is the default webhook body; its fields
// are the data of a webhook template.
type Event struct {
	// Type is what the event is about; Publish fills vrrp when empty.
	Type Type `json:"type"`
	// Node names the host that made the transition. Publish fills it from
	// Options.Node when empty.
	Node string `json:"node"`
	// Instance is the VRRP instance name, as in the configuration; empty
	// for the node-level events.
	Instance string `json:"instance"`
	// Check is the health check of a health event.
	Check string `json:"check,omitempty"`
	// Leader is the Raft leader a leader event names, PreviousLeader the
	// one followed before ("" if none was known).
	Leader         string `json:"leader,omitempty"`
	PreviousLeader string `json:"previous_leader,omitempty"`
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
	// Seq is assigned by Publish: 1 for the first event of an instance (or
	// the first node-level event) in this process, then +1 per event. A receiver that sees a gap knows events
	// were dropped; one that sees it restart at 1 knows the agent restarted.
	Seq uint64 `json:"seq"`
}
