package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestWireErrorsKeepTheirSentinel: every sentinel survives the trip to a
// follower, wrapped as the leader wraps it, with its message.
func TestWireErrorsKeepTheirSentinel(t *testing.T) {
	for _, s := range wireSentinels {
		t.Run(s.code, func(t *testing.T) {
			err := fmt.Errorf("set_keys svc/a@R: %w: detail", s.err)
			got := encodeError(err).decode()
			if !errors.Is(got, s.err) {
				t.Fatalf("decoded %v does not match %v", got, s.err)
			}
			if !strings.Contains(got.Error(), "detail") {
				t.Fatalf("message lost: %q", got)
			}
			for _, other := range wireSentinels {
				if other.err != s.err && errors.Is(got, other.err) {
					t.Fatalf("%v also matches %v", got, other.err)
				}
			}
		})
	}
	if encodeError(nil) != nil {
		t.Fatal("nil error encoded")
	}
	plain := encodeError(errors.New("disk on fire")).decode()
	for _, s := range wireSentinels {
		if errors.Is(plain, s.err) {
			t.Fatalf("an unclassified error matches %v", s.err)
		}
	}
}

func TestHandleForwardedRefusesBadRequests(t *testing.T) {
	d := openTestDB(t, t.TempDir())
	ctx := testCtx(t)
	if _, err := d.Create(ctx, CreateRequest{Name: RealmTGS(testRealm), RandomKey: true}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		req     string
		wantErr bool  // HandleForwarded itself fails
		want    error // error in the reply
	}{
		{"not json", `{`, true, nil},
		{"other version", `{"v":2,"kind":"apply"}`, true, nil},
		{"unknown kind", `{"v":1,"kind":"format_disk"}`, false, ErrInvalid},
		{"undecodable command", `{"v":1,"kind":"apply","command":{"v":99}}`, false, ErrInvalid},
		{"command rejected by the FSM", `{"v":1,"kind":"apply","command":{"v":1,"op":"delete","name":"nobody@EXAMPLE.COM"}}`, false, ErrNotFound},
		{"protected principal", `{"v":1,"kind":"apply","command":{"v":1,"op":"delete","name":"krbtgt/EXAMPLE.COM@EXAMPLE.COM","force":true}}`, false, ErrProtected},
		{"read index", `{"v":1,"kind":"read_index"}`, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := d.HandleForwarded(ctx, []byte(tt.req))
			if (err != nil) != tt.wantErr {
				t.Fatalf("HandleForwarded error %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v is not ErrInvalid", err)
				}
				return
			}
			var reply forwardReply
			if err := json.Unmarshal(b, &reply); err != nil {
				t.Fatal(err)
			}
			var got error
			if reply.Err != nil {
				got = reply.Err.decode()
			}
			if !errors.Is(got, tt.want) || (tt.want == nil) != (got == nil) {
				t.Fatalf("reply error %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWritesWithoutForwardOnFollower(t *testing.T) {
	c := startCluster(t, 3, func(o *Options) { o.Forward = nil })
	f := c.followers()[0]
	leader := c.leader()
	_, err := f.db.Create(context.Background(), CreateRequest{Name: "x", RandomKey: true})
	if !errors.Is(err, ErrNotLeader) || !strings.Contains(err.Error(), string(leader.addr)) {
		t.Fatalf("write on a follower without Forward: %v (want ErrNotLeader naming %s)", err, leader.addr)
	}
}
