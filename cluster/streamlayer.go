package cluster

import (
	"context"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// streamLayer is the raft.StreamLayer over the mux: inbound connections
// are the mux's ProtoRaft ones (already mutually authenticated), outbound
// ones are dialed with the node's credentials and ProtoRaft.
type streamLayer struct {
	*connListener
	creds *Credentials
	// fallback is used when raft passes no timeout, so a dial is never
	// unbounded.
	fallback time.Duration
}

var _ raft.StreamLayer = (*streamLayer)(nil)

// Dial implements raft.StreamLayer; timeout bounds connect and handshake.
func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 {
		timeout = s.fallback
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.creds.dial(ctx, string(addr), ProtoRaft)
}
