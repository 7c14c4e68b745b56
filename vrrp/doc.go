// Package vrrp is kdcha's VRRP implementation, wire-compatible with
// keepalived so that one node of a keepalived pair can be replaced at a
// time.
//
// It owns:
//   - the packet codec (packet.go, checksum.go): VRRP v2 (RFC 3768, IPv4)
//     and v3 (RFC 5798, IPv4 and IPv6) advertisements, with strict
//     validation and typed errors (errors.go), and the IP-level receive
//     rules, TTL 255 and protocol 112 (iprules.go);
//   - the per-instance state machine (state.go, advert.go, timers.go,
//     params.go): Initialize/Backup/Master/Fault, pure and clock-free. It is
//     fed Inputs (inputs.go) with the current time and returns Actions
//     (actions.go) and its next deadline. Where keepalived and the RFC
//     differ, keepalived wins (see the comments at each such place);
//   - the `vrrp` configuration section (config.go);
//   - the edge: raw IP protocol 112 sockets per interface, multicast or
//     unicast, IPv4 (conn4.go) and IPv6 (conn6.go), the choice of the source
//     address (primary.go), Instance (instance.go), which runs one Machine
//     against a Transport and Addresses and reports InstanceEvents, Open
//     (open.go), which assembles an Instance for this host, and the
//     Prometheus metrics (metrics.go).
//
// It does not own: adding and removing addresses and sending gratuitous
// ARP / NA (package vrrp/vip, which implements Addresses), health probes
// and tracker weights (package health, which calls Instance.SetPriorityDelta
// and SetFault), delivering events (package notify, fed through
// InstanceDeps.OnEvent) or composing instances from the configuration
// (cmd/kdcha).
//
// Decisions: v2 authentication (PASS, AH) is rejected with ErrAuthType, as
// keepalived's strict mode does, since RFC 3768 removed it; fields the RFCs
// say to ignore (v2 auth data, v3 reserved bits) are ignored on receipt and
// sent as zero. An advertisement must carry at least one address. Such an
// advert for an instance's own VRID is a peer kdcha cannot hear (split
// brain): it is warned about, counted and shown in Status (dropped.go).
// Adverts are unauthenticated, so anyone on the LAN can forge them: a
// backup takes over early only on its master's adverts and only once the
// master's next advert was due (which contradicts a forgery), a master
// answers adverts forged in its name at once, and a backup holds off
// advert-triggered takeovers for a minute after a forgery shows
// (advert.go). A stopping master keeps its VIPs until a successor
// advertises (resign hold, state.go), so a graceful stop leaves the VIP on
// no node at no moment. Each instance's protocol loop and receiver run on
// locked OS threads, optionally SCHED_RR (realtime.go).
//
// Testing: the codec and the state machine are tested without root or
// sleeps: table-driven tests drive the machine with a fake clock through
// every transition of RFC 5798 section 6.4; golden tests decode keepalived
// 2.2.7 captures (testdata/keepalived) and re-encode them byte for byte;
// FuzzUnmarshal checks decoding never panics and round-trips; a test has
// Wireshark's dissector (Debian package tshark, skipped if absent) check
// the packets kdcha encodes. The edge is tested as root in network
// namespaces (internal/netnstest; skipped otherwise): sockets, two
// kdcha nodes failing over, and interop with a real keepalived (Debian
// package keepalived, skipped if absent) over v2, v3, v3 unicast and
// v3/IPv6, a keepalived with auth_type PASS, a third host forging adverts
// over a raw socket, and deploy/nftables-vrrp.nft loaded in a namespace. The Instance runner is also tested without root against
// in-memory twins of Transport and Addresses.
package vrrp
