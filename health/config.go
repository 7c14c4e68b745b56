package health

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the `health:` section of the agent configuration:
//
//	health:
//	  checks:
//	    - name: kinit                 # unique; used in logs, reasons, metrics
//	      type: kinit                 # kinit | script
//	      kdc: 127.0.0.1:88           # kinit: KDC to probe (default 127.0.0.1:88)
//	      transport: udp              # kinit: udp | tcp (default udp)
//	      principal: kdcha-probe/node1@EXAMPLE.COM   # kinit: required
//	      keytab: /var/lib/kdcha/probe.keytab        # kinit: required
//	      service: host/node1.example.com            # kinit: optional TGS check
//	      interval: 1s
//	      timeout: 1s
//	      rise: 2
//	      fall: 3
//	      weight: -253
//	      init_fail: false
//	    - name: disk
//	      type: script
//	      script: ["/usr/local/bin/check-disk", "--min", "10%"]  # or one string split on spaces
//
// The agent decodes the YAML, calls ApplyDefaults, then Validate. In mode
// kdc the agent adds the kinit check for the probe principal it creates
// itself; in mode keepalived (an external KDC) it adds nothing. An empty
// list means no checks (Delta 0, never FAULT).
type Config struct {
	// Checks are run independently; their contributions are summed.
	Checks []CheckConfig `yaml:"checks"`
}

// CheckType selects the probe of a check.
type CheckType string

// Check types.
const (
	// CheckKinit authenticates against a KDC (KinitProbe).
	CheckKinit CheckType = "kinit"
	// CheckScript runs a command (ScriptCheck).
	CheckScript CheckType = "script"
)

// Defaults for kinit checks, tuned for a KDC:
//   - interval 500ms and timeout 500ms: a healthy local KDC answers the
//     probe in about a millisecond (p99 under 5 ms on a busy 2-core box), so
//     half a second without an answer is a KDC that is already failing
//     clients, and MIT clients give a KDC only ~1 s per UDP attempt.
//   - fall 2: one lost datagram or GC pause does not move the VIP; a frozen
//     KDC is detected within (fall-1)×interval + timeout = 1 s to
//     fall×interval + timeout = 1.5 s, so a client's retry after its first
//     1 s timeout already lands on the new master.
//   - rise 2: a recovering KDC must answer twice in a row before it gets its
//     priority back, so a flapping KDC does not pull the VIP back and forth.
//   - weight -253: after fall failures the effective priority drops to the
//     floor (1), so a failing node yields to any healthy one; yet when every
//     node fails the same probe (most likely the probe itself is broken: its
//     principal deleted through Raft, a bad keytab), the VIP stays up
//     somewhere instead of every node going to FAULT. Use weight 0 for
//     keepalived's FAULT behaviour.
//
// Script checks take keepalived's vrrp_script defaults (timeout = interval,
// rise 1, fall 1, weight 0 = FAULT), so ported vrrp_script blocks behave as
// before.
const (
	DefaultKDC           = "127.0.0.1:88"
	DefaultTransport     = TransportUDP
	DefaultInterval      = time.Second
	DefaultKinitInterval = 500 * time.Millisecond
	DefaultKinitTimeout  = 500 * time.Millisecond
	DefaultKinitRise     = 2
	DefaultKinitFall     = 2
	DefaultKinitWeight   = -253
	DefaultScriptRise    = 1
	DefaultScriptFall    = 1
	DefaultScriptWeight  = 0
	minInterval          = 10 * time.Millisecond
	maxInterval          = time.Hour
	maxWeight            = 253
	checkNamePatternText = `^[A-Za-z0-9][A-Za-z0-9_.-]*$`
)

var checkNamePattern = regexp.MustCompile(checkNamePatternText)

// CheckConfig is one entry of health.checks.
type CheckConfig struct {
	// Name identifies the check; default: its type. Letters, digits, '_',
	// '.', '-'.
	Name string `yaml:"name"`
	// Type is kinit or script. Required.
	Type CheckType `yaml:"type"`

	// KDC is the host:port a kinit check probes. Default 127.0.0.1:88, this
	// node's embedded KDC; point it at an external KDC (e.g. MIT krb5kdc on
	// this host) to use kdcha as keepalived in front of it.
	KDC string `yaml:"kdc"`
	// Transport is udp or tcp. Default udp. Configure two checks to probe both.
	Transport Transport `yaml:"transport"`
	// Principal is the probe client, name[/instance]@REALM. Required for kinit.
	Principal string `yaml:"principal"`
	// Keytab holds the principal's keys, readable by its owner only
	// (CheckFiles). Required for kinit. Read every run.
	Keytab string `yaml:"keytab"`
	// Service, if set, adds a TGS request for this service (same realm).
	Service string `yaml:"service"`

	// Script is the command of a script check, run without a shell: a list
	// of arguments, or one string split on spaces (no quoting). The
	// program must be an absolute path to an executable (CheckFiles).
	Script Command `yaml:"script"`

	// Interval between runs. Default 1s.
	Interval time.Duration `yaml:"interval"`
	// Timeout of a run. Default 1s (capped at interval) for kinit, interval
	// for script.
	Timeout time.Duration `yaml:"timeout"`
	// Rise is the consecutive successes that bring the check up. Default 2
	// for kinit, 1 for script.
	Rise int `yaml:"rise"`
	// Fall is the consecutive failures that bring the check down. Default 3
	// for kinit, 1 for script.
	Fall int `yaml:"fall"`
	// Weight, -253..253: < 0 is added to the priority while down, > 0 while
	// up, 0 means FAULT while down. Default -253 for kinit, 0 for script.
	Weight *int `yaml:"weight"`
	// InitFail starts the check down (rise successes needed) instead of
	// undecided (one success is enough). Default false.
	InitFail bool `yaml:"init_fail"`
}

// Command is an argv. In YAML it is a list, or a string split on spaces.
type Command []string

// UnmarshalYAML accepts both forms.
func (c *Command) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*c = strings.Fields(n.Value)
		return nil
	}
	var argv []string
	if err := n.Decode(&argv); err != nil {
		return fmt.Errorf("line %d: script must be a string or a list of strings: %w", n.Line, err)
	}
	*c = argv
	return nil
}

// ApplyDefaults fills every unset field with its documented default.
func (c *Config) ApplyDefaults() {
	for i := range c.Checks {
		c.Checks[i].applyDefaults()
	}
}

func (cc *CheckConfig) applyDefaults() {
	if cc.Name == "" {
		cc.Name = string(cc.Type)
	}
	if cc.Interval == 0 {
		cc.Interval = DefaultInterval
		if cc.Type == CheckKinit {
			cc.Interval = DefaultKinitInterval
		}
	}
	rise, fall, weight := DefaultScriptRise, DefaultScriptFall, DefaultScriptWeight
	timeout := cc.Interval
	if cc.Type == CheckKinit {
		rise, fall, weight = DefaultKinitRise, DefaultKinitFall, DefaultKinitWeight
		timeout = min(DefaultKinitTimeout, cc.Interval)
		if cc.KDC == "" {
			cc.KDC = DefaultKDC
		}
		if cc.Transport == "" {
			cc.Transport = DefaultTransport
		}
	}
	if cc.Timeout == 0 {
		cc.Timeout = timeout
	}
	if cc.Rise == 0 {
		cc.Rise = rise
	}
	if cc.Fall == 0 {
		cc.Fall = fall
	}
	if cc.Weight == nil {
		cc.Weight = &weight
	}
}

// Validate checks the section after ApplyDefaults. Every problem is
// reported, each naming its key (e.g. "health.checks[1].weight").
func (c *Config) Validate() error {
	var errs []error
	seen := map[string]int{}
	for i, cc := range c.Checks {
		key := fmt.Sprintf("health.checks[%d]", i)
		if j, dup := seen[cc.Name]; dup && cc.Name != "" {
			errs = append(errs, fmt.Errorf("%s.name: %q already used by health.checks[%d]", key, cc.Name, j))
		}
		seen[cc.Name] = i
		errs = append(errs, cc.validate(key)...)
	}
	return errors.Join(errs...)
}

func (cc *CheckConfig) validate(key string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", key, field, fmt.Sprintf(format, args...)))
	}
	if !checkNamePattern.MatchString(cc.Name) {
		bad("name", "%q must match %s", cc.Name, checkNamePatternText)
	}
	switch cc.Type {
	case CheckKinit:
		if err := validateHostPort(cc.KDC); err != nil {
			bad("kdc", "%v", err)
		}
		if cc.Transport != TransportUDP && cc.Transport != TransportTCP {
			bad("transport", "%q must be udp or tcp", cc.Transport)
		}
		if _, _, err := ParsePrincipal(cc.Principal); err != nil {
			bad("principal", "%v", err)
		}
		if cc.Keytab == "" {
			bad("keytab", "required for a kinit check")
		}
		if strings.Contains(cc.Service, "@") {
			bad("service", "%q must not name a realm; it is looked up in the principal's realm", cc.Service)
		}
		if len(cc.Script) > 0 {
			bad("script", "only for a script check")
		}
	case CheckScript:
		if len(cc.Script) == 0 || cc.Script[0] == "" {
			bad("script", "required for a script check")
		}
		for _, f := range []struct{ field, value string }{
			{"kdc", cc.KDC}, {"transport", string(cc.Transport)}, {"principal", cc.Principal},
			{"keytab", cc.Keytab}, {"service", cc.Service},
		} {
			if f.value != "" {
				bad(f.field, "only for a kinit check")
			}
		}
	default:
		bad("type", "%q must be kinit or script", cc.Type)
	}
	if cc.Interval < minInterval || cc.Interval > maxInterval {
		bad("interval", "%v is outside [%v, %v]", cc.Interval, minInterval, maxInterval)
	}
	if cc.Timeout <= 0 {
		bad("timeout", "%v must be positive", cc.Timeout)
	}
	if cc.Rise < 1 {
		bad("rise", "%d must be at least 1", cc.Rise)
	}
	if cc.Fall < 1 {
		bad("fall", "%d must be at least 1", cc.Fall)
	}
	if cc.Weight == nil {
		bad("weight", "unset (ApplyDefaults not called)")
	} else if *cc.Weight < -maxWeight || *cc.Weight > maxWeight {
		bad("weight", "%d is outside [-%d, %d]", *cc.Weight, maxWeight, maxWeight)
	}
	return errs
}

func validateHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", s, err)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port must be 1-65535", s)
	}
	return nil
}

// TrackParams returns the tracker settings of the check.
func (cc *CheckConfig) TrackParams() TrackParams {
	p := TrackParams{Rise: cc.Rise, Fall: cc.Fall, InitFail: cc.InitFail}
	if cc.Weight != nil {
		p.Weight = *cc.Weight
	}
	return p
}
