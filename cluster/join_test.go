package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestJoinCluster(t *testing.T) {
	other := newCluster(t, "stranger")
	tests := []struct {
		name     string
		token    func(h *fakeHandler, t *testing.T) string
		admitErr error
		nodeID   string
		want     error // nil: the join succeeds
		admitted int
	}{
		{name: "valid token", token: (*fakeHandler).issue, nodeID: "kdc2", admitted: 1},
		{name: "wrong secret", token: func(h *fakeHandler, t *testing.T) string {
			parts := strings.Split(h.issue(t), ".")
			parts[1] = base64.RawURLEncoding.EncodeToString(make([]byte, secretBytes))
			return strings.Join(parts, ".")
		}, nodeID: "kdc2", want: ErrInvalidToken},
		// The pin is checked before anything is sent: a member of another
		// cluster (or a man in the middle) never sees the secret.
		{name: "token pins another CA", token: func(h *fakeHandler, t *testing.T) string {
			parts := strings.Split(h.issue(t), ".")
			parts[2] = other.Fingerprint()
			return strings.Join(parts, ".")
		}, nodeID: "kdc2", want: ErrFingerprintMismatch},
		{name: "malformed token", token: func(*fakeHandler, *testing.T) string { return "kdcha1.x.y" }, nodeID: "kdc2", want: ErrInvalidToken},
		{name: "bad node ID", token: (*fakeHandler).issue, nodeID: "kdc 2", want: ErrInvalid},
		{name: "admission refused", token: (*fakeHandler).issue, admitErr: errBoom, nodeID: "kdc2", want: errRemote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			member := newCluster(t, "kdc1")
			h := &fakeHandler{self: "kdc1", leader: func() string { return "kdc1" }, admitErr: tt.admitErr, ca: member}
			m := startMux(t, member, h)
			dir := filepath.Join(t.TempDir(), "joined")
			token := tt.token(h, t)
			creds, adm, err := JoinCluster(context.Background(), m.Advertise(), token, tt.nodeID, "127.0.0.1:7947", dir, 5*time.Second)
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
			// The CA key stays with the cluster's database.
			if _, err := os.Stat(filepath.Join(dir, CAKeyFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("joined node got a CA key file: %v", err)
			}
			if k, _ := loaded.CAKey(); k != nil {
				t.Error("joined node holds the CA key")
			}
			if _, _, err := JoinCluster(context.Background(), m.Advertise(), h.issue(t), tt.nodeID, "127.0.0.1:7947", dir, 5*time.Second); !errors.Is(err, ErrCredentialsExist) {
				t.Errorf("second join into the same dir = %v, want ErrCredentialsExist", err)
			}
			// The token was used up: a second node cannot join with it.
			if _, _, err := JoinCluster(context.Background(), m.Advertise(), token, "kdc3", "127.0.0.1:7948", filepath.Join(t.TempDir(), "j3"), 5*time.Second); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("second join with one token = %v, want ErrInvalidToken", err)
			}
		})
	}
}

// errRemote stands for "any *RemoteError" in the table.
var errRemote = errors.New("remote error")

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
