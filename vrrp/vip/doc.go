// Package vip puts a virtual router's addresses on an interface and
// announces them: netlink AddrReplace/AddrDel (idempotent, so a restart or
// a repeated action is harmless) and gratuitous ARP in keepalived's form,
// an ARP request to broadcast with sender IP = target IP = the VIP and
// target MAC ff:ff:ff:ff:ff:ff (RFC 5227 section 3 prefers the request
// form).
//
// IPv6 VIPs are added without duplicate address detection (the address
// moved, it is not new) and announced with unsolicited neighbour
// advertisements to ff02::1 with the Override flag, as keepalived does.
//
// WatchRemoved reports VIPs deleted from the interface and WatchLink the
// interface's link state (netlink subscriptions that resubscribe after a
// socket error), so that a master can put VIPs back and an instance can
// enter FAULT while its link is down.
//
// It owns only these side effects for one interface; when to add, remove or
// announce is decided by the vrrp state machine.
//
// The ARP frame is built with github.com/mdlayher/arp and
// github.com/mdlayher/ethernet and sent on a send-only AF_PACKET socket
// (github.com/mdlayher/packet, protocol 0, so nothing is queued for
// reading) rather than through arp.Client, which needs an IPv4 address on
// the interface before the VIP is there and queues every ARP frame of the
// link.
//
// Testing: the ARP frame is compared byte for byte with keepalived's
// capture (testdata/garp_takeover.pcap) and the NA with hand-built bytes;
// the Manager is tested as root in network namespaces
// (internal/netnstest), with a peer namespace capturing the GARPs and
// NAs; those tests skip when not root.
package vip
