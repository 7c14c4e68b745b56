package vrrp

import "time"

// Action is one thing the edge must do, in order, after a Step. The set is
// closed: SendAdvert, AddVIPs, RemoveVIPs, SendGARP and Event.
type Action interface{ isAction() }

// SendAdvert asks the edge to send one advertisement with this priority and
// the instance's configured VRID, interval and addresses.
type SendAdvert struct {
	// Priority is the priority to advertise; 0 means "master resigning".
	Priority uint8
}

// AddVIPs asks the edge to configure the virtual addresses (idempotently).
type AddVIPs struct{}

// RemoveVIPs asks the edge to remove the virtual addresses.
type RemoveVIPs struct{}

// SendGARP asks the edge to announce the virtual addresses: Count
// gratuitous ARPs (IPv4) or unsolicited neighbour advertisements (IPv6).
type SendGARP struct {
	// Count is the number of announcements per address.
	Count int
}

// Event reports a state transition, for the notify package and logs. The
// edge adds the instance name and the time.
type Event struct {
	// State is the state entered.
	State State
	// Previous is the state left.
	Previous State
	// Priority is the effective priority at the transition.
	Priority uint8
	// Reason is why the transition happened.
	Reason Reason
	// Detail is free text from the input (the fault's cause), may be empty.
	Detail string
}

func (SendAdvert) isAction() {}
func (AddVIPs) isAction()    {}
func (RemoveVIPs) isAction() {}
func (SendGARP) isAction()   {}
func (Event) isAction()      {}

// Output is the result of one Step.
type Output struct {
	// Actions are to be executed in order: becoming master is add VIPs,
	// advert, GARP, event (keepalived adverts before adding; kdcha adds
	// first so that a resigning master, which removes its VIPs when it
	// hears the advert, never leaves the VIP on no node); leaving master is
	// advert (priority 0 when resigning), remove VIPs, event.
	Actions []Action
	// Next is when to call Step with Timeout next; zero means no timer.
	Next time.Time
	// Discarded is non-nil when an advertisement was ignored, wrapping
	// ErrIntervalMismatch, ErrOwnAdvert, ErrNotMaster or ErrPreemptHeld.
	Discarded error
}
