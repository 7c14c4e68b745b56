package vip

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

const ethernetAddrLen = 6

// garpFrame returns the Ethernet frame of a gratuitous ARP for vip from an
// interface with hardware address mac, exactly as keepalived sends it.
func garpFrame(mac net.HardwareAddr, vip netip.Addr) ([]byte, error) {
	if len(mac) != ethernetAddrLen {
		return nil, fmt.Errorf("gratuitous ARP for %v: %w: %q is not an Ethernet address", vip, ErrNotEthernet, mac)
	}
	p, err := arp.NewPacket(arp.OperationRequest, mac, vip, ethernet.Broadcast, vip)
	if err != nil {
		return nil, fmt.Errorf("gratuitous ARP for %v from %v: %w", vip, mac, err)
	}
	payload, err := p.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("marshal ARP for %v: %w", vip, err)
	}
	// The header is written by hand, not with ethernet.Frame, which pads to
	// 60 bytes: keepalived sends 42 and the NIC pads on the wire anyway.
	b := make([]byte, 0, 14+len(payload))
	b = append(b, ethernet.Broadcast...)
	b = append(b, mac...)
	b = binary.BigEndian.AppendUint16(b, uint16(ethernet.EtherTypeARP))
	return append(b, payload...), nil
}
