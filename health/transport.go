package health

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Transport is how a Kerberos message reaches the KDC.
type Transport string

// Transports.
const (
	// TransportUDP sends one datagram and waits for one reply, like MIT
	// clients on their first pass.
	TransportUDP Transport = "udp"
	// TransportTCP opens a connection per message with RFC 4120 §7.2.2
	// framing (4-byte big-endian length).
	TransportTCP Transport = "tcp"
)

const (
	// maxUDPReply is the largest datagram we accept.
	maxUDPReply = 65535
	// maxTCPReply mirrors MIT's 1 MiB stream cap: a longer announced reply
	// is a bad reply, not a reason to allocate.
	maxTCPReply = 1 << 20
)

// exchange sends req to addr and returns the reply. Every failure is a
// *CheckError tagged with step. It returns by the time ctx is done: a KDC
// that never answers (frozen, black-holed) yields KindTimeout.
func exchange(ctx context.Context, tr Transport, addr, step string, req []byte) ([]byte, error) {
	start := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, string(tr), addr)
	if err != nil {
		return nil, netFailure(ctx, step, tr, addr, start, err)
	}
	defer conn.Close()
	// Cancellation and deadline both unblock I/O by expiring the socket
	// deadline, so a hung peer cannot outlive the context.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var reply []byte
	switch tr {
	case TransportUDP:
		reply, err = exchangeUDP(conn, req)
	case TransportTCP:
		reply, err = exchangeTCP(conn, req)
	default:
		return nil, failure(KindConfig, step, fmt.Errorf("unknown transport %q", tr))
	}
	if err != nil {
		if errors.As(err, new(*CheckError)) {
			return nil, wrapStep(err, step)
		}
		return nil, netFailure(ctx, step, tr, addr, start, err)
	}
	return reply, nil
}

func exchangeUDP(conn net.Conn, req []byte) ([]byte, error) {
	if _, err := conn.Write(req); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	buf := make([]byte, maxUDPReply)
	n, err := conn.Read(buf)
	if err != nil {
		return nil, fmt.Errorf("receive: %w", err)
	}
	return buf[:n], nil
}

func exchangeTCP(conn net.Conn, req []byte) ([]byte, error) {
	msg := make([]byte, 4+len(req))
	binary.BigEndian.PutUint32(msg, uint32(len(req)))
	copy(msg[4:], req)
	if _, err := conn.Write(msg); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, fmt.Errorf("receive length: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	// The high bit is reserved for TCP extensions (RFC 5021), which a reply
	// to a plain request never uses.
	if n&0x80000000 != 0 || n > maxTCPReply {
		return nil, failure(KindBadReply, "", fmt.Errorf("invalid TCP length prefix %#x", n))
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, fmt.Errorf("receive %d-byte reply: %w", n, err)
	}
	return buf, nil
}

// netFailure classifies a socket error: expiry of the context is a timeout
// (nothing answered in time); anything else (refused, reset, unreachable)
// is a network failure.
func netFailure(ctx context.Context, step string, tr Transport, addr string, start time.Time, err error) error {
	elapsed := time.Since(start).Round(time.Millisecond)
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return failure(KindTimeout, step, fmt.Errorf("%w from %s/%s after %v: %w", ErrNoReply, addr, tr, elapsed, err))
	}
	return failure(KindNetwork, step, fmt.Errorf("%s/%s after %v: %w", addr, tr, elapsed, err))
}
