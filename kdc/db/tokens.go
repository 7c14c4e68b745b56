package db

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Join tokens live in the replicated state so that any member accepts a
// token any member issued, and so that using one is a single replicated
// write that only one join can win. Only the SHA-256 of a token's secret is
// stored (the cluster package makes and hashes tokens); a copy of the
// database or of a snapshot yields no usable token.

// ErrJoinToken: a join token is unknown, expired or already used.
var ErrJoinToken = errors.New("join token unknown, expired or already used")

// joinTokenCmd is the payload of add_token and use_token.
type joinTokenCmd struct {
	// Hash is the lowercase hex SHA-256 of the token's secret.
	Hash string `json:"sha256"`
	// Expires is set by add_token.
	Expires time.Time `json:"expires,omitzero"`
	// Node is the node ID a use_token admits.
	Node string `json:"node,omitempty"`
}

// joinToken is a token as the FSM stores it and snapshots write it.
type joinToken struct {
	Hash    string    `json:"sha256"`
	Expires time.Time `json:"expires"`
	// UsedBy is the node ID the token admitted; a used token is kept until
	// it expires so that a second use is told "already used".
	UsedBy string    `json:"used_by,omitempty"`
	UsedAt time.Time `json:"used_at,omitzero"`
}

func checkTokenHash(h string) error {
	if b, err := hex.DecodeString(h); err != nil || len(b) != 32 || h != strings.ToLower(h) {
		return fmt.Errorf("%w: join token hash must be 64 lowercase hex digits", ErrInvalid)
	}
	return nil
}

// AddJoinToken stores a new join token's hash, valid for ttl from now.
func (d *DB) AddJoinToken(ctx context.Context, hash string, ttl time.Duration) error {
	if err := checkTokenHash(hash); err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("%w: join token TTL %s is not positive", ErrInvalid, ttl)
	}
	now := time.Now().UTC()
	return d.proposeCluster(ctx, &command{Op: opAddToken, Time: now, Name: "join-token", Token: &joinTokenCmd{Hash: hash, Expires: now.Add(ttl)}})
}

// UseJoinToken marks the token with this hash used by node. It fails with
// ErrJoinToken unless the token exists, has not expired and was never
// used: of two joins with one token, exactly one succeeds.
func (d *DB) UseJoinToken(ctx context.Context, hash, node string) error {
	if err := checkTokenHash(hash); err != nil {
		return err
	}
	return d.proposeCluster(ctx, &command{Op: opUseToken, Name: node, Token: &joinTokenCmd{Hash: hash, Node: node}})
}

// proposeCluster commits a command that changes cluster state rather than
// a principal, through the leader, and returns once it is applied here.
func (d *DB) proposeCluster(ctx context.Context, c *command) error {
	if c.Time.IsZero() {
		c.Time = time.Now().UTC()
	}
	b, err := encodeCommand(c)
	if err != nil {
		return err
	}
	if d.forward == nil || d.node.isLeader() {
		_, _, err = d.applyLocal(ctx, c, b)
	} else {
		_, err = d.applyForwarded(ctx, c, b)
	}
	return err
}

// pruneTokens drops tokens expired at now; f.mu is held. It runs on every
// token command, at the command's time, so every node prunes alike.
func (f *fsm) pruneTokens(now time.Time) {
	maps.DeleteFunc(f.st.tokens, func(_ string, t joinToken) bool { return !now.Before(t.Expires) })
}

func (f *fsm) addToken(c *command) error {
	if c.Token == nil {
		return fmt.Errorf("%w: add_token without a token", ErrInvalid)
	}
	if err := checkTokenHash(c.Token.Hash); err != nil {
		return err
	}
	f.pruneTokens(c.Time)
	if !c.Time.Before(c.Token.Expires) {
		return fmt.Errorf("%w: join token already expired", ErrInvalid)
	}
	if _, dup := f.st.tokens[c.Token.Hash]; dup {
		return fmt.Errorf("%w: join token issued twice", ErrInvalid)
	}
	f.st.tokens[c.Token.Hash] = joinToken{Hash: c.Token.Hash, Expires: c.Token.Expires}
	return nil
}

func (f *fsm) useToken(c *command) error {
	if c.Token == nil || c.Token.Node == "" {
		return fmt.Errorf("%w: use_token without a token or node", ErrInvalid)
	}
	f.pruneTokens(c.Time)
	t, ok := f.st.tokens[c.Token.Hash]
	switch {
	case !ok:
		return fmt.Errorf("%w: unknown or expired", ErrJoinToken)
	case t.UsedBy != "":
		return fmt.Errorf("%w: already used by node %s at %s", ErrJoinToken, t.UsedBy, t.UsedAt.Format(time.RFC3339))
	}
	t.UsedBy, t.UsedAt = c.Token.Node, c.Time
	f.st.tokens[t.Hash] = t
	return nil
}

// tokenList is the snapshot form of the tokens, sorted so that the same
// state always snapshots to the same bytes; f.mu is held.
func (f *fsm) tokenList() []joinToken {
	return slices.SortedFunc(maps.Values(f.st.tokens), func(a, b joinToken) int { return strings.Compare(a.Hash, b.Hash) })
}

// loadTokens checks a snapshot's tokens into st.
func loadTokens(st *fsmState, tokens []joinToken) error {
	for _, t := range tokens {
		if err := checkTokenHash(t.Hash); err != nil {
			return err
		}
		if _, dup := st.tokens[t.Hash]; dup {
			return fmt.Errorf("%w: join token listed twice", ErrInvalid)
		}
		st.tokens[t.Hash] = t
	}
	return nil
}
