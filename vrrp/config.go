package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Config is the `vrrp` section of the agent configuration: the virtual
// routers this node takes part in. An empty list is valid (a node that runs
// the KDC without a VIP).
type Config struct {
	// Instances are the virtual routers, each with its own VRID and VIPs.
	Instances []InstanceConfig `yaml:"instances"`
	// RealtimePriority is the SCHED_RR priority, 1..99, of the threads
	// that send adverts, run the down timer and receive (keepalived:
	// vrrp_rt_priority); 0 turns it off. Default DefaultRealtimePriority.
	// Pass it to each instance as InstanceDeps.RealtimePriority.
	RealtimePriority int `yaml:"realtime_priority"`
}

// InstanceConfig is one virtual router, keepalived's vrrp_instance. When
// decoded from YAML, absent keys take the defaults of DefaultInstanceConfig
// and unknown keys are an error (a misspelt unicast_peers must not silently
// fall back to multicast).
type InstanceConfig struct {
	// Name identifies the instance in logs, events and notify arguments.
	// Required, unique, no whitespace.
	Name string `yaml:"name"`
	// Interface is the network interface the VIPs live on and adverts are
	// sent from. Required.
	Interface string `yaml:"interface"`
	// VRID is the virtual router ID, 1..255, unique per interface and IP
	// family. Required (keepalived: virtual_router_id).
	VRID int `yaml:"vrid"`
	// Priority is the base priority, 1..255; 255 means address owner.
	// Default 100.
	Priority int `yaml:"priority"`
	// AdvertInterval is the advertisement interval as a Go duration: whole
	// seconds 1s..255s for version 2, multiples of 10ms from 10ms to 40.95s
	// for version 3. Default 1s (keepalived: advert_int); the agent's
	// config file defaults it by version instead (node.DefaultAdvertInterval:
	// 100ms for version 3).
	AdvertInterval time.Duration `yaml:"advert_interval"`
	// Version is the VRRP version, 2 or 3; IPv6 VIPs need 3. Default 2,
	// keepalived's vrrp_version default; the agent's config file defaults
	// it to 3 (node.DefaultVRRPVersion).
	Version int `yaml:"version"`
	// VirtualIPAddresses are the VIPs as "IP" or "IP/prefix" (the prefix
	// sets the netmask of the added address; a bare IP is /32 or /128). At
	// least one; all of one IP family.
	VirtualIPAddresses []string `yaml:"virtual_ipaddresses"`
	// UnicastSrcIP is the source address of adverts (multicast or unicast)
	// and the tie-break address. Default: the interface's primary address.
	UnicastSrcIP string `yaml:"unicast_src_ip"`
	// UnicastPeers, when set, replaces multicast (224.0.0.18 / ff02::12)
	// with unicast adverts to each of these addresses. Default: none.
	UnicastPeers []string `yaml:"unicast_peers"`
	// DontTrackPrimary keeps the instance out of FAULT when its interface
	// loses its link (keepalived: dont_track_primary). Default false: a
	// master whose link goes down resigns and removes its VIPs.
	DontTrackPrimary bool `yaml:"dont_track_primary"`
	// LinkDownDelay is how long the interface must stay down before the
	// instance goes to FAULT (keepalived: interface_up_down_delays).
	// Default 0: a master without a link can serve no one.
	LinkDownDelay time.Duration `yaml:"link_down_delay"`
	// LinkUpDelay is how long the interface must stay up before the
	// instance leaves FAULT, so a flapping link does not pull the VIP back
	// and forth. Default 1s.
	LinkUpDelay time.Duration `yaml:"link_up_delay"`
	// NoPreempt keeps a lower-priority master in place when a
	// higher-priority backup appears. Not allowed at priority 255.
	// Default false (preemption on).
	NoPreempt bool `yaml:"nopreempt"`
	// PreemptDelay holds off preemption after startup or after a
	// higher-priority master was seen, 0..1000s. Default 0. Whatever its
	// value, a backup that has just started, left FAULT or seen its
	// priority rise waits one master down interval before preempting.
	PreemptDelay time.Duration `yaml:"preempt_delay"`
	// ResignHold is how long a stopping master keeps its VIPs (and so keeps
	// answering) after its priority-0 advertisement, until a successor
	// advertises; then the VIPs go and the instance stops. 0 (the default)
	// means automatic: the longest a backup may take to claim, one master
	// down interval of the lowest priority (3 x advert_interval + skew),
	// at most 4s. Explicit values: 10ms..10s.
	ResignHold time.Duration `yaml:"resign_hold"`
	// GARPMasterRepeat is the number of gratuitous ARPs / NAs per burst
	// when becoming master, 1..100. Default 5.
	GARPMasterRepeat int `yaml:"garp_master_repeat"`
	// GARPMasterDelay is when to send a second burst after becoming
	// master; 0 disables it. Default 5s.
	GARPMasterDelay time.Duration `yaml:"garp_master_delay"`
	// GARPMasterRefresh is the period of refresh GARPs while master; 0
	// disables it, otherwise at least 1s. Default 0.
	GARPMasterRefresh time.Duration `yaml:"garp_master_refresh"`
}

// Limits checked by Validate.
const (
	maxGARPRepeat   = 100
	maxGARPDelay    = time.Hour
	minGARPRefresh  = time.Second
	maxIfNameLength = 15 // IFNAMSIZ - 1
	minResignHold   = 10 * time.Millisecond
	maxResignHold   = 10 * time.Second
	// maxAutoResignHold caps the automatic resign_hold: with long advert
	// intervals a stop that finds no backup should not take minutes.
	maxAutoResignHold = 4 * time.Second
)

// DefaultConfig returns a section without instances and with the default
// real-time priority.
func DefaultConfig() Config { return Config{RealtimePriority: DefaultRealtimePriority} }

// UnmarshalYAML decodes the section on top of DefaultConfig and rejects
// unknown keys (see InstanceConfig.UnmarshalYAML).
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	if err := checkKeys(n, reflect.TypeOf(Config{}), "vrrp"); err != nil {
		return err
	}
	type plain Config // without this method, to avoid recursion
	p := plain(DefaultConfig())
	if err := n.Decode(&p); err != nil {
		return err
	}
	*c = Config(p)
	return nil
}

// checkKeys rejects keys of mapping n that are not yaml tags of t; what
// names the section in the message.
func checkKeys(n *yaml.Node, t reflect.Type, what string) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	known := yamlKeys(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !known[k.Value] {
			return fmt.Errorf("line %d: %s: unknown key %q", k.Line, what, k.Value)
		}
	}
	return nil
}

// DefaultInstanceConfig returns the keepalived defaults documented on
// InstanceConfig; the required keys (name, interface, vrid,
// virtual_ipaddresses) are left empty.
func DefaultInstanceConfig() InstanceConfig {
	return InstanceConfig{
		Priority:         100,
		AdvertInterval:   time.Second,
		Version:          int(Version2),
		GARPMasterRepeat: 5,
		GARPMasterDelay:  5 * time.Second,
		LinkUpDelay:      time.Second,
	}
}

// UnmarshalYAML decodes one instance on top of DefaultInstanceConfig and
// rejects unknown keys, which a yaml.v3 decoder does not check inside a
// custom unmarshaler even with KnownFields.
func (c *InstanceConfig) UnmarshalYAML(n *yaml.Node) error {
	if err := checkKeys(n, reflect.TypeOf(InstanceConfig{}), "vrrp instance"); err != nil {
		return err
	}
	type plain InstanceConfig // without this method, to avoid recursion
	p := plain(DefaultInstanceConfig())
	if err := n.Decode(&p); err != nil {
		return err
	}
	*c = InstanceConfig(p)
	return nil
}

// yamlKeys returns the yaml tag names of t's fields.
func yamlKeys(t reflect.Type) map[string]bool {
	keys := make(map[string]bool, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		keys[name] = true
	}
	return keys
}

// Validate checks the section; every message names the offending key as
// vrrp.instances[i].key. All problems are reported, joined.
func (c Config) Validate() error {
	var errs []error
	if p := c.RealtimePriority; p < 0 || p > maxRealtimePriority {
		errs = append(errs, fmt.Errorf("vrrp.realtime_priority: must be 0 (off) or 1..99, got %d", p))
	}
	names := map[string]int{}
	vrids := map[string]int{}
	vips := map[netip.Addr]int{}
	for i, in := range c.Instances {
		key := fmt.Sprintf("vrrp.instances[%d]", i)
		if problems := in.problems(); len(problems) > 0 {
			for _, p := range problems {
				errs = append(errs, fmt.Errorf("%s.%w", key, p))
			}
			continue
		}
		if j, dup := names[in.Name]; dup {
			errs = append(errs, fmt.Errorf("%s.name: %q already used by vrrp.instances[%d]", key, in.Name, j))
		}
		names[in.Name] = i
		prefixes, _ := in.VIPs() // validated above
		id := fmt.Sprintf("%s/%d/%v", in.Interface, in.VRID, prefixes[0].Addr().Is4())
		if j, dup := vrids[id]; dup {
			errs = append(errs, fmt.Errorf("%s.vrid: %d already used on interface %s by vrrp.instances[%d]", key, in.VRID, in.Interface, j))
		}
		vrids[id] = i
		for k, p := range prefixes {
			if j, dup := vips[p.Addr()]; dup {
				errs = append(errs, fmt.Errorf("%s.virtual_ipaddresses[%d]: %v already belongs to vrrp.instances[%d]", key, k, p.Addr(), j))
			}
			vips[p.Addr()] = i
		}
	}
	return errors.Join(errs...)
}

// Validate checks one instance; messages start with the offending key
// (without the vrrp.instances[i] prefix, which Config.Validate adds).
func (c InstanceConfig) Validate() error { return errors.Join(c.problems()...) }

// problems returns one error per invalid key, each starting with the key.
func (c InstanceConfig) problems() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Name == "" || strings.ContainsFunc(c.Name, unicode.IsSpace) {
		bad("name", "required, without whitespace, got %q", c.Name)
	}
	if c.Interface == "" || len(c.Interface) > maxIfNameLength || strings.ContainsFunc(c.Interface, unicode.IsSpace) {
		bad("interface", "required, 1..15 characters without whitespace, got %q", c.Interface)
	}
	if c.VRID < 1 || c.VRID > 255 {
		bad("vrid", "required, 1..255, got %d", c.VRID)
	}
	if c.Priority < 1 || c.Priority > OwnerPriority {
		bad("priority", "must be 1..255, got %d", c.Priority)
	}
	v := Version(c.Version)
	if c.Version != int(Version2) && c.Version != int(Version3) { // as int: 258 must not wrap to 2
		bad("version", "must be 2 or 3, got %d", c.Version)
	} else if _, err := encodeInterval(v, c.AdvertInterval); err != nil {
		bad("advert_interval", "%v", err)
	}
	vips, vipErrs := c.parseVIPs()
	errs = append(errs, vipErrs...)
	var is4 bool
	if len(vips) > 0 {
		is4 = vips[0].Addr().Is4()
		if v == Version2 && !is4 {
			bad("version", "IPv6 virtual_ipaddresses need version 3")
		}
	}
	if c.UnicastSrcIP != "" {
		a, err := netip.ParseAddr(c.UnicastSrcIP)
		switch {
		case err != nil:
			bad("unicast_src_ip", "%v", err)
		case len(vips) > 0 && a.Is4() != is4:
			bad("unicast_src_ip", "%v is not of the IP family of virtual_ipaddresses", a)
		}
	}
	seen := map[netip.Addr]bool{}
	for i, s := range c.UnicastPeers {
		key := fmt.Sprintf("unicast_peers[%d]", i)
		a, err := netip.ParseAddr(s)
		switch {
		case err != nil:
			bad(key, "%v", err)
		case !a.IsGlobalUnicast() && !a.IsLinkLocalUnicast():
			bad(key, "%v is not a unicast address", a)
		case len(vips) > 0 && a.Is4() != is4:
			bad(key, "%v is not of the IP family of virtual_ipaddresses", a)
		case seen[a]:
			bad(key, "%v is listed twice", a)
		case c.UnicastSrcIP == a.String():
			bad(key, "%v is unicast_src_ip itself", a)
		}
		seen[a] = true
	}
	if c.NoPreempt && c.Priority == OwnerPriority {
		bad("nopreempt", "not allowed at priority 255 (the address owner always preempts)")
	}
	if c.PreemptDelay < 0 || c.PreemptDelay > maxPreemptDelay {
		bad("preempt_delay", "must be 0s..1000s, got %v", c.PreemptDelay)
	} else if c.PreemptDelay > 0 && c.NoPreempt {
		bad("preempt_delay", "has no effect with nopreempt")
	}
	if c.ResignHold != 0 && (c.ResignHold < minResignHold || c.ResignHold > maxResignHold) {
		bad("resign_hold", "must be 0s (automatic) or 10ms..10s, got %v", c.ResignHold)
	}
	if c.GARPMasterRepeat < 1 || c.GARPMasterRepeat > maxGARPRepeat {
		bad("garp_master_repeat", "must be 1..100, got %d", c.GARPMasterRepeat)
	}
	if c.GARPMasterDelay < 0 || c.GARPMasterDelay > maxGARPDelay {
		bad("garp_master_delay", "must be 0s (off)..1h, got %v", c.GARPMasterDelay)
	}
	if c.LinkDownDelay < 0 || c.LinkDownDelay > maxGARPDelay {
		bad("link_down_delay", "must be 0s..1h, got %v", c.LinkDownDelay)
	}
	if c.LinkUpDelay < 0 || c.LinkUpDelay > maxGARPDelay {
		bad("link_up_delay", "must be 0s..1h, got %v", c.LinkUpDelay)
	}
	if c.GARPMasterRefresh != 0 && (c.GARPMasterRefresh < minGARPRefresh || c.GARPMasterRefresh > maxGARPDelay) {
		bad("garp_master_refresh", "must be 0s (off) or 1s..1h, got %v", c.GARPMasterRefresh)
	}
	return errs
}

// VIPs parses virtual_ipaddresses. A bare address becomes a host prefix;
// the address keeps its host bits ("192.0.2.10/24" is address 192.0.2.10
// with a /24 netmask).
func (c InstanceConfig) VIPs() ([]netip.Prefix, error) {
	vips, errs := c.parseVIPs()
	return vips, errors.Join(errs...)
}

func (c InstanceConfig) parseVIPs() ([]netip.Prefix, []error) {
	if len(c.VirtualIPAddresses) == 0 {
		return nil, []error{errors.New("virtual_ipaddresses: at least one address is required")}
	}
	var errs []error
	out := make([]netip.Prefix, 0, len(c.VirtualIPAddresses))
	for i, s := range c.VirtualIPAddresses {
		p, err := parseVIP(s)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("virtual_ipaddresses[%d]: %w", i, err))
			continue
		case len(out) > 0 && p.Addr().Is4() != out[0].Addr().Is4():
			errs = append(errs, fmt.Errorf("virtual_ipaddresses[%d]: %v mixes IPv4 and IPv6 in one instance", i, p))
			continue
		}
		for j, q := range out {
			if q.Addr() == p.Addr() {
				errs = append(errs, fmt.Errorf("virtual_ipaddresses[%d]: %v repeats virtual_ipaddresses[%d]", i, p.Addr(), j))
			}
		}
		out = append(out, p)
	}
	return out, errs
}

func parseVIP(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, err
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, err
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	a := p.Addr()
	if a.Zone() != "" || a.Is4In6() || !a.IsGlobalUnicast() {
		return p, fmt.Errorf("%q is not a global unicast address", s)
	}
	return p, nil
}

// Params resolves an instance into state machine parameters, validating it
// first. primary is the interface's primary address of the VIPs' family,
// used when unicast_src_ip is not set.
func (c InstanceConfig) Params(primary netip.Addr) (Params, error) {
	if err := c.Validate(); err != nil {
		return Params{}, fmt.Errorf("instance %s: %w", c.Name, err)
	}
	if c.UnicastSrcIP != "" {
		primary = netip.MustParseAddr(c.UnicastSrcIP) // validated
	}
	p := Params{
		VRID:           uint8(c.VRID),
		Version:        Version(c.Version),
		Priority:       uint8(c.Priority),
		AdvertInterval: c.AdvertInterval,
		NoPreempt:      c.NoPreempt,
		PreemptDelay:   c.PreemptDelay,
		ResignHold:     c.ResignHold,
		PrimaryIP:      primary,
		GARPRepeat:     c.GARPMasterRepeat,
		GARPDelay:      c.GARPMasterDelay,
		GARPRefresh:    c.GARPMasterRefresh,
	}
	if p.ResignHold == 0 {
		// Every backup, even at priority 1 and in the hold after a
		// forgery, has claimed within its master down interval.
		p.ResignHold = min(masterDownInterval(p.Version, minTrackedPriority, p.AdvertInterval), maxAutoResignHold)
	}
	if err := p.Validate(); err != nil {
		return Params{}, fmt.Errorf("instance %s: %w", c.Name, err)
	}
	return p, nil
}
