package vrrp

import (
	"net/netip"
	"time"
)

// Input is one event fed to Machine.Step. The set is closed: Start,
// AdvertReceived, Timeout, PriorityDelta, Fault, FaultCleared, VIPsRemoved
// and Shutdown.
type Input interface{ isInput() }

// Start begins the protocol (RFC 5798 section 6.4.1 Startup event).
type Start struct{}

// AdvertReceived is a valid advertisement for this instance's VRID, already
// decoded and checked by the transport (CheckIPHeader, Packet.Unmarshal).
type AdvertReceived struct {
	// Src is the IP source address of the advertisement.
	Src netip.Addr
	// Priority is the sender's priority (0 = master resigning).
	Priority uint8
	// Interval is the sender's advertisement interval.
	Interval time.Duration
}

// Timeout tells the machine that the deadline it returned in Output.Next has
// been reached. Calling it early is harmless: nothing is due yet.
type Timeout struct{}

// PriorityDelta sets the sum of all tracker weights currently applied to the
// base priority (not an increment: the latest value replaces the previous).
type PriorityDelta struct {
	// Delta is added to the base priority; the result is clamped to 1..254.
	Delta int
}

// Fault puts the instance in FAULT (a weight-0 tracker failed, link down).
// Faults from different sources add up: the instance leaves FAULT when every
// source has cleared.
type Fault struct {
	// Source names who reports the fault (FaultSourceInterface, "health",
	// ...); a repeated Fault from the same source only updates Detail.
	Source string
	// Detail says what failed; it is copied into the Event.
	Detail string
}

// FaultCleared withdraws the fault of one source.
type FaultCleared struct {
	// Source is the Source of the Fault being cleared.
	Source string
}

// VIPsRemoved reports that a virtual address disappeared from the
// interface (deleted by someone else, or an address watch that lost
// events). A master puts the addresses back and re-announces them; in other
// states it means nothing.
type VIPsRemoved struct{}

// Shutdown stops the protocol (RFC 5798 Shutdown event). A master resigns
// with a priority-0 advertisement and, with Params.ResignHold, keeps its
// VIPs (state MASTER, Machine.Resigning) until another router advertises
// or the hold ends; a second Shutdown ends the hold at once.
type Shutdown struct{}

func (Start) isInput()          {}
func (AdvertReceived) isInput() {}
func (Timeout) isInput()        {}
func (PriorityDelta) isInput()  {}
func (Fault) isInput()          {}
func (FaultCleared) isInput()   {}
func (VIPsRemoved) isInput()    {}
func (Shutdown) isInput()       {}
