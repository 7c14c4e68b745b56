package vip

import "errors"

// ErrNotEthernet means the interface has no 6-byte hardware address, so no
// gratuitous ARP can be sent on it (keepalived skips such interfaces too).
var ErrNotEthernet = errors.New("vip: interface is not Ethernet")
