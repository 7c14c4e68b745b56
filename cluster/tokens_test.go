package cluster

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewJoinToken(t *testing.T) {
	c := newCluster(t, "kdc1")
	tok, hash, err := NewJoinToken(c)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := parseToken(tok)
	if err != nil {
		t.Fatalf("parseToken(NewJoinToken()) = %v", err)
	}
	sum := sha256.Sum256(parsed.secret)
	if parsed.fingerprint != c.Fingerprint() || hash != hex.EncodeToString(sum[:]) {
		t.Fatalf("token pins %s with hash %s, want %s and the secret's SHA-256", parsed.fingerprint, hash, c.Fingerprint())
	}
	if strings.Contains(hash, strings.Split(tok, ".")[1]) {
		t.Fatal("hash holds the secret")
	}
	tok2, _, _ := NewJoinToken(c)
	if tok2 == tok {
		t.Fatal("two tokens are equal")
	}
}

func TestParseToken(t *testing.T) {
	c := newCluster(t, "kdc1")
	good, _, err := NewJoinToken(c)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	for _, tt := range []struct {
		name, token string
		ok          bool
	}{
		{"fresh token", good, true},
		{"surrounding whitespace", " " + good + "\n", true},
		{"short secret", strings.Join([]string{parts[0], base64.RawURLEncoding.EncodeToString(make([]byte, 16)), parts[2]}, "."), false},
		{"secret not base64", strings.Join([]string{parts[0], "!!", parts[2]}, "."), false},
		{"short fingerprint", strings.Join([]string{parts[0], parts[1], parts[2][:10]}, "."), false},
		{"malformed", "kdcha1.abc", false},
		{"wrong version", "kdcha2" + strings.TrimPrefix(good, "kdcha1"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseToken(tt.token)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidToken)) {
				t.Fatalf("parseToken = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestCheckTokenTTL(t *testing.T) {
	for _, tt := range []struct {
		ttl time.Duration
		ok  bool
	}{{time.Hour, true}, {time.Nanosecond, true}, {0, false}, {-time.Hour, false}} {
		if err := CheckTokenTTL(tt.ttl); (err == nil) != tt.ok {
			t.Errorf("CheckTokenTTL(%s) = %v, want ok %v", tt.ttl, err, tt.ok)
		}
	}
}

// FuzzParseToken: tokens come from the network (join requests) and from
// operators; parsing never panics, and what parses has a 32-byte secret
// and a SHA-256 fingerprint.
func FuzzParseToken(f *testing.F) {
	f.Add("kdcha1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA." + strings.Repeat("ab", 32))
	f.Add("kdcha1..")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := parseToken(s)
		if err != nil {
			return
		}
		if len(tok.secret) != secretBytes || len(tok.fingerprint) != 2*sha256.Size {
			t.Fatalf("parsed %q into a secret of %d bytes and fingerprint %q", s, len(tok.secret), tok.fingerprint)
		}
	})
}
