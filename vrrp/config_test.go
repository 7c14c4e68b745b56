package vrrp

import (
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const exampleYAML = `
instances:
  - name: VI_KDC
    interface: eth0
    vrid: 51
    virtual_ipaddresses: [192.0.2.10/24]
  - name: VI_KDC6
    interface: eth0
    vrid: 52
    priority: 150
    version: 3
    advert_interval: 250ms
    virtual_ipaddresses: ["2001:db8::10"]
    unicast_src_ip: "2001:db8::1"
    unicast_peers: ["2001:db8::2", "fe80::2"]
    preempt_delay: 30s
    dont_track_primary: true
    garp_master_repeat: 3
    garp_master_delay: 0s
    garp_master_refresh: 60s
`

func decodeConfig(t *testing.T, text string) (Config, error) {
	t.Helper()
	c := DefaultConfig()
	err := yaml.Unmarshal([]byte(text), &c)
	return c, err
}

func TestConfigDecodeAppliesDefaults(t *testing.T) {
	c, err := decodeConfig(t, exampleYAML)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := []InstanceConfig{
		{Name: "VI_KDC", Interface: "eth0", VRID: 51, Priority: 100, AdvertInterval: time.Second, Version: 2,
			VirtualIPAddresses: []string{"192.0.2.10/24"}, GARPMasterRepeat: 5, GARPMasterDelay: 5 * time.Second, LinkUpDelay: time.Second},
		{Name: "VI_KDC6", Interface: "eth0", VRID: 52, Priority: 150, AdvertInterval: 250 * time.Millisecond, Version: 3,
			VirtualIPAddresses: []string{"2001:db8::10"}, UnicastSrcIP: "2001:db8::1", UnicastPeers: []string{"2001:db8::2", "fe80::2"},
			PreemptDelay: 30 * time.Second, DontTrackPrimary: true, GARPMasterRepeat: 3, GARPMasterRefresh: time.Minute, LinkUpDelay: time.Second},
	}
	if !reflect.DeepEqual(c.Instances, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", c.Instances, want)
	}
}

// TestConfigRealtimePriority: the section's realtime_priority defaults to
// DefaultRealtimePriority also when decoded into a zero Config (as the
// agent's configuration does), 0 turns it off, and 1..99 are valid.
func TestConfigRealtimePriority(t *testing.T) {
	for _, tt := range []struct {
		yaml  string
		want  int
		valid bool
	}{
		{"instances: []\n", DefaultRealtimePriority, true},
		{"realtime_priority: 10\n", 10, true},
		{"realtime_priority: 99\n", 99, true},
		{"realtime_priority: 100\n", 100, false},
		{"realtime_priority: -1\n", -1, false},
	} {
		var c Config
		if err := yaml.Unmarshal([]byte(tt.yaml), &c); err != nil {
			t.Fatalf("%q: %v", tt.yaml, err)
		}
		err := c.Validate()
		if c.RealtimePriority != tt.want || (err == nil) != tt.valid {
			t.Errorf("%q: realtime_priority %d, Validate %v; want %d, valid %v", tt.yaml, c.RealtimePriority, err, tt.want, tt.valid)
		}
		if err != nil && !strings.Contains(err.Error(), "vrrp.realtime_priority:") {
			t.Errorf("%q: error %v does not name the key", tt.yaml, err)
		}
	}
}

func TestConfigDecodeErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"misspelt key", "instances:\n  - name: a\n    unicast_peer: [192.0.2.2]\n", `line 3: vrrp instance: unknown key "unicast_peer"`},
		{"interval without unit", "instances:\n  - name: a\n    advert_interval: 1\n", "line 3: cannot unmarshal !!int `1` into time.Duration"},
		{"bad duration", "instances:\n  - name: a\n    preempt_delay: soon\n", "soon"},
		{"misspelt section key", "realtime_prio: 5\n", `line 1: vrrp: unknown key "realtime_prio"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeConfig(t, tt.yaml)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func validInstance() InstanceConfig {
	c := DefaultInstanceConfig()
	c.Name, c.Interface, c.VRID = "VI_1", "eth0", 51
	c.VirtualIPAddresses = []string{"192.0.2.10/24", "198.51.100.10"}
	return c
}

func TestInstanceValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*InstanceConfig)
		want   string // substring of the error, "" for valid
	}{
		{"valid", func(*InstanceConfig) {}, ""},
		{"v3 10ms", func(c *InstanceConfig) { c.Version = 3; c.AdvertInterval = 10 * time.Millisecond }, ""},
		{"owner", func(c *InstanceConfig) { c.Priority = 255 }, ""},
		{"unicast", func(c *InstanceConfig) {
			c.UnicastSrcIP = "192.0.2.1"
			c.UnicastPeers = []string{"192.0.2.2", "192.0.2.3"}
		}, ""},
		{"no name", func(c *InstanceConfig) { c.Name = "" }, "name: required"},
		{"name with space", func(c *InstanceConfig) { c.Name = "VI 1" }, "name: required"},
		{"no interface", func(c *InstanceConfig) { c.Interface = "" }, "interface: required"},
		{"long interface", func(c *InstanceConfig) { c.Interface = "0123456789abcdef" }, "interface: required"},
		{"vrid 0", func(c *InstanceConfig) { c.VRID = 0 }, "vrid: required, 1..255, got 0"},
		{"vrid 256", func(c *InstanceConfig) { c.VRID = 256 }, "vrid: required, 1..255, got 256"},
		{"priority 0", func(c *InstanceConfig) { c.Priority = 0 }, "priority: must be 1..255, got 0"},
		{"priority 256", func(c *InstanceConfig) { c.Priority = 256 }, "priority: must be 1..255"},
		{"version 1", func(c *InstanceConfig) { c.Version = 1 }, "version: must be 2 or 3"},
		{"version 258", func(c *InstanceConfig) { c.Version = 258 }, "version: must be 2 or 3"},
		{"v2 fractional interval", func(c *InstanceConfig) { c.AdvertInterval = 1500 * time.Millisecond }, "advert_interval: "},
		{"v2 interval 0", func(c *InstanceConfig) { c.AdvertInterval = 0 }, "advert_interval: "},
		{"v3 interval 5ms", func(c *InstanceConfig) { c.Version = 3; c.AdvertInterval = 5 * time.Millisecond }, "advert_interval: "},
		{"v3 interval 41s", func(c *InstanceConfig) { c.Version = 3; c.AdvertInterval = 41 * time.Second }, "advert_interval: "},
		{"no VIP", func(c *InstanceConfig) { c.VirtualIPAddresses = nil }, "virtual_ipaddresses: at least one"},
		{"bad VIP", func(c *InstanceConfig) { c.VirtualIPAddresses = []string{"192.0.2.10", "192.0.2.300"} }, "virtual_ipaddresses[1]: "},
		{"bad VIP prefix", func(c *InstanceConfig) { c.VirtualIPAddresses = []string{"192.0.2.10/33"} }, "virtual_ipaddresses[0]: "},
		{"multicast VIP", func(c *InstanceConfig) { c.VirtualIPAddresses = []string{"224.0.0.18"} }, "virtual_ipaddresses[0]: "},
		{"loopback VIP", func(c *InstanceConfig) { c.VirtualIPAddresses = []string{"127.0.0.2/8"} }, "virtual_ipaddresses[0]: "},
		{"duplicate VIP", func(c *InstanceConfig) { c.VirtualIPAddresses = []string{"192.0.2.10", "192.0.2.10/24"} }, "virtual_ipaddresses[1]: 192.0.2.10 repeats"},
		{"mixed families", func(c *InstanceConfig) {
			c.Version = 3
			c.VirtualIPAddresses = []string{"192.0.2.10", "2001:db8::1"}
		}, "virtual_ipaddresses[1]: 2001:db8::1/128 mixes"},
		{"IPv6 with v2", func(c *InstanceConfig) { c.VirtualIPAddresses = []string{"2001:db8::1"} }, "version: IPv6 virtual_ipaddresses need version 3"},
		{"bad unicast_src_ip", func(c *InstanceConfig) { c.UnicastSrcIP = "eth0" }, "unicast_src_ip: "},
		{"unicast_src_ip family", func(c *InstanceConfig) { c.UnicastSrcIP = "2001:db8::1" }, "unicast_src_ip: 2001:db8::1 is not of the IP family"},
		{"bad peer", func(c *InstanceConfig) { c.UnicastPeers = []string{"192.0.2.2", "peer"} }, "unicast_peers[1]: "},
		{"multicast peer", func(c *InstanceConfig) { c.UnicastPeers = []string{"224.0.0.18"} }, "unicast_peers[0]: 224.0.0.18 is not a unicast address"},
		{"peer family", func(c *InstanceConfig) { c.UnicastPeers = []string{"2001:db8::2"} }, "unicast_peers[0]: 2001:db8::2 is not of the IP family"},
		{"duplicate peer", func(c *InstanceConfig) { c.UnicastPeers = []string{"192.0.2.2", "192.0.2.2"} }, "unicast_peers[1]: 192.0.2.2 is listed twice"},
		{"peer is self", func(c *InstanceConfig) { c.UnicastSrcIP = "192.0.2.1"; c.UnicastPeers = []string{"192.0.2.1"} }, "unicast_peers[0]: 192.0.2.1 is unicast_src_ip"},
		{"owner nopreempt", func(c *InstanceConfig) { c.Priority = 255; c.NoPreempt = true }, "nopreempt: not allowed at priority 255"},
		{"preempt_delay too long", func(c *InstanceConfig) { c.PreemptDelay = 1001 * time.Second }, "preempt_delay: must be 0s..1000s"},
		{"preempt_delay negative", func(c *InstanceConfig) { c.PreemptDelay = -time.Second }, "preempt_delay: must be 0s..1000s"},
		{"preempt_delay with nopreempt", func(c *InstanceConfig) { c.NoPreempt = true; c.PreemptDelay = time.Second }, "preempt_delay: has no effect"},
		{"resign_hold too short", func(c *InstanceConfig) { c.ResignHold = time.Millisecond }, "resign_hold: must be 0s (automatic) or 10ms..10s"},
		{"resign_hold too long", func(c *InstanceConfig) { c.ResignHold = 11 * time.Second }, "resign_hold: must be 0s (automatic) or 10ms..10s"},
		{"resign_hold negative", func(c *InstanceConfig) { c.ResignHold = -time.Second }, "resign_hold: must be 0s (automatic) or 10ms..10s"},
		{"garp repeat 0", func(c *InstanceConfig) { c.GARPMasterRepeat = 0 }, "garp_master_repeat: must be 1..100"},
		{"garp delay negative", func(c *InstanceConfig) { c.GARPMasterDelay = -time.Second }, "garp_master_delay: "},
		{"garp refresh too fast", func(c *InstanceConfig) { c.GARPMasterRefresh = 100 * time.Millisecond }, "garp_master_refresh: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validInstance()
			tt.mutate(&c)
			err := Config{Instances: []InstanceConfig{c}}.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "vrrp.instances[0]."+tt.want) {
				t.Errorf("Validate = %v, want it to contain %q", err, "vrrp.instances[0]."+tt.want)
			}
		})
	}
}

func TestConfigValidateAcrossInstances(t *testing.T) {
	a := validInstance()
	b := validInstance()
	b.VirtualIPAddresses = []string{"192.0.2.11"}
	c := validInstance()
	c.Name, c.VRID, c.VirtualIPAddresses = "VI_3", 53, []string{"198.51.100.10/24"}
	six := validInstance()
	six.Name, six.Version, six.VirtualIPAddresses = "VI_6", 3, []string{"2001:db8::10"}
	err := Config{Instances: []InstanceConfig{a, b, c, six}}.Validate()
	for _, want := range []string{
		`vrrp.instances[1].name: "VI_1" already used by vrrp.instances[0]`,
		"vrrp.instances[1].vrid: 51 already used on interface eth0 by vrrp.instances[0]",
		"vrrp.instances[2].virtual_ipaddresses[0]: 198.51.100.10 already belongs to vrrp.instances[0]",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to contain %q", err, want)
		}
	}
	// The same VRID on the same interface is fine across IP families.
	if err != nil && strings.Contains(err.Error(), "vrrp.instances[3]") {
		t.Errorf("IPv6 instance reusing VRID 51 rejected: %v", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("empty section: %v", err)
	}
}

func TestInstanceParams(t *testing.T) {
	c := validInstance()
	c.PreemptDelay = 3 * time.Second
	c.GARPMasterRefresh = time.Minute
	primary := netip.MustParseAddr("192.0.2.1")
	p, err := c.Params(primary)
	if err != nil {
		t.Fatal(err)
	}
	want := Params{VRID: 51, Version: Version2, Priority: 100, AdvertInterval: time.Second, PreemptDelay: 3 * time.Second,
		ResignHold: 3*time.Second + skew1, // automatic: the down interval of priority 1
		PrimaryIP:  primary, GARPRepeat: 5, GARPDelay: 5 * time.Second, GARPRefresh: time.Minute}
	if p != want {
		t.Errorf("Params = %+v, want %+v", p, want)
	}
	c.UnicastSrcIP = "192.0.2.7"
	if p, err := c.Params(primary); err != nil || p.PrimaryIP != netip.MustParseAddr("192.0.2.7") {
		t.Errorf("with unicast_src_ip: PrimaryIP = %v, err %v; want 192.0.2.7", p.PrimaryIP, err)
	}
	c.VRID = 257
	if _, err := c.Params(primary); err == nil || !strings.Contains(err.Error(), "vrid") {
		t.Errorf("VRID 257: err = %v, want vrid error", err)
	}
	c = validInstance()
	if _, err := c.Params(netip.Addr{}); err == nil {
		t.Error("no primary address: want error")
	}
}

// TestReadmeExampleConfig keeps the README's example section valid.
func TestReadmeExampleConfig(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	if !ok {
		t.Fatal("no yaml block in README.md")
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("unterminated yaml block in README.md")
	}
	var doc struct {
		VRRP Config `yaml:"vrrp"`
	}
	dec := yaml.NewDecoder(strings.NewReader(block))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("README example: %v", err)
	}
	if err := doc.VRRP.Validate(); err != nil {
		t.Fatalf("README example: %v", err)
	}
	if got, want := doc.VRRP.Instances[0], DefaultInstanceConfig(); got.Priority != want.Priority ||
		got.AdvertInterval != want.AdvertInterval || got.GARPMasterRepeat != want.GARPMasterRepeat ||
		got.GARPMasterDelay != want.GARPMasterDelay || got.Version != want.Version {
		t.Errorf("README example shows %+v, which differs from the defaults %+v", got, want)
	}
}
