package db

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// PasswordPolicy is a named password policy as MIT kadmin defines one
// (kadm5 policy). The database stores policies and the name attached to
// each principal; it does not enforce them yet (CheckPassword applies
// kdcha's fixed rules). They are replicated, carried in snapshots and
// backups, and exported back to MIT unchanged.
type PasswordPolicy struct {
	Name string `json:"name"`
	// MinLength and MinClasses constrain new passwords (character classes:
	// lower, upper, digits, punctuation, other).
	MinLength  int `json:"min_length,omitempty"`
	MinClasses int `json:"min_classes,omitempty"`
	// History is how many previous passwords may not be reused.
	History int `json:"history,omitempty"`
	// MinLife is how long a password must be kept before it can change;
	// MaxLife is how long it is valid (0: forever).
	MinLife time.Duration `json:"min_life,omitempty"`
	MaxLife time.Duration `json:"max_life,omitempty"`
	// MaxFailures preauth failures within FailureInterval lock the
	// principal for LockoutDuration (0: until an admin unlocks it).
	MaxFailures     int           `json:"max_failures,omitempty"`
	FailureInterval time.Duration `json:"failure_interval,omitempty"`
	LockoutDuration time.Duration `json:"lockout_duration,omitempty"`
}

// maxPolicyName bounds a policy name (MIT reads them into 1024 bytes).
const maxPolicyName = 1023

func (p *PasswordPolicy) check() error {
	if p.Name == "" || len(p.Name) > maxPolicyName || strings.ContainsFunc(p.Name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("%w: policy name %.40q", ErrInvalid, p.Name)
	}
	if p.MinLength < 0 || p.MinClasses < 0 || p.MinClasses > 5 || p.History < 0 || p.MaxFailures < 0 ||
		p.MinLife < 0 || p.MaxLife < 0 || p.FailureInterval < 0 || p.LockoutDuration < 0 {
		return fmt.Errorf("%w: policy %s has a negative or impossible value", ErrInvalid, p.Name)
	}
	return nil
}

func sortedPolicies(m map[string]PasswordPolicy) []PasswordPolicy {
	return slices.SortedFunc(maps.Values(m), func(a, b PasswordPolicy) int { return strings.Compare(a.Name, b.Name) })
}

// Policies returns the password policies, sorted by name.
func (d *DB) Policies() []PasswordPolicy {
	d.fsm.mu.Lock()
	defer d.fsm.mu.Unlock()
	return sortedPolicies(d.fsm.st.policies)
}
