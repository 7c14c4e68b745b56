package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// forwardCluster is three members whose handlers agree that leader is
// the leader.
type forwardCluster struct {
	addrs    []string
	handlers []*fakeHandler
	leader   atomic.Value // string
	client   *Client
}

func newForwardCluster(t *testing.T) *forwardCluster {
	t.Helper()
	fc := &forwardCluster{}
	fc.leader.Store("")
	first := newCluster(t, "node0")
	for i := range 3 {
		c := first
		if i > 0 {
			c = addMember(t, first, []string{"node0", "node1", "node2"}[i])
		}
		h := &fakeHandler{leader: func() string { return fc.leader.Load().(string) }}
		m := startMux(t, c, nil)
		h.self = m.Advertise()
		m.Serve(h)
		fc.addrs = append(fc.addrs, m.Advertise())
		fc.handlers = append(fc.handlers, h)
	}
	fc.client = NewClient(addMember(t, first, "admin-node"), Config{DialTimeout: time.Second, RequestTimeout: 2 * time.Second})
	return fc
}

func TestForwardToNonLeaderRedirects(t *testing.T) {
	fc := newForwardCluster(t)
	fc.leader.Store(fc.addrs[2])
	_, err := fc.client.Forward(context.Background(), fc.addrs[0], []byte("w"))
	var nl *NotLeaderError
	if !errors.Is(err, ErrNotLeader) || !errors.As(err, &nl) || nl.Leader != fc.addrs[2] {
		t.Fatalf("Forward to a follower = %v, want a NotLeaderError naming %s", err, fc.addrs[2])
	}
	if n, _ := fc.handlers[0].counts(); n != 0 {
		t.Errorf("follower ran %d forwarded requests", n)
	}
	status, err := fc.client.Status(context.Background(), fc.addrs[1])
	if err != nil || string(status) != `{"node":"`+fc.addrs[1]+`"}` {
		t.Errorf("Status = %q, %v", status, err)
	}
}

func TestForwarder(t *testing.T) {
	dead := closedAddr(t)
	tests := []struct {
		name string
		// leaderSeq are the successive answers of the leader function
		// (the last one repeats); indexes into addrs, -1 for "", -2 for
		// an address nobody listens on.
		leaderSeq []int
		failWith  error
		timeout   time.Duration
		wantReply string
		wantErr   []error
		wantCalls int // requests run by the leader's handler
	}{
		{name: "stale leader redirects", leaderSeq: []int{0}, wantReply: "ok:w", wantCalls: 1},
		{name: "leader unknown, then known", leaderSeq: []int{-1, -1, 2}, wantReply: "ok:w", wantCalls: 1},
		{name: "leader down, then new leader", leaderSeq: []int{-2, 2}, wantReply: "ok:w", wantCalls: 1},
		{name: "handler error is not retried", leaderSeq: []int{2}, failWith: errBoom, wantCalls: 1},
		{name: "no leader until the deadline", leaderSeq: []int{-1}, timeout: 300 * time.Millisecond, wantErr: []error{context.DeadlineExceeded, ErrNotLeader}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newForwardCluster(t)
			fc.leader.Store(fc.addrs[2])
			fc.handlers[2].mu.Lock()
			fc.handlers[2].failWith = tt.failWith
			fc.handlers[2].mu.Unlock()
			var calls atomic.Int32
			leaderFn := func() string {
				i := min(int(calls.Add(1))-1, len(tt.leaderSeq)-1)
				switch tt.leaderSeq[i] {
				case -1:
					return ""
				case -2:
					return dead
				}
				return fc.addrs[tt.leaderSeq[i]]
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			reply, err := NewForwarder(fc.client, leaderFn, testLogger()).Forward(ctx, []byte("w"))
			switch {
			case tt.failWith != nil:
				var re *RemoteError
				if !errors.As(err, &re) || re.Message != tt.failWith.Error() {
					t.Fatalf("Forward = %v, want a RemoteError with %q", err, tt.failWith)
				}
			case tt.wantErr != nil:
				for _, want := range tt.wantErr {
					if !errors.Is(err, want) {
						t.Fatalf("Forward = %v, want it to match %v", err, want)
					}
				}
			case err != nil || string(reply) != tt.wantReply:
				t.Fatalf("Forward = %q, %v; want %q", reply, err, tt.wantReply)
			}
			if n, _ := fc.handlers[2].counts(); n != tt.wantCalls {
				t.Errorf("leader ran %d forwarded requests, want %d", n, tt.wantCalls)
			}
		})
	}
}

// closedAddr is a loopback address with nothing listening.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestNotSent(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{&NotLeaderError{Leader: "192.0.2.1:7946"}, true},
		{fmt.Errorf("forward to leader: gave up after 8 attempts: %w", &dialError{errors.New("connection refused")}), true},
		{fmt.Errorf("forward to leader: %w (last error: %w)", context.DeadlineExceeded, &NotLeaderError{}), true},
		{errors.New("cluster /v1/forward 192.0.2.1:7946: EOF"), false},
		{&RemoteError{Addr: "192.0.2.1:7946", Code: "internal", Message: "boom"}, false},
	}
	for _, c := range cases {
		if got := NotSent(c.err); got != c.want {
			t.Errorf("NotSent(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
