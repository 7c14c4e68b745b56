package node

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kdcha/kdcha/cluster"
	"github.com/kdcha/kdcha/internal/readiness"
	"github.com/kdcha/kdcha/kdc"

	"gopkg.in/yaml.v3"
)

// Mode says what a node runs (the top-level `mode:` key).
type Mode string

const (
	// ModeKDC (the default) runs the embedded KDC and kpasswd, the
	// Raft-replicated principal database, the cluster listener, the full
	// admin API, VRRP, health checks (with the node's own probe) and
	// notifications.
	ModeKDC Mode = "kdc"
	// ModeKeepalived runs only what keepalived runs in front of a KDC it
	// does not replace (e.g. MIT krb5kdc with its database in LDAP): VRRP,
	// the configured health checks against that KDC, notifications, the
	// metrics and health endpoints and a status-only admin API. There is
	// no embedded KDC, no database and no cluster TLS.
	ModeKeepalived Mode = "keepalived"
)

// embedsKDC reports whether the node runs its own KDC and database; the
// empty mode (a Config not made by DefaultConfig) is the default, kdc.
func (m Mode) embedsKDC() bool { return m != ModeKeepalived }

// readinessConditions are the startup conditions a node of this mode
// meets before it may take a VIP (see TrackReadiness): a node without a
// KDC or a replica has no such condition to wait for.
func (m Mode) readinessConditions() []string {
	if !m.embedsKDC() {
		return []string{readiness.FirstHealthVerdict}
	}
	return []string{readiness.KDCListening, readiness.ReplicaCaughtUp, readiness.FirstHealthVerdict}
}

// validateMode checks the mode and, for mode keepalived, reports every key
// that would be silently ignored (they configure the KDC, the database or
// the cluster the node does not run).
func (c *Config) validateMode() []error {
	switch c.Mode {
	case "", ModeKDC:
		return nil
	case ModeKeepalived:
	default:
		return []error{fmt.Errorf("mode: %q must be %s or %s", c.Mode, ModeKDC, ModeKeepalived)}
	}
	// Keys written in the file (even at their default value, like
	// kdc.listen) and, for a Config built in code, values off their
	// defaults.
	keys := slices.Clone(c.unusedFileKeys)
	def := DefaultConfig()
	keys = append(keys, changedKeys("kdc", kdc.DefaultConfig(), c.KDC)...)
	keys = append(keys, changedKeys("cluster", cluster.Config{}, c.Cluster)...)
	keys = append(keys, changedKeys("database", DatabaseConfig{}, c.Database)...)
	if c.Node.DataDir != def.Node.DataDir {
		keys = append(keys, "node.data_dir")
	}
	if c.Node.FaultInjection {
		keys = append(keys, "node.fault_injection")
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var errs []error
	for _, k := range keys {
		errs = append(errs, fmt.Errorf("%s: not used in mode %s (no embedded KDC, database or cluster)", k, c.Mode))
	}
	return errs
}

// modeSections are the sections whose own validation applies in c's mode:
// without an embedded KDC the KDC and cluster sections are reported as
// unused instead (validateMode).
func (c *Config) modeSections() []interface{ Validate() error } {
	var out []interface{ Validate() error }
	if c.Mode.embedsKDC() {
		out = append(out, c.KDC)
		if c.Clustered() {
			out = append(out, c.Cluster.WithDefaults())
		}
	}
	return append(out, c.VRRP, &c.Health, c.Notify)
}

// keepalivedUnused are the sections and keys that mean nothing without an
// embedded KDC: their keys in a file are reported even at their default
// value.
var keepalivedUnused = []string{"kdc", "cluster", "database", "node.data_dir", "node.fault_injection"}

// unusedKeys lists the keys of keepalivedUnused written in the file
// root: every key of a section, or the key itself.
func unusedKeys(root *yaml.Node) []string {
	if len(root.Content) == 0 {
		return nil
	}
	var out []string
	for _, path := range keepalivedUnused {
		n := root.Content[0]
		for _, part := range strings.Split(path, ".") {
			if n = mappingValue(n, part); n == nil {
				break
			}
		}
		switch {
		case n == nil:
		case n.Kind == yaml.MappingNode && !strings.Contains(path, "."):
			for i := 0; i+1 < len(n.Content); i += 2 {
				out = append(out, path+"."+n.Content[i].Value)
			}
		default:
			out = append(out, path)
		}
	}
	return out
}
