package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// OwnerPriority is the priority of the router that owns the virtual
// addresses: it takes over at once, always preempts and is never adjusted by
// trackers.
const OwnerPriority = 255

// Tracker-adjusted priorities stay within [minTrackedPriority,
// maxTrackedPriority], as keepalived does: 0 would mean "resigning" and 255
// would claim ownership.
const (
	minTrackedPriority = 1
	maxTrackedPriority = 254
)

// maxPreemptDelay is keepalived's upper bound for preempt_delay.
const maxPreemptDelay = 1000 * time.Second

// Params are what one virtual router's state machine needs. They are the
// resolved form of an InstanceConfig (see InstanceConfig.Params): the primary
// address is known and durations are exact.
type Params struct {
	// VRID is the virtual router ID, 1..255.
	VRID uint8
	// Version is 2 or 3; it selects the skew formula and whether a backup
	// learns the master's advertisement interval.
	Version Version
	// Priority is the base priority, 1..255 (255 = address owner).
	Priority uint8
	// AdvertInterval is this router's advertisement interval, representable
	// in the version's wire units (see Packet.Interval).
	AdvertInterval time.Duration
	// NoPreempt stops a higher-priority backup from taking over from a
	// lower-priority master (preemption is on by default). Ignored for the
	// owner, which always preempts (RFC 5798 section 6.1).
	NoPreempt bool
	// PreemptDelay postpones preemption until this long after startup (or
	// after the last higher-priority advertisement), 0..1000 s. Preemption
	// after startup, leaving FAULT or a priority rise waits at least one
	// master down interval whatever its value.
	PreemptDelay time.Duration
	// ResignHold is how long a master that shuts down keeps its VIPs after
	// its priority-0 advertisement, waiting for a successor's advert; 0
	// removes them at once (RFC 5798).
	ResignHold time.Duration
	// PrimaryIP is the address adverts are sent from; it breaks ties between
	// equal priorities (the higher address wins).
	PrimaryIP netip.Addr
	// GARPRepeat is how many gratuitous ARPs (or NAs) make up a burst, >= 1.
	GARPRepeat int
	// GARPDelay is when, after becoming master, a second burst is sent; 0
	// means none.
	GARPDelay time.Duration
	// GARPRefresh is the period of single refresh GARPs while master; 0
	// means off.
	GARPRefresh time.Duration
}

// Validate reports the first invalid parameter, wrapping ErrParams.
func (p Params) Validate() error {
	switch {
	case p.Version != Version2 && p.Version != Version3:
		return fmt.Errorf("%w: version must be 2 or 3, got %d", ErrParams, p.Version)
	case p.VRID == 0:
		return fmt.Errorf("%w: vrid must be 1..255", ErrParams)
	case p.Priority == 0:
		return fmt.Errorf("%w: priority must be 1..255", ErrParams)
	case !p.PrimaryIP.IsValid():
		return fmt.Errorf("%w: primary IP is not set", ErrParams)
	case p.Version == Version2 && !p.PrimaryIP.Is4():
		return fmt.Errorf("%w: version 2 is IPv4 only, primary IP %v", ErrParams, p.PrimaryIP)
	case p.PreemptDelay < 0 || p.PreemptDelay > maxPreemptDelay:
		return fmt.Errorf("%w: preempt_delay %v not in 0..1000s", ErrParams, p.PreemptDelay)
	case p.GARPRepeat < 1:
		return fmt.Errorf("%w: garp repeat %d must be >= 1", ErrParams, p.GARPRepeat)
	case p.ResignHold < 0:
		return fmt.Errorf("%w: negative resign hold", ErrParams)
	case p.GARPDelay < 0 || p.GARPRefresh < 0:
		return fmt.Errorf("%w: negative garp delay or refresh", ErrParams)
	}
	if _, err := encodeInterval(p.Version, p.AdvertInterval); err != nil {
		return fmt.Errorf("%w: advert interval: %w", ErrParams, err)
	}
	return nil
}
