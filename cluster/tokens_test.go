package cluster

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckToken(t *testing.T) {
	c := newCluster(t, "kdc1")
	other := newCluster(t, "other")
	now := time.Now()
	issue := func(t *testing.T, dir string, ttl time.Duration) string {
		t.Helper()
		tok, err := newJoinToken(dir, ttl, now)
		if err != nil {
			t.Fatalf("newJoinToken: %v", err)
		}
		return tok
	}
	tests := []struct {
		name  string
		token func(t *testing.T) string
		at    time.Time
		want  error
	}{
		{"fresh token", func(t *testing.T) string { return issue(t, c.Dir(), 0) }, now.Add(time.Minute), nil},
		{"just before the default expiry", func(t *testing.T) string { return issue(t, c.Dir(), 0) }, now.Add(DefaultTokenTTL - time.Second), nil},
		{"after the default expiry", func(t *testing.T) string { return issue(t, c.Dir(), 0) }, now.Add(DefaultTokenTTL), ErrTokenExpired},
		{"after a custom TTL", func(t *testing.T) string { return issue(t, c.Dir(), time.Hour) }, now.Add(2 * time.Hour), ErrTokenExpired},
		{"wrong secret", func(t *testing.T) string {
			parts := strings.Split(issue(t, c.Dir(), 0), ".")
			parts[1] = base64.RawURLEncoding.EncodeToString(make([]byte, secretBytes))
			return strings.Join(parts, ".")
		}, now, ErrInvalidToken},
		{"issued by another cluster", func(t *testing.T) string { return issue(t, other.Dir(), 0) }, now, ErrInvalidToken},
		{"our fingerprint, other cluster's secret", func(t *testing.T) string {
			parts := strings.Split(issue(t, other.Dir(), 0), ".")
			parts[2] = c.Fingerprint()
			return strings.Join(parts, ".")
		}, now, ErrInvalidToken},
		{"malformed", func(*testing.T) string { return "kdcha1.abc" }, now, ErrInvalidToken},
		{"wrong version", func(t *testing.T) string { return "kdcha2" + strings.TrimPrefix(issue(t, c.Dir(), 0), "kdcha1") }, now, ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := parseToken(tt.token(t))
			if err == nil {
				err = checkToken(c, tok, tt.at)
			}
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("token check = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTokenFileHoldsHashesAndPrunes(t *testing.T) {
	c := newCluster(t, "kdc1")
	now := time.Now()
	old, err := newJoinToken(c.Dir(), time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := NewJoinToken(c.Dir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(c.Dir(), TokensFile)
	info, err := os.Stat(p)
	if err != nil || info.Mode().Perm() != filePerm {
		t.Fatalf("%s mode = %v (%v), want %o", TokensFile, info.Mode().Perm(), err, filePerm)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{old, fresh} {
		if secret := strings.Split(tok, ".")[1]; strings.Contains(string(b), secret) {
			t.Errorf("%s holds a token secret in the clear", TokensFile)
		}
	}
	// Issuing after the first expired drops it from the file.
	if _, err := newJoinToken(c.Dir(), 0, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	tokens, err := readTokens(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 2 {
		t.Errorf("token file has %d entries after pruning, want 2", len(tokens))
	}
}

func TestNewJoinTokenWithoutCredentials(t *testing.T) {
	if _, err := NewJoinToken(t.TempDir(), 0); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("NewJoinToken in an empty dir = %v, want ErrNoCredentials", err)
	}
}
