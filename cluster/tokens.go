package cluster

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// DefaultTokenTTL is how long a join token stays valid when
	// NewJoinToken is given no TTL.
	DefaultTokenTTL = 24 * time.Hour
	// TokensFile lists the hashes and expiries of the join tokens this
	// node issued (JSON, 0600), next to the credentials.
	TokensFile = "join-tokens.json"

	tokenPrefix = "kdcha1"
	secretBytes = 32
)

// storedToken is a token as kept on disk: only the SHA-256 of its secret,
// so that a copy of the data directory does not yield a usable token.
type storedToken struct {
	Hash    string    `json:"sha256"`
	Expires time.Time `json:"expires"`
}

// joinToken is a parsed "kdcha1.<secret>.<CA fingerprint>".
type joinToken struct {
	secret      []byte
	fingerprint string
}

// NewJoinToken issues a join token valid for ttl (DefaultTokenTTL if ttl
// <= 0) on the node whose credentials are in dir: the joiner must present
// it to this node. The token is "kdcha1.<secret>.<sha256 of the CA
// certificate>"; only the secret's hash is stored. Expired tokens are
// pruned from the file on the way.
func NewJoinToken(dir string, ttl time.Duration) (string, error) {
	return newJoinToken(dir, ttl, time.Now())
}

func newJoinToken(dir string, ttl time.Duration, now time.Time) (string, error) {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	b, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w in %s: %s missing", ErrNoCredentials, dir, CACertFile)
	}
	if err != nil {
		return "", fmt.Errorf("read cluster CA: %w", err)
	}
	ca, err := decodeCert(b)
	if err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(dir, CACertFile), err)
	}
	secret := make([]byte, secretBytes)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("token secret: %w", err)
	}
	tokens, err := readTokens(dir)
	if err != nil {
		return "", err
	}
	tokens = append(unexpired(tokens, now), storedToken{Hash: hashSecret(secret), Expires: now.Add(ttl).UTC()})
	if err := writeTokens(dir, tokens); err != nil {
		return "", err
	}
	return strings.Join([]string{tokenPrefix, base64.RawURLEncoding.EncodeToString(secret), fingerprint(ca.Raw)}, "."), nil
}

// parseToken splits a token without judging its secret.
func parseToken(s string) (joinToken, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 3 || parts[0] != tokenPrefix {
		return joinToken{}, fmt.Errorf("%w: want %s.<secret>.<CA fingerprint>", ErrInvalidToken, tokenPrefix)
	}
	secret, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || len(secret) != secretBytes {
		return joinToken{}, fmt.Errorf("%w: malformed secret", ErrInvalidToken)
	}
	if fp, err := hex.DecodeString(parts[2]); err != nil || len(fp) != sha256.Size {
		return joinToken{}, fmt.Errorf("%w: malformed CA fingerprint", ErrInvalidToken)
	}
	return joinToken{secret: secret, fingerprint: strings.ToLower(parts[2])}, nil
}

// checkToken accepts a token issued by the node whose credentials are c and
// not yet expired. Tokens stay valid until they expire, so a join that
// failed half-way can be retried with the same token.
func checkToken(c *Credentials, tok joinToken, now time.Time) error {
	if subtle.ConstantTimeCompare([]byte(tok.fingerprint), []byte(c.Fingerprint())) != 1 {
		return fmt.Errorf("%w: issued for another cluster", ErrInvalidToken)
	}
	tokens, err := readTokens(c.dir)
	if err != nil {
		return err
	}
	want := []byte(hashSecret(tok.secret))
	var found *storedToken
	// Compare against every entry in constant time so that timing reveals
	// neither which entry matched nor how much of a hash did.
	for i := range tokens {
		if subtle.ConstantTimeCompare(want, []byte(tokens[i].Hash)) == 1 {
			found = &tokens[i]
		}
	}
	switch {
	case found == nil:
		return fmt.Errorf("%w: unknown to this member (tokens are valid on the node that issued them)", ErrInvalidToken)
	case !now.Before(found.Expires):
		return fmt.Errorf("%w at %s", ErrTokenExpired, found.Expires.Format(time.RFC3339))
	}
	return nil
}

func hashSecret(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:])
}

func unexpired(tokens []storedToken, now time.Time) []storedToken {
	out := tokens[:0]
	for _, t := range tokens {
		if now.Before(t.Expires) {
			out = append(out, t)
		}
	}
	return out
}

func readTokens(dir string) ([]storedToken, error) {
	p := filepath.Join(dir, TokensFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read join tokens: %w", err)
	}
	var tokens []storedToken
	if err := json.Unmarshal(b, &tokens); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return tokens, nil
}

func writeTokens(dir string, tokens []storedToken) error {
	b, err := json.MarshalIndent(tokens, "", "  ")
	if err != nil {
		return fmt.Errorf("encode join tokens: %w", err)
	}
	return writePrivateFile(filepath.Join(dir, TokensFile), append(b, '\n'))
}
