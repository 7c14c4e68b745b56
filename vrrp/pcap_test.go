package vrrp

// A tiny classic-pcap reader and writer for Ethernet captures, enough for the
// golden and tshark tests without a libpcap dependency.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
)

const (
	pcapMagicMicro   = 0xa1b2c3d4
	pcapMagicNano    = 0xa1b23c4d
	pcapLinkEthernet = 1
	etherTypeIPv4    = 0x0800
	etherTypeIPv6    = 0x86dd
	ethHeaderLen     = 14
	ipv4HeaderMinLen = 20
	ipv6HeaderLen    = 40
)

// ipPacket is the part of an Ethernet frame carrying IP that the tests use.
type ipPacket struct {
	src, dst netip.Addr
	ttl      int
	protocol int
	payload  []byte
}

// readPcapFrames returns the captured bytes of every record of a classic pcap
// file with Ethernet link type, in either byte order.
func readPcapFrames(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, errors.New("pcap: short global header")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch binary.LittleEndian.Uint32(b) {
	case pcapMagicMicro, pcapMagicNano:
	default:
		bo = binary.BigEndian
		if m := bo.Uint32(b); m != pcapMagicMicro && m != pcapMagicNano {
			return nil, fmt.Errorf("pcap: bad magic %#x", m)
		}
	}
	if lt := bo.Uint32(b[20:24]); lt != pcapLinkEthernet {
		return nil, fmt.Errorf("pcap: link type %d, want Ethernet", lt)
	}
	var frames [][]byte
	for off := 24; off < len(b); {
		if len(b)-off < 16 {
			return nil, errors.New("pcap: short record header")
		}
		n := int(bo.Uint32(b[off+8:]))
		off += 16
		if len(b)-off < n {
			return nil, errors.New("pcap: short record")
		}
		frames = append(frames, b[off:off+n])
		off += n
	}
	return frames, nil
}

// parseIP extracts the IP header fields and payload of an Ethernet frame; ok
// is false for frames that are not IP (ARP in the keepalived captures).
func parseIP(frame []byte) (p ipPacket, ok bool) {
	if len(frame) < ethHeaderLen {
		return p, false
	}
	l3 := frame[ethHeaderLen:]
	switch binary.BigEndian.Uint16(frame[12:14]) {
	case etherTypeIPv4:
		if len(l3) < ipv4HeaderMinLen {
			return p, false
		}
		ihl := int(l3[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(l3[2:4]))
		if ihl < ipv4HeaderMinLen || total < ihl || total > len(l3) {
			return p, false
		}
		return ipPacket{
			src:      netip.AddrFrom4([4]byte(l3[12:16])),
			dst:      netip.AddrFrom4([4]byte(l3[16:20])),
			ttl:      int(l3[8]),
			protocol: int(l3[9]),
			payload:  l3[ihl:total],
		}, true
	case etherTypeIPv6:
		if len(l3) < ipv6HeaderLen {
			return p, false
		}
		plen := int(binary.BigEndian.Uint16(l3[4:6]))
		if ipv6HeaderLen+plen > len(l3) {
			return p, false
		}
		return ipPacket{
			src:      netip.AddrFrom16([16]byte(l3[8:24])),
			dst:      netip.AddrFrom16([16]byte(l3[24:40])),
			ttl:      int(l3[7]),
			protocol: int(l3[6]),
			payload:  l3[ipv6HeaderLen : ipv6HeaderLen+plen],
		}, true
	}
	return p, false
}

// ethernetIPFrame wraps a VRRP payload in Ethernet and IPv4/IPv6 headers as a
// VRRP sender would: TTL/hop limit 255, protocol 112, multicast MAC of dst.
func ethernetIPFrame(src, dst netip.Addr, payload []byte) []byte {
	srcMAC := []byte{0x02, 0xf0, 0, 0, 0, 0x42}
	var f []byte
	if dst.Is4() {
		d := dst.As4()
		f = append(f, 0x01, 0x00, 0x5e, d[1]&0x7f, d[2], d[3])
		f = append(f, srcMAC...)
		f = binary.BigEndian.AppendUint16(f, etherTypeIPv4)
		ip := make([]byte, ipv4HeaderMinLen)
		ip[0] = 0x45
		ip[1] = 0xc0 // DSCP CS6, as keepalived
		binary.BigEndian.PutUint16(ip[2:4], uint16(ipv4HeaderMinLen+len(payload)))
		ip[8] = 255
		ip[9] = IPProtocol
		s := src.As4()
		copy(ip[12:16], s[:])
		copy(ip[16:20], d[:])
		binary.BigEndian.PutUint16(ip[10:12], fold(sum16(0, ip)))
		f = append(f, ip...)
	} else {
		d := dst.As16()
		f = append(f, 0x33, 0x33, d[12], d[13], d[14], d[15])
		f = append(f, srcMAC...)
		f = binary.BigEndian.AppendUint16(f, etherTypeIPv6)
		ip := make([]byte, ipv6HeaderLen)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:6], uint16(len(payload)))
		ip[6] = IPProtocol
		ip[7] = 255
		s := src.As16()
		copy(ip[8:24], s[:])
		copy(ip[24:40], d[:])
		f = append(f, ip...)
	}
	return append(f, payload...)
}

// writePcap writes frames as a little-endian microsecond pcap file.
func writePcap(path string, frames [][]byte) error {
	b := binary.LittleEndian.AppendUint32(nil, pcapMagicMicro)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)     // thiszone
	b = binary.LittleEndian.AppendUint32(b, 0)     // sigfigs
	b = binary.LittleEndian.AppendUint32(b, 65535) // snaplen
	b = binary.LittleEndian.AppendUint32(b, pcapLinkEthernet)
	for i, f := range frames {
		b = binary.LittleEndian.AppendUint32(b, uint32(1_800_000_000+i))
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return os.WriteFile(path, b, 0o600)
}
