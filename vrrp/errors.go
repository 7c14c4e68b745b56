package vrrp

import "errors"

// Sentinel errors returned (wrapped, with the offending value) by the packet
// codec and the IP-level check. Callers match them with errors.Is; the
// transport counts rejected packets by these causes.
var (
	// ErrShort means the buffer is shorter than the fixed VRRP header or than
	// the length implied by the address count.
	ErrShort = errors.New("vrrp: packet too short")
	// ErrLength means the buffer length does not match the address count
	// exactly (trailing bytes are rejected, not ignored).
	ErrLength = errors.New("vrrp: packet length does not match address count")
	// ErrVersion means the version nibble is neither 2 nor 3, or version 2 was
	// used with IPv6.
	ErrVersion = errors.New("vrrp: unsupported version")
	// ErrType means the type nibble is not 1 (Advertisement).
	ErrType = errors.New("vrrp: unsupported packet type")
	// ErrVRID means the virtual router ID is 0 (valid IDs are 1..255).
	ErrVRID = errors.New("vrrp: invalid virtual router ID")
	// ErrAddrCount means the advertisement carries no address (RFC 5798
	// section 5.2.5: the minimum is 1).
	ErrAddrCount = errors.New("vrrp: invalid address count")
	// ErrAddrFamily means an address does not match the IP family of the
	// packet's source and destination.
	ErrAddrFamily = errors.New("vrrp: address family mismatch")
	// ErrInterval means the advertisement interval is 0 or does not fit the
	// version's field (v2: whole seconds 1..255; v3: centiseconds 1..4095).
	ErrInterval = errors.New("vrrp: invalid advertisement interval")
	// ErrAuthType means a v2 packet uses authentication (type 1 PASS or 2 AH).
	// RFC 3768 removed both and keepalived refuses them in strict mode.
	ErrAuthType = errors.New("vrrp: unsupported authentication type")
	// ErrChecksum means the VRRP checksum does not verify.
	ErrChecksum = errors.New("vrrp: bad checksum")
	// ErrTTL means the IPv4 TTL or IPv6 hop limit is not 255, so the packet
	// may have been forwarded by a router (RFC 5798 section 7.1).
	ErrTTL = errors.New("vrrp: TTL/hop limit is not 255")
	// ErrProtocol means the IP protocol / next header is not 112.
	ErrProtocol = errors.New("vrrp: IP protocol is not 112")
)

// Reasons the state machine discards an advertisement, reported in
// Output.Discarded so the edge can log and count them.
var (
	// ErrIntervalMismatch means a v2 advertisement's interval differs from
	// the configured one (RFC 3768 section 7.1 says to discard it).
	ErrIntervalMismatch = errors.New("vrrp: advertisement interval mismatch")
	// ErrOwnAdvert means the advertisement came from the instance's own
	// primary address. kdcha turns multicast loopback off, so it is forged
	// (or an address conflict); a master answers it with an advert.
	ErrOwnAdvert = errors.New("vrrp: own advertisement")
	// ErrNotMaster means a backup heard a lower priority or a resignation
	// from a router other than the master it follows; RFC 5798 discards
	// it, and only the master's own adverts may trigger an early takeover.
	ErrNotMaster = errors.New("vrrp: lower-priority advertisement from a router that is not the master")
	// ErrPreemptHeld means a lower-priority advertisement came while the
	// hold after a flap was running (see flapHold in state.go).
	ErrPreemptHeld = errors.New("vrrp: lower-priority advertisement during the hold after a flap")
)

// ErrParams is wrapped by NewMachine when its Params are invalid.
var ErrParams = errors.New("vrrp: invalid instance parameters")
