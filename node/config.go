package node

import (
	"errors"
	"fmt"
	"github.com/kdcha/kdcha/internal/logging"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/cluster"
	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/kdc"
	"github.com/kdcha/kdcha/kdc/db"
	"github.com/kdcha/kdcha/notify"
	"github.com/kdcha/kdcha/vrrp"
)

// Config is the one configuration file of a node (`kdcha agent
// --config FILE`). Each part owns its section's type and validation; this
// file only composes them and reports errors with their line numbers.
type Config struct {
	// Realm is the Kerberos realm the node serves. Required.
	Realm string `yaml:"realm"`
	// Mode is kdc (default: the embedded KDC and its replicated database)
	// or keepalived (VRRP and health checks in front of an external KDC;
	// see mode.go).
	Mode Mode `yaml:"mode"`
	// Node is this host's identity and local paths.
	Node NodeConfig `yaml:"node"`
	// Database configures the principal database.
	Database DatabaseConfig `yaml:"database"`
	// KDC is the embedded KDC.
	KDC kdc.Config `yaml:"kdc"`
	// Metrics is the Prometheus endpoint.
	Metrics MetricsConfig `yaml:"metrics"`
	// Cluster joins this node to others replicating the database over
	// mutual TLS; without cluster.listen the node is a cluster of one.
	Cluster cluster.Config `yaml:"cluster"`
	// VRRP are the virtual routers that move the VIP (keepalived-compatible).
	VRRP vrrp.Config `yaml:"vrrp"`
	// Health are the checks that set the VRRP priority. In mode kdc the
	// agent adds a kinit probe of its own KDC unless a kinit check is
	// configured; in mode keepalived these checks alone count.
	Health health.Config `yaml:"health"`
	// Notify sends VRRP transitions and the node's own events (health,
	// Raft leader, quorum) to webhooks and scripts.
	Notify notify.Config `yaml:"notify"`

	// unusedFileKeys are the keys of the file that mode keepalived does
	// not use (see validateMode); set by LoadConfig.
	unusedFileKeys []string
	// realmKeys are the realm setting keys the file sets explicitly
	// (realmsettings.go).
	realmKeys []string
}

// DefaultAdminSocket is where a production node serves its admin API.
const DefaultAdminSocket = "/run/kdcha/admin.sock"

// NodeConfig is the node section: this host's identity and local paths.
type NodeConfig struct {
	// Name identifies the node in the cluster and in notifications.
	// Default: the host name.
	Name string `yaml:"name"`
	// DataDir holds the database, the master key stash and credentials.
	// Default /var/lib/kdcha.
	DataDir string `yaml:"data_dir"`
	// AdminSocket is the admin API's unix socket. Default
	// /run/kdcha/admin.sock.
	AdminSocket string `yaml:"admin_socket"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// LogFormat is text (logfmt-style lines) or json (one object per
	// line, for log shippers). Default text.
	LogFormat string `yaml:"log_format"`
	// FaultInjection lets `kdcha debug fault` (admin socket only) hang or
	// slow the KDC and mute VRRP, for tests and demos. Never in
	// production. Default false.
	FaultInjection bool `yaml:"fault_injection"`
}

// DatabaseConfig is the database section.
type DatabaseConfig struct {
	// MasterKeyFile is the realm master key stash (0600). Default
	// <data_dir>/db/master.key.
	MasterKeyFile string `yaml:"master_key_file"`
	// EncTypes are the enctypes of new keys, by MIT name. Default
	// [aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96].
	EncTypes []string `yaml:"enctypes"`
}

// MetricsConfig is the metrics section.
type MetricsConfig struct {
	// Listen is the address of the /metrics endpoint; empty disables it.
	// Default 127.0.0.1:9188.
	Listen string `yaml:"listen"`
}

// DefaultConfig is a configuration with every default set and no realm.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Mode:    ModeKDC,
		Node:    NodeConfig{Name: host, DataDir: "/var/lib/kdcha", AdminSocket: DefaultAdminSocket, LogLevel: "info"},
		KDC:     kdc.DefaultConfig(),
		Metrics: MetricsConfig{Listen: "127.0.0.1:9188"},
	}
}

// parseEncTypes reads the configured enctype names (db.ParseEncTypes is
// their one table); an empty list means the database default.
func parseEncTypes(names []string) ([]int32, error) {
	if len(names) == 0 {
		return nil, nil
	}
	return db.ParseEncTypes(names)
}

// Validate checks every section and returns all problems at once, each
// starting with its key path (see LoadConfig).
func (c *Config) Validate() error {
	var errs []error
	if c.Realm == "" {
		errs = append(errs, errors.New("realm: required"))
	} else if strings.ContainsAny(c.Realm, "/@ \t") {
		errs = append(errs, fmt.Errorf("realm: %q is not a realm name", c.Realm))
	} else if up := strings.ToUpper(c.Realm); up != c.Realm {
		// MIT's convention; clients uppercase a domain to guess the realm.
		errs = append(errs, fmt.Errorf("realm: %q has lowercase letters, almost always a mistake (Kerberos realms are uppercase by convention): use %q", c.Realm, up))
	}
	if c.Node.Name == "" {
		errs = append(errs, errors.New("node.name: required (no host name to default to)"))
	}
	if c.Node.DataDir == "" {
		errs = append(errs, errors.New("node.data_dir: required"))
	}
	if c.Node.AdminSocket == "" {
		errs = append(errs, errors.New("node.admin_socket: required"))
	} else if err := admin.CheckSocketDir(c.Node.AdminSocket); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A directory that does not exist yet (systemd creates
		// RuntimeDirectory at start) is checked again when the agent
		// listens.
		errs = append(errs, fmt.Errorf("node.admin_socket: %w", err))
	}
	if _, err := logging.ParseLevel(c.Node.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("node.log_level: %w", err))
	}
	if _, err := logging.New(io.Discard, c.Node.LogFormat, nil); err != nil {
		errs = append(errs, fmt.Errorf("node.log_format: %w", err))
	}
	if _, err := parseEncTypes(c.Database.EncTypes); err != nil {
		errs = append(errs, fmt.Errorf("database.enctypes: %w", err))
	}
	c.Health.ApplyDefaults()
	errs = append(errs, c.validateMode()...)
	for _, v := range c.modeSections() {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, c.checkNotifyInstances()...)
	return errors.Join(errs...)
}

// checkNotifyInstances reports notify scripts for an instance that does
// not exist: they would never run.
func (c *Config) checkNotifyInstances() []error {
	instances := map[string]bool{}
	var names []string
	for _, in := range c.VRRP.Instances {
		instances[in.Name] = true
		names = append(names, in.Name)
	}
	list := "none"
	if len(names) > 0 {
		list = strings.Join(names, ", ")
	}
	var errs []error
	for name := range c.Notify.Scripts {
		if !instances[name] {
			errs = append(errs, fmt.Errorf("notify.scripts.%s: no vrrp instance is named %q (instances: %s), so these scripts would never run", name, name, list))
		}
	}
	return errs
}

// LoadConfig reads, decodes and validates a config file, without the
// checks against this host's files and network that CheckConfig adds (for
// commands such as cluster init that may run before the host is set up).
// Unknown keys are errors (a typo must not silently fall back to a
// default), and every problem is reported, naming the file, the line and
// the key (*ConfigError).
func LoadConfig(path string) (*Config, error) { return loadConfig(path, false) }

// flatten unpacks errors.Join trees into their leaves.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// keyPathRe matches the key path a validation message starts with; map
// keys (notify.scripts.VI_1) may be any instance name.
var keyPathRe = regexp.MustCompile(`^([a-z0-9_]+(?:\[\d+\])?(?:\.[A-Za-z0-9_-]+(?:\[\d+\])?)*):`)

// lineOf finds the line of the key path a validation message starts with
// ("kdc.listen[1]: ..."), or of its closest present ancestor; 0 if none.
func lineOf(root *yaml.Node, msg string) int {
	m := keyPathRe.FindStringSubmatch(msg)
	if m == nil || len(root.Content) == 0 {
		return 0
	}
	node, line := root.Content[0], 0
	for _, part := range strings.Split(m[1], ".") {
		key, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 {
			key = part[:i]
			idx, _ = strconv.Atoi(strings.TrimSuffix(part[i+1:], "]"))
		}
		k, next := mappingEntry(node, key)
		if next == nil {
			return line
		}
		// The key's line: a block mapping or list value starts below it.
		line, node = k.Line, next
		if idx >= 0 {
			if node.Kind != yaml.SequenceNode || idx >= len(node.Content) {
				return line
			}
			node = node.Content[idx]
			line = node.Line
		}
	}
	return line
}

// mappingValue returns the value node of key in mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	_, v := mappingEntry(n, key)
	return v
}

// mappingEntry returns the key and value nodes of key in mapping n, or nils.
func mappingEntry(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}
