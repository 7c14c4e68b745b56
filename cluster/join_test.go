package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestJoinCluster(t *testing.T) {
	other := newCluster(t, "stranger")
	tests := []struct {
		name     string
		token    func(t *testing.T, member *Credentials) string
		admitErr error
		nodeID   string
		want     error // nil: the join succeeds
		admitted int
	}{
		{name: "valid token", token: issueToken(time.Now()), nodeID: "kdc2", admitted: 1},
		{name: "wrong secret", token: func(t *testing.T, m *Credentials) string {
			parts := strings.Split(issueToken(time.Now())(t, m), ".")
			parts[1] = base64.RawURLEncoding.EncodeToString(make([]byte, secretBytes))
			return strings.Join(parts, ".")
		}, nodeID: "kdc2", want: ErrInvalidToken},
		{name: "expired token", token: issueToken(time.Now().Add(-DefaultTokenTTL - time.Minute)), nodeID: "kdc2", want: ErrTokenExpired},
		// The pin is checked before anything is sent: a member of another
		// cluster (or a man in the middle) never sees the secret.
		{name: "token pins another CA", token: func(t *testing.T, m *Credentials) string {
			parts := strings.Split(issueToken(time.Now())(t, m), ".")
			parts[2] = other.Fingerprint()
			return strings.Join(parts, ".")
		}, nodeID: "kdc2", want: ErrFingerprintMismatch},
		{name: "malformed token", token: func(*testing.T, *Credentials) string { return "kdcha1.x.y" }, nodeID: "kdc2", want: ErrInvalidToken},
		{name: "bad node ID", token: issueToken(time.Now()), nodeID: "kdc 2", want: ErrInvalid},
		{name: "admission refused", token: issueToken(time.Now()), admitErr: errBoom, nodeID: "kdc2", want: errRemote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			member := newCluster(t, "kdc1")
			h := &fakeHandler{self: "kdc1", leader: func() string { return "kdc1" }, admitErr: tt.admitErr}
			m := startMux(t, member, h)
			dir := filepath.Join(t.TempDir(), "joined")
			creds, adm, err := JoinCluster(context.Background(), m.Advertise(), tt.token(t, member), tt.nodeID, "127.0.0.1:7947", dir, 5*time.Second)
			if _, admitted := h.counts(); admitted != tt.admitted {
				t.Errorf("handler admitted %d nodes, want %d", admitted, tt.admitted)
			}
			if tt.want != nil {
				var re *RemoteError
				if !errors.Is(err, tt.want) && !(tt.want == errRemote && errors.As(err, &re)) {
					t.Fatalf("JoinCluster = %v, want %v", err, tt.want)
				}
				if _, lerr := Load(dir); !errors.Is(lerr, ErrNoCredentials) {
					t.Errorf("a failed join left credentials behind: Load = %v", lerr)
				}
				return
			}
			if err != nil {
				t.Fatalf("JoinCluster: %v", err)
			}
			if adm.Realm != "EXAMPLE.COM" || string(adm.MasterKey) != "master-key-bytes" {
				t.Errorf("admission = %q %q, want the handler's", adm.Realm, adm.MasterKey)
			}
			loaded, err := Load(dir)
			if err != nil {
				t.Fatalf("Load after join: %v", err)
			}
			if loaded.NodeID() != tt.nodeID || creds.NodeID() != tt.nodeID || loaded.Fingerprint() != member.Fingerprint() {
				t.Fatalf("joined credentials: node %q/%q of CA %s, want node %s of the member's CA %s",
					creds.NodeID(), loaded.NodeID(), loaded.Fingerprint(), tt.nodeID, member.Fingerprint())
			}
			assertMutualTLS(t, member, m, loaded)
			// The joined node holds the CA key, so it can admit in turn.
			if _, err := NewJoinToken(dir, 0); err != nil {
				t.Errorf("joined node cannot issue tokens: %v", err)
			}
			if _, _, err := JoinCluster(context.Background(), m.Advertise(), tt.token(t, member), tt.nodeID, "127.0.0.1:7947", dir, 5*time.Second); !errors.Is(err, ErrCredentialsExist) {
				t.Errorf("second join into the same dir = %v, want ErrCredentialsExist", err)
			}
		})
	}
}

// errRemote stands for "any *RemoteError" in the table.
var errRemote = errors.New("remote error")

func issueToken(now time.Time) func(t *testing.T, m *Credentials) string {
	return func(t *testing.T, m *Credentials) string {
		t.Helper()
		tok, err := newJoinToken(m.Dir(), 0, now)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

// assertMutualTLS checks that the joined node and the member accept each
// other on the RPC protocol, both ways.
func assertMutualTLS(t *testing.T, member *Credentials, memberMux *Mux, joined *Credentials) {
	t.Helper()
	ctx := context.Background()
	if _, err := NewClient(joined, Config{}).Status(ctx, memberMux.Advertise()); err != nil {
		t.Errorf("joined node -> member: %v", err)
	}
	jm := startMux(t, joined, &fakeHandler{self: "kdc2", leader: func() string { return "" }})
	if _, err := NewClient(member, Config{}).Status(ctx, jm.Advertise()); err != nil {
		t.Errorf("member -> joined node: %v", err)
	}
}
