package bench

import (
	"fmt"
	"net"
	"time"

	"github.com/kdcha/kdcha/kdc"
)

// maxReply bounds a TCP reply the generator reads.
const maxReply = 1 << 20

// roundTripper sends one request and returns its reply, valid until the
// next call.
type roundTripper interface {
	roundTrip(req []byte, deadline time.Time) ([]byte, error)
	close()
}

func dial(transport, addr string) (roundTripper, error) {
	if transport == "tcp" {
		return &tcpClient{addr: addr}, nil
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial udp %s: %w", addr, err)
	}
	return &udpClient{conn: c.(*net.UDPConn), buf: make([]byte, 65536)}, nil
}

// udpClient is one connected UDP socket with one request in flight, so a
// reply on it answers the request sent; after a timeout the caller closes
// it, so a late reply cannot be taken for the next request's.
type udpClient struct {
	conn *net.UDPConn
	buf  []byte
}

func (u *udpClient) roundTrip(req []byte, deadline time.Time) ([]byte, error) {
	if err := u.conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	if _, err := u.conn.Write(req); err != nil {
		return nil, err
	}
	n, err := u.conn.Read(u.buf)
	if err != nil {
		return nil, err
	}
	return u.buf[:n], nil
}

func (u *udpClient) close() { u.conn.Close() }

// tcpClient opens a connection per request, as MIT and Heimdal clients do
// (and MIT krb5kdc closes it after one reply).
type tcpClient struct {
	addr string
	out  []byte
}

func (t *tcpClient) roundTrip(req []byte, deadline time.Time) ([]byte, error) {
	d := net.Dialer{Deadline: deadline}
	c, err := d.Dial("tcp", t.addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.SetDeadline(deadline); err != nil {
		return nil, err
	}
	t.out = kdc.AppendFrame(t.out[:0], req)
	if _, err := c.Write(t.out); err != nil {
		return nil, err
	}
	return kdc.ReadFrame(c, maxReply)
}

func (t *tcpClient) close() {}
