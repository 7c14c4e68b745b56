package cluster

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

const (
	// DefaultTokenTTL is how long a join token stays valid unless the
	// operator asks for another TTL.
	DefaultTokenTTL = 24 * time.Hour

	tokenPrefix = "kdcha1"
	secretBytes = 32
)

// joinToken is a parsed "kdcha1.<secret>.<CA fingerprint>".
type joinToken struct {
	secret      []byte
	fingerprint string
}

// NewJoinToken makes a join token for the cluster whose CA c trusts:
// "kdcha1.<secret>.<sha256 of the CA certificate>". It returns the token,
// for the operator, and the hash of its secret (TokenHash), which is all
// the cluster stores; the caller stores it with its expiry in the
// replicated database, where every member finds it and a join uses it up.
func NewJoinToken(c *Credentials) (token, hash string, err error) {
	secret := make([]byte, secretBytes)
	if _, err := rand.Read(secret); err != nil {
		return "", "", fmt.Errorf("token secret: %w", err)
	}
	token = strings.Join([]string{tokenPrefix, base64.RawURLEncoding.EncodeToString(secret), c.Fingerprint()}, ".")
	return token, hashSecret(secret), nil
}

// CheckTokenTTL refuses a TTL that would make a token that is never (or
// always) valid: zero or negative is an operator's mistake, not a default.
func CheckTokenTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: join token TTL %s: must be positive", ErrInvalid, ttl)
	}
	return nil
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

// hashSecret is the lowercase hex SHA-256 of a token's secret, the form
// in which tokens are stored and looked up. The secret is 32 random bytes,
// so an unsalted hash is enough and lookups need no comparison of secrets.
func hashSecret(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:])
}
