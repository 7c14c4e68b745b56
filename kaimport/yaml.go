package kaimport

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/notify"
	"github.com/kdcha/kdcha/vrrp"
)

// document is the part of the agent configuration a conversion fills, with
// the agent's key names; every other key keeps the agent's default.
type document struct {
	Realm string `yaml:"realm"`
	// Mode is always keepalived: the converted node fronts the KDC
	// keepalived fronted instead of replacing it.
	Mode   string         `yaml:"mode"`
	Node   *nodeSection   `yaml:"node,omitempty"`
	VRRP   vrrp.Config    `yaml:"vrrp"`
	Health *health.Config `yaml:"health,omitempty"`
	Notify *notify.Config `yaml:"notify,omitempty"`
}

type nodeSection struct {
	Name string `yaml:"name"`
}

// instanceKeys are written even at their default value: they are what a
// reader compares with the keepalived file.
var instanceKeys = map[string]bool{"name": true, "interface": true, "vrid": true, "priority": true, "version": true, "advert_interval": true, "virtual_ipaddresses": true}

// YAML renders the result as an agent configuration file. Values equal to
// the agent's defaults are left out; comments name each item's source
// line, what changed, and (at the top) what was not carried over.
func (r *Result) YAML(source string) ([]byte, error) {
	doc := document{Realm: r.Realm, Mode: "keepalived", VRRP: r.VRRP}
	if r.NodeName != "" {
		doc.Node = &nodeSection{Name: r.NodeName}
	}
	if len(r.Health.Checks) > 0 {
		doc.Health = &r.Health
	}
	if len(r.Notify.Scripts) > 0 {
		doc.Notify = &r.Notify
	}
	var root yaml.Node
	if err := root.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if n := value(value(&root, "vrrp"), "instances"); n != nil {
		def, err := encode(vrrp.DefaultInstanceConfig())
		if err != nil {
			return nil, err
		}
		for i, in := range n.Content {
			prune(in, def, instanceKeys)
			in.HeadComment = r.comments["vrrp:"+r.VRRP.Instances[i].Name]
		}
	}
	if n := value(value(&root, "health"), "checks"); n != nil {
		zero, err := encode(health.CheckConfig{})
		if err != nil {
			return nil, err
		}
		for i, c := range n.Content {
			prune(c, zero, map[string]bool{"name": true, "type": true})
			c.HeadComment = r.comments["check:"+r.Health.Checks[i].Name]
		}
		value(&root, "health").Content[0].HeadComment = "vrrp_script blocks, with keepalived's interval/timeout/rise/fall/weight semantics;\nkdcha applies every check to every instance"
	}
	if n := value(value(&root, "notify"), "scripts"); n != nil {
		zero, err := encode(notify.Config{})
		if err != nil {
			return nil, err
		}
		prune(value(&root, "notify"), zero, nil)
		zeroScript, err := encode(notify.ScriptConfig{})
		if err != nil {
			return nil, err
		}
		for i := 1; i < len(n.Content); i += 2 {
			prune(n.Content[i], zeroScript, nil)
		}
		value(&root, "notify").Content[0].HeadComment = "keepalived's notify* scripts: same arguments, run without a shell, one at a time per instance"
	}
	root.HeadComment = r.header(source)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return b.Bytes(), nil
}

// header is the comment at the top of the file.
func (r *Result) header(source string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kdcha agent configuration converted from %s by `kdcha import keepalived`.\n", printable(source))
	b.WriteString("Keys not written take the agent's defaults (see configs/keepalived-only.yaml).\n")
	b.WriteString("\nmode: keepalived: like keepalived, the agent runs VRRP, the health checks and the notify\n")
	b.WriteString("scripts only, in front of the KDC you keep (e.g. MIT krb5kdc); it runs no KDC or database.\n")
	for _, n := range r.Notes {
		b.WriteString("\nCheck: " + printable(n) + "\n")
	}
	if len(r.NotCarried) > 0 {
		fmt.Fprintf(&b, "\nNot carried over (%d):\n", len(r.NotCarried))
		for _, n := range r.NotCarried {
			fmt.Fprintf(&b, "  %s: %s\n    %s\n", printable(n.Pos.String()), printable(n.What), n.Why)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// value returns the value of key in mapping n, or nil.
func value(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// encode returns v as a YAML node.
func encode(v any) (*yaml.Node, error) {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return &n, nil
}

// prune removes the entries of mapping n whose value is the same as in ref
// (a default or zero value), except the keys in keep.
func prune(n, ref *yaml.Node, keep map[string]bool) {
	var kept []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if d := value(ref, k); keep[k] || d == nil || !same(v, d) {
			kept = append(kept, n.Content[i], v)
		}
	}
	n.Content = kept
}

// same reports equal scalars, or two empty lists or mappings.
func same(a, b *yaml.Node) bool {
	return a.Kind == b.Kind && a.Tag == b.Tag && a.Value == b.Value && len(a.Content) == 0 && len(b.Content) == 0
}

// Report lists the notes and what was not carried over, one line each, for
// a terminal.
func (r *Result) Report() []string {
	var out []string
	for _, n := range r.Notes {
		out = append(out, "check: "+printable(n))
	}
	for _, n := range r.NotCarried {
		out = append(out, fmt.Sprintf("not carried over: %s: %s: %s", printable(n.Pos.String()), printable(n.What), n.Why))
	}
	return out
}

// printable makes text from the keepalived file safe for a YAML comment or
// a terminal line: invalid UTF-8 and control characters (line breaks
// included) are written as \xNN.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case unicode.IsControl(c):
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
