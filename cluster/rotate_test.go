package cluster

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// raftPair opens a Raft stream from creds to m and returns both ends.
func raftPair(t *testing.T, m *Mux, creds *Credentials) (client, server interface {
	Write([]byte) (int, error)
	Read([]byte) (int, error)
}) {
	t.Helper()
	c, err := creds.dial(t.Context(), m.Addr().String(), ProtoRaft)
	if err != nil {
		t.Fatalf("%s dial raft: %v", creds.NodeID(), err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := m.StreamLayer().Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return c, s
}

// roundTrip sends one byte from client and reads it at server.
func roundTrip(client, server interface {
	Write([]byte) (int, error)
	Read([]byte) (int, error)
}) error {
	if _, err := client.Write([]byte("x")); err != nil {
		return err
	}
	_, err := server.Read(make([]byte, 1))
	return err
}

// TestMuxRotatesCredentialsLive: a credentials rotation switches a running
// mux's certificate and trusted CAs. Credentials of the old CA (here a
// copy taken before the rotation, as from a stolen node) work while both
// CAs are trusted and are refused once the old one is dropped, on new
// handshakes and on Raft connections already open; renewed credentials
// work throughout.
func TestMuxRotatesCredentialsLive(t *testing.T) {
	node1 := newCluster(t, "kdc1")
	node2 := addMember(t, node1, "kdc2")
	stolenDir := filepath.Join(t.TempDir(), "stolen")
	if err := os.CopyFS(stolenDir, os.DirFS(node2.Dir())); err != nil {
		t.Fatal(err)
	}
	stolen, err := Load(stolenDir)
	if err != nil {
		t.Fatal(err)
	}
	// The runtime moves the CA key into the database at start.
	if err := node1.ForgetCAKey(); err != nil {
		t.Fatal(err)
	}
	m := startMux(t, node1, nil)
	oldC, oldS := raftPair(t, m, stolen)

	oldCA := node1.ca.Raw
	newCA, newKey, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	both := [][]byte{oldCA, newCA}
	// Every node trusts both CAs before any presents a certificate of the
	// new one.
	for _, n := range []*Credentials{node1, node2} {
		if err := n.SetTrusted(both); err != nil {
			t.Fatalf("SetTrusted(both) on %s: %v", n.NodeID(), err)
		}
	}
	if err := node1.Renew(newKey, both); err != nil {
		t.Fatalf("Renew kdc1: %v", err)
	}
	if !node1.IssuedBy(newCA) || node1.Fingerprint() != fingerprint(newCA) {
		t.Fatal("kdc1's certificate is not from the new CA after Renew")
	}
	// kdc2 has not renewed yet: old and new credentials meet.
	if err := roundTrip(raftPair(t, m, node2)); err != nil {
		t.Fatalf("kdc2 with old credentials against renewed kdc1: %v", err)
	}
	if err := node2.Renew(newKey, both); err != nil {
		t.Fatalf("Renew kdc2: %v", err)
	}
	newC, newS := raftPair(t, m, node2)
	if err := roundTrip(oldC, oldS); err != nil {
		t.Fatalf("old credentials' open connection before the drop: %v", err)
	}
	if err := roundTrip(newC, newS); err != nil {
		t.Fatalf("renewed credentials before the drop: %v", err)
	}

	if err := node1.SetTrusted([][]byte{newCA}); err != nil {
		t.Fatalf("SetTrusted: %v", err)
	}
	before := m.Refused().UntrustedCert
	if err := roundTrip(oldC, oldS); err == nil {
		t.Fatal("old credentials' open raft connection still reads after the drop")
	}
	if probe(t, m.Addr().String(), stolen, []string{ProtoRaft}, false) {
		t.Fatal("old credentials accepted on a new connection after the drop")
	}
	eventually(t, 2*time.Second, "untrusted_cert count", func() bool { return m.Refused().UntrustedCert == before+2 })
	if err := roundTrip(newC, newS); err != nil {
		t.Fatalf("renewed credentials' open connection after the drop: %v", err)
	}
	raftPair(t, m, node2)

	// Files: what a restart loads is what runs.
	got, err := Load(node1.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if !got.IssuedBy(newCA) || !got.Trusts([][]byte{newCA}) {
		t.Fatal("kdc1's files do not hold the renewed credentials")
	}
	// A node that missed the rotation cannot take the new trust.
	if err := stolen.SetTrusted([][]byte{newCA}); !errors.Is(err, ErrStaleCredentials) {
		t.Fatalf("SetTrusted on stale credentials = %v, want ErrStaleCredentials", err)
	}
	if b, _ := os.ReadFile(filepath.Join(stolenDir, CACertFile)); !bytes.Contains(b, []byte("CERTIFICATE")) {
		t.Fatal("stale node's CA file damaged")
	}
}

// TestLoadFinishesRenewal: a crash between writing the renewed key and
// certificate leaves the renewal file, and Load completes the switch.
func TestLoadFinishesRenewal(t *testing.T) {
	node := newCluster(t, "kdc1")
	key, err := node.CAKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Renew(key, [][]byte{node.ca.Raw}); err != nil {
		t.Fatal(err)
	}
	// Replay the state after the renewal file was written and the key
	// replaced, but not the certificate.
	keyPEM, _ := os.ReadFile(filepath.Join(node.Dir(), NodeKeyFile))
	certPEM, _ := os.ReadFile(filepath.Join(node.Dir(), NodeCertFile))
	if err := os.WriteFile(filepath.Join(node.Dir(), renewalFile), append(keyPEM, certPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	other := addMember(t, node, "kdc1")
	otherCert, _ := os.ReadFile(filepath.Join(other.Dir(), NodeCertFile))
	if err := os.WriteFile(filepath.Join(node.Dir(), NodeCertFile), otherCert, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(node.Dir()); err != nil {
		t.Fatalf("Load after an interrupted renewal: %v", err)
	}
	if _, err := os.Stat(filepath.Join(node.Dir(), renewalFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("renewal file left behind: %v", err)
	}
}

// FuzzLoadCACerts: the CA certificate file (one or more PEM certificates)
// and the renewal file are read from disk; neither may panic, and a bundle
// that parses encodes back to the same certificates.
func FuzzLoadCACerts(f *testing.F) {
	node := newCluster(f, "kdc1")
	ca := encodeCert(node.ca)
	f.Add(ca)
	f.Add(append(slices.Clone(ca), ca...))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cas, err := decodeCerts(b)
		if err == nil {
			again, err := decodeCerts(encodeCerts(cas))
			if err != nil || len(again) != len(cas) {
				t.Fatalf("re-encoded bundle: %d certificates, %v", len(again), err)
			}
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, renewalFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		finishRenewal(dir)
	})
}
