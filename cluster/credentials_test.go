package cluster

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCreateClusterLoadRoundTrip(t *testing.T) {
	c := newCluster(t, "kdc1")
	got, err := Load(c.Dir())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got.NodeID() != "kdc1" || got.Fingerprint() != c.Fingerprint() {
		t.Errorf("Load = node %q fingerprint %s, want kdc1 %s", got.NodeID(), got.Fingerprint(), c.Fingerprint())
	}
	if !got.cert.Equal(c.cert) || !got.key.Equal(c.key) || !got.caKey.Equal(c.caKey) {
		t.Error("loaded certificate or keys differ from the created ones")
	}
	if len(got.cert.DNSNames) != 1 || got.cert.DNSNames[0] != ServerName {
		t.Errorf("node certificate SANs = %v, want [%s]", got.cert.DNSNames, ServerName)
	}
	if info, err := os.Stat(c.Dir()); err != nil || info.Mode().Perm() != dirPerm {
		t.Errorf("credentials dir mode = %v (%v), want %o", info.Mode().Perm(), err, dirPerm)
	}
	for _, name := range []string{CACertFile, CAKeyFile, NodeCertFile, NodeKeyFile} {
		info, err := os.Stat(filepath.Join(c.Dir(), name))
		if err != nil || info.Mode().Perm() != filePerm {
			t.Errorf("%s mode = %v (%v), want %o", name, info.Mode().Perm(), err, filePerm)
		}
	}
}

func TestCreateClusterRefuses(t *testing.T) {
	existing := newCluster(t, "kdc1")
	tests := []struct {
		name, dir, nodeID string
		want              error
	}{
		{"existing credentials", existing.Dir(), "kdc1", ErrCredentialsExist},
		{"empty node ID", t.TempDir(), "", ErrInvalid},
		{"node ID with a slash", t.TempDir(), "kdc/1", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := CreateCluster(tt.dir, tt.nodeID); !errors.Is(err, tt.want) {
				t.Fatalf("CreateCluster = %v, want %v", err, tt.want)
			}
		})
	}
	// The refused call must not have touched the existing credentials.
	if got, err := Load(existing.Dir()); err != nil || got.Fingerprint() != existing.Fingerprint() {
		t.Errorf("existing credentials changed: %v", err)
	}
}

func TestLoadRejects(t *testing.T) {
	other := newCluster(t, "other")
	tests := []struct {
		name   string
		mutate func(t *testing.T, dir string)
		want   error  // sentinel, if any
		substr string // otherwise part of the message
	}{
		{"missing node key", func(t *testing.T, dir string) { rm(t, dir, NodeKeyFile) }, ErrNoCredentials, ""},
		{"node certificate from another CA", func(t *testing.T, dir string) {
			cp(t, other.Dir(), dir, NodeCertFile)
			cp(t, other.Dir(), dir, NodeKeyFile)
		}, nil, "not valid for this cluster CA"},
		{"node key of another node", func(t *testing.T, dir string) { cp(t, other.Dir(), dir, NodeKeyFile) }, nil, "node key does not match"},
		{"CA key of another cluster", func(t *testing.T, dir string) { cp(t, other.Dir(), dir, CAKeyFile) }, nil, "CA key does not match"},
		{"garbage certificate", func(t *testing.T, dir string) { write(t, dir, CACertFile, "not pem") }, nil, "no PEM CERTIFICATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, "kdc1")
			tt.mutate(t, c.Dir())
			_, err := Load(c.Dir())
			switch {
			case err == nil:
				t.Fatal("Load accepted broken credentials")
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("Load = %v, want %v", err, tt.want)
			case tt.substr != "" && !strings.Contains(err.Error(), tt.substr):
				t.Fatalf("Load = %v, want it to mention %q", err, tt.substr)
			}
		})
	}
}

func rm(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func cp(t *testing.T, from, to, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(from, name))
	if err != nil {
		t.Fatal(err)
	}
	write(t, to, name, string(b))
}

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), fs.FileMode(filePerm)); err != nil {
		t.Fatal(err)
	}
}

// TestForgetCAKey: once the runtime moved the CA key into the database,
// the directory loads without it, and a node without it cannot be made
// to sign with another cluster's key.
func TestForgetCAKey(t *testing.T) {
	c := newCluster(t, "kdc1")
	der, err := c.CAKey()
	if err != nil || der == nil {
		t.Fatalf("CAKey of a new cluster = %v, %v", der, err)
	}
	if err := c.ForgetCAKey(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(c.Dir(), CAKeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s still there: %v", CAKeyFile, err)
	}
	got, err := Load(c.Dir())
	if err != nil {
		t.Fatalf("Load without the CA key: %v", err)
	}
	if k, _ := got.CAKey(); k != nil {
		t.Fatal("loaded credentials hold a CA key")
	}
	if err := got.CheckCAKey(der); err != nil {
		t.Fatalf("CheckCAKey(own key) = %v", err)
	}
	foreign, _ := newCluster(t, "other").CAKey()
	if err := got.CheckCAKey(foreign); err == nil {
		t.Fatal("CheckCAKey accepted another cluster's key")
	}
	key, _ := newKey()
	if _, _, err := got.signWith(foreign, "kdc2", key.Public(), time.Now()); err == nil {
		t.Fatal("signed with another cluster's key")
	}
	if cert, _, err := got.signWith(der, "kdc2", key.Public(), time.Now()); err != nil || verifyNode(cert, got.ca, time.Now()) != nil {
		t.Fatalf("signWith(own key) = %v", err)
	}
}
