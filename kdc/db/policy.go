package db

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// PasswordPolicy is a named password policy as MIT kadmin defines one
// (kadm5 policy), enforced on every password set: the rules that need the
// password itself (length, classes, common passwords, the principal's
// name) by the node that derives the keys (CheckPassword), the rules that
// need the principal's history and times (history, minlife, maxlife) by
// the FSM when it applies the change, so that every node agrees. Policies
// are replicated, carried in snapshots and backups, and exported back to
// MIT unchanged.
type PasswordPolicy struct {
	Name string `json:"name"`
	// MinLength and MinClasses constrain new passwords (character classes:
	// lower, upper, digits, punctuation, other).
	MinLength  int `json:"min_length,omitempty"`
	MinClasses int `json:"min_classes,omitempty"`
	// History is how many passwords, the current one included, a new one
	// may not repeat (0: no check). Passwords are remembered as hashes of
	// their keys, never in the clear.
	History int `json:"history,omitempty"`
	// MinLife is how long a password must be kept before its owner can
	// change it (an admin can always set it); MaxLife is how long it is
	// valid (0: forever): each password set sets the password expiration
	// to now + MaxLife.
	MinLife time.Duration `json:"min_life,omitempty"`
	MaxLife time.Duration `json:"max_life,omitempty"`
	// MaxFailures preauth failures within FailureInterval lock the
	// principal for LockoutDuration (0: until an admin unlocks it).
	MaxFailures     int           `json:"max_failures,omitempty"`
	FailureInterval time.Duration `json:"failure_interval,omitempty"`
	LockoutDuration time.Duration `json:"lockout_duration,omitempty"`
	// AllowCommon accepts passwords from the built-in list of the most
	// common passwords, which every policy refuses unless this is set (MIT
	// has a realm-wide dict_file instead).
	AllowCommon bool `json:"allow_common,omitempty"`
}

// DefaultPolicyName names the realm default policy. It applies to every
// principal that names no policy (or one that no longer exists), as MIT
// kadmin gives new principals the policy called "default" when there is
// one. Until an admin stores a policy of that name, BuiltinDefaultPolicy
// is the realm default.
const DefaultPolicyName = "default"

// BuiltinDefaultPolicy is the realm default when none is stored: at least
// 8 characters, not the principal's name, not a common password.
var BuiltinDefaultPolicy = PasswordPolicy{Name: DefaultPolicyName, MinLength: 8}

// maxPolicyName bounds a policy name (MIT reads them into 1024 bytes).
const maxPolicyName = 1023

func (p *PasswordPolicy) check() error {
	if p.Name == "" || len(p.Name) > maxPolicyName || strings.ContainsFunc(p.Name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("%w: policy name %.40q", ErrInvalid, p.Name)
	}
	if p.MinLength < 0 || p.MinClasses < 0 || p.MinClasses > 5 || p.History < 0 || p.History > maxHistory || p.MaxFailures < 0 ||
		p.MinLife < 0 || p.MaxLife < 0 || p.FailureInterval < 0 || p.LockoutDuration < 0 {
		return fmt.Errorf("%w: policy %s has a negative or impossible value", ErrInvalid, p.Name)
	}
	if p.MinLength > maxPasswordRunes {
		return fmt.Errorf("%w: policy %s: minlength %d is above the longest password accepted (%d)", ErrInvalid, p.Name, p.MinLength, maxPasswordRunes)
	}
	return nil
}

// maxPasswordRunes bounds a policy's minimum length: kpasswd accepts
// passwords up to 1024 bytes.
const maxPasswordRunes = 1024

// refuse is the error of a policy rule; rule is MIT's name for it.
func (p *PasswordPolicy) refuse(rule, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s: %s", ErrWeakPassword, p.Name, rule, fmt.Sprintf(format, args...))
}

// CheckPassword applies the rules of p that need the password itself to a
// new password of the principal with the given name components. The error
// wraps ErrWeakPassword, names the policy and the rule, and never echoes
// the password.
func (p *PasswordPolicy) CheckPassword(components []string, password string) error {
	if password == "" {
		return p.refuse("minlength", "empty password")
	}
	if n := utf8.RuneCountInString(password); n < p.MinLength {
		return p.refuse("minlength", "%d characters, at least %d required", n, p.MinLength)
	}
	if n := charClasses(password); n < p.MinClasses {
		return p.refuse("minclasses", "%d character classes, at least %d required (lower case, upper case, digits, punctuation, other)", n, p.MinClasses)
	}
	if len(components) > 0 && components[0] != "" &&
		strings.Contains(strings.ToLower(password), strings.ToLower(components[0])) {
		return p.refuse("princ", "contains the principal name %q", components[0])
	}
	if !p.AllowCommon && isCommonPassword(password) {
		return p.refuse("dict", "one of the most common passwords")
	}
	return nil
}

// charClasses counts the MIT character classes present in s.
func charClasses(s string) int {
	var lower, upper, digit, punct, other bool
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		case r < utf8.RuneSelf && unicode.IsPrint(r) && !unicode.IsSpace(r):
			punct = true
		default:
			other = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit, punct, other} {
		if b {
			n++
		}
	}
	return n
}

// effectivePolicy is the policy that governs a principal naming policy
// name: that policy, else the stored realm default, else the built-in one.
func effectivePolicy(policies map[string]PasswordPolicy, name string) PasswordPolicy {
	if p, ok := policies[name]; ok && name != "" {
		return p
	}
	if p, ok := policies[DefaultPolicyName]; ok {
		return p
	}
	return BuiltinDefaultPolicy
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

// Policy returns the stored policy called name; the realm default
// ("default") is found even when only the built-in one exists.
func (d *DB) Policy(name string) (PasswordPolicy, error) {
	d.fsm.mu.Lock()
	defer d.fsm.mu.Unlock()
	if p, ok := d.fsm.st.policies[name]; ok {
		return p, nil
	}
	if name == DefaultPolicyName {
		return BuiltinDefaultPolicy, nil
	}
	return PasswordPolicy{}, fmt.Errorf("%w: policy %s", ErrNotFound, name)
}

// policyNamed is the policy a principal naming name would be governed by.
func (d *DB) policyNamed(name string) PasswordPolicy {
	d.fsm.mu.Lock()
	defer d.fsm.mu.Unlock()
	return effectivePolicy(d.fsm.st.policies, name)
}

// PolicyOf returns the policy that governs principal p's passwords.
func (d *DB) PolicyOf(p *Principal) PasswordPolicy { return d.policyNamed(p.Policy) }

// SetPolicy creates or replaces a policy. Principals governed by it follow
// the new password rules from their next password change, and their
// password expiration follows a new max life at once (policyexpiry.go).
func (d *DB) SetPolicy(ctx context.Context, p PasswordPolicy) error {
	if err := p.check(); err != nil {
		return err
	}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	_, err := d.propose(ctx, &command{Op: opSetPolicy, PasswordPolicy: &p})
	return err
}

// DeletePolicy deletes a policy no principal names (deleting "default"
// brings back the built-in default).
func (d *DB) DeletePolicy(ctx context.Context, name string) error {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	_, err := d.propose(ctx, &command{Op: opDeletePolicy, PasswordPolicy: &PasswordPolicy{Name: name}})
	return err
}

// setPolicy applies opSetPolicy.
func (f *fsm) setPolicy(c *command) error {
	if c.PasswordPolicy == nil {
		return fmt.Errorf("%w: set_policy without a policy", ErrInvalid)
	}
	p := *c.PasswordPolicy
	if err := p.check(); err != nil {
		return err
	}
	return f.replacePolicies(withPolicy(f.st.policies, p), c.Time)
}

// deletePolicy applies opDeletePolicy; a policy in use stays (MIT refuses
// too), so no principal silently falls back to the default.
func (f *fsm) deletePolicy(c *command) error {
	if c.PasswordPolicy == nil {
		return fmt.Errorf("%w: delete_policy without a name", ErrInvalid)
	}
	name := c.PasswordPolicy.Name
	if _, ok := f.st.policies[name]; !ok {
		return fmt.Errorf("%w: policy %s", ErrNotFound, name)
	}
	n := 0
	for _, r := range f.st.records {
		if r.Policy == name {
			n++
		}
	}
	if n > 0 {
		return fmt.Errorf("%w: policy %s is assigned to %d principals", ErrConflict, name, n)
	}
	after := maps.Clone(f.st.policies)
	delete(after, name)
	return f.replacePolicies(after, c.Time)
}

// checkPolicyName refuses assigning a policy that does not exist ("" and
// the realm default always do).
func (f *fsm) checkPolicyName(name string) error {
	if _, ok := f.st.policies[name]; ok || name == "" || name == DefaultPolicyName {
		return nil
	}
	return fmt.Errorf("%w: policy %s does not exist", ErrInvalid, name)
}
