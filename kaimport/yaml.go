package kaimport

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/notify"
	"github.com/kdcha/kdcha/vrrp"
)

// document is the part of the agent configuration a conversion fills, with
// the agent's key names; every other key keeps the agent's default.
type document struct {
	Realm  string         `yaml:"realm"`
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
	doc := document{Realm: r.Realm, VRRP: r.VRRP}
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
	var def yaml.Node
	if err := def.Encode(vrrp.DefaultInstanceConfig()); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if n := value(value(&root, "vrrp"), "instances"); n != nil {
		for i, in := range n.Content {
			prune(in, func(k string, v *yaml.Node) bool {
				d := value(&def, k)
				return !instanceKeys[k] && d != nil && d.Kind == yaml.ScalarNode && v.Kind == yaml.ScalarNode && d.Value == v.Value || empty(v)
			})
			in.HeadComment = r.comments["vrrp:"+r.VRRP.Instances[i].Name]
		}
	}
	if n := value(value(&root, "health"), "checks"); n != nil {
		for i, c := range n.Content {
			prune(c, func(k string, v *yaml.Node) bool { return k != "weight" && empty(v) })
			c.HeadComment = r.comments["check:"+r.Health.Checks[i].Name]
		}
		value(&root, "health").Content[0].HeadComment = "vrrp_script blocks, with keepalived's rise/fall/weight semantics; kdcha applies\nevery check to every instance (the sum of the weights of failed checks)"
	}
	if n := value(value(&root, "notify"), "scripts"); n != nil {
		prune(value(&root, "notify"), func(_ string, v *yaml.Node) bool { return empty(v) })
		for i := 1; i < len(n.Content); i += 2 {
			prune(n.Content[i], func(_ string, v *yaml.Node) bool { return empty(v) })
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
	fmt.Fprintf(&b, "kdcha agent configuration converted from %s by `kdcha import keepalived`.\n", source)
	b.WriteString("Keys not written take the agent's defaults (see configs/cluster-node.yaml).\n")
	b.WriteString("\nkdcha has no keepalived-only mode yet: as written, the agent also runs its own KDC\n")
	b.WriteString("(kdc.listen default 0.0.0.0:88), which cannot share the host with a running krb5kdc.\n")
	for _, n := range r.Notes {
		b.WriteString("\nCheck: " + n + "\n")
	}
	if len(r.NotCarried) > 0 {
		fmt.Fprintf(&b, "\nNot carried over (%d):\n", len(r.NotCarried))
		for _, n := range r.NotCarried {
			fmt.Fprintf(&b, "  %s: %s\n    %s\n", n.Pos, n.What, n.Why)
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

// prune removes the entries of mapping n that drop reports.
func prune(n *yaml.Node, drop func(key string, v *yaml.Node) bool) {
	var kept []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !drop(n.Content[i].Value, n.Content[i+1]) {
			kept = append(kept, n.Content[i], n.Content[i+1])
		}
	}
	n.Content = kept
}

// empty reports a zero value: "", 0, 0s, false, null or an empty list.
func empty(v *yaml.Node) bool {
	switch v.Kind {
	case yaml.ScalarNode:
		switch v.Value {
		case "", "0", "0s", "false", "null":
			return true
		}
	case yaml.SequenceNode, yaml.MappingNode:
		return len(v.Content) == 0
	}
	return false
}
