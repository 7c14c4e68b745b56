package node

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kdcha/kdcha/cluster"
	"github.com/kdcha/kdcha/internal/filecheck"
)

// Problem is one thing wrong with a configuration file, where it is.
type Problem struct {
	// File is the configuration file.
	File string
	// Line is the line of Key, or of its closest present ancestor; 0 when
	// neither is in the file (a required key left out).
	Line int
	// Key is the key path, as "vrrp.instances[0].interface"; empty when
	// the problem is not about one key (a YAML syntax error).
	Key string
	// Msg says what is wrong.
	Msg string
}

// String formats the problem as compilers do, FILE:LINE: key: message, so
// editors and grep can jump to it.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ConfigError is every problem found in one configuration file.
type ConfigError struct {
	// File is the configuration file.
	File string
	// Problems are in the order the checks found them.
	Problems []Problem
}

// Error is a header line, then one line per problem (see Problem.String).
func (e *ConfigError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	noun := "problems"
	if len(e.Problems) == 1 {
		noun = "problem"
	}
	lines = append(lines, fmt.Sprintf("config %s: %d %s:", e.File, len(e.Problems), noun))
	for _, p := range e.Problems {
		lines = append(lines, p.String())
	}
	return strings.Join(lines, "\n")
}

// CheckConfig reads the configuration at path and runs every check the
// agent runs before it serves, reporting every problem at once as a
// *ConfigError: what LoadConfig checks, and what only this host can tell:
// files exist and secrets are private (webhook secret_file, kinit keytabs,
// the master key stash, the cluster TLS keys), notify and check scripts
// are absolute paths to executables, notify scripts name configured VRRP
// instances, interfaces exist, advert sources and listen addresses are
// local. `kdcha
// check-config`, `kdcha agent` (before it binds any port) and a SIGHUP
// reload all call it, so check-config says ok exactly to what the agent
// accepts.
func CheckConfig(path string) (*Config, error) { return loadConfig(path, true) }

// loadConfig decodes and validates the file at path; onHost adds the
// checks against this host (see CheckConfig).
func loadConfig(path string, onHost bool) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	e := &ConfigError{File: path}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		e.add(&root, strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, e
	}
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	decodeLines := map[int]bool{}
	// An empty file decodes to nothing (io.EOF) and is validated as such.
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			// Decoding stopped part way: validating the rest would
			// report keys it never reached.
			e.add(&root, err.Error())
			return nil, e
		}
		// A type error leaves its key at the default and decodes the
		// rest, so the other checks still run.
		for _, msg := range te.Errors {
			decodeLines[e.add(&root, msg)] = true
		}
	}
	cfg.unusedFileKeys = unusedKeys(&root)
	applyVRRPDefaults(&root, &cfg)
	problems := flatten(cfg.Validate())
	if onHost {
		problems = append(problems, flatten(cfg.checkHost())...)
	}
	for _, p := range problems {
		if p == nil {
			continue
		}
		msg := p.Error()
		if line := lineOf(&root, msg); line > 0 && decodeLines[line] {
			continue // a key that did not decode is reported once
		}
		e.add(&root, msg)
	}
	if len(e.Problems) > 0 {
		return nil, e
	}
	cfg.realmKeys = presentRealmSettingKeys(&root)
	return &cfg, nil
}

// decodeLineRe matches the line yaml.v3 puts in front of its messages.
var decodeLineRe = regexp.MustCompile(`^line (\d+): (.*)$`)

// add records msg, a validation message starting with its key path or a
// yaml.v3 message starting with its line, and returns its line.
func (e *ConfigError) add(root *yaml.Node, msg string) int {
	p := Problem{File: e.File, Msg: msg}
	if m := decodeLineRe.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Key, p.Msg = keyAtLine(root, p.Line), m[2]
		if strings.HasPrefix(p.Msg, "field ") && strings.Contains(p.Msg, " not found in type ") {
			p.Msg = "unknown key" // the Go type name means nothing to an operator
		}
	} else if m := keyPathRe.FindStringSubmatch(msg); m != nil {
		p.Key, p.Line = m[1], lineOf(root, msg)
		p.Msg = strings.TrimSpace(strings.TrimPrefix(msg, m[0]))
	}
	e.Problems = append(e.Problems, p)
	return p.Line
}

// keyAtLine returns the path of the key on line in the document, as
// lineOf reads it ("kdc.listen", "vrrp.instances[1].vrid"), or "".
func keyAtLine(root *yaml.Node, line int) string {
	if len(root.Content) == 0 {
		return ""
	}
	var walk func(n *yaml.Node, path string) string
	walk = func(n *yaml.Node, path string) string {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if k.Line == line {
					return p
				}
				if found := walk(v, p); found != "" {
					return found
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if found := walk(c, p); found != "" {
					return found
				}
				if c.Line == line && c.Kind == yaml.ScalarNode {
					return p
				}
			}
		}
		return ""
	}
	return walk(root.Content[0], "")
}

// checkHost checks cfg against this host (see CheckConfig); each message
// starts with its key path.
func (c *Config) checkHost() error {
	errs := []error{c.Notify.CheckFiles(), c.Health.CheckFiles(), c.VRRP.CheckHost()}
	errs = append(errs, c.checkListenLocal()...)
	if !c.Mode.embedsKDC() {
		// No database, cluster keys or KDC sockets: files an earlier
		// install left behind are not this mode's concern.
		return errors.Join(errs...)
	}
	// Keys that do not exist yet are written by cluster init or join
	// (mode 0600); one an operator copied in or chmodded is checked.
	if err := filecheck.Private(c.MasterKeyPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("database.master_key_file: %w", err))
	}
	for _, name := range []string{cluster.NodeKeyFile, cluster.CAKeyFile} {
		if err := filecheck.Private(filepath.Join(c.CredentialsDir(), name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("node.data_dir: cluster key: %w", err))
		}
	}
	return errors.Join(errs...)
}

// checkListenLocal reports listen addresses naming an IP this host does
// not have: the agent could not bind them. Host names and wildcards are
// left to the bind.
func (c *Config) checkListenLocal() []error {
	local := map[netip.Addr]bool{}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
					local[ip.Unmap()] = true
				}
			}
		}
	} else {
		return []error{fmt.Errorf("node: listing this host's addresses: %w", err)}
	}
	var errs []error
	check := func(key, hostport string) {
		host, _, err := net.SplitHostPort(hostport)
		if err != nil {
			return // reported by Validate
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || ip.IsUnspecified() || local[ip.WithZone("").Unmap()] {
			return
		}
		errs = append(errs, fmt.Errorf("%s: %v is not an address of this host, so the agent cannot listen on it", key, ip))
	}
	for i, a := range c.KDC.Listen {
		check(fmt.Sprintf("kdc.listen[%d]", i), a)
	}
	for i, a := range c.KDC.KpasswdListen {
		check(fmt.Sprintf("kdc.kpasswd_listen[%d]", i), a)
	}
	if c.Cluster.Listen != "" {
		check("cluster.listen", c.Cluster.Listen)
	}
	if c.Metrics.Listen != "" {
		check("metrics.listen", c.Metrics.Listen)
	}
	return errs
}
