package vrrp

import (
	"strconv"
	"strings"
	"testing"
)

// TestCheckHost reads the host's loopback only: an instance on lo passes,
// a missing interface and a unicast_src_ip the interface does not have
// are each reported with their key.
func TestCheckHost(t *testing.T) {
	inst := func(vrid int, ifname, src string) InstanceConfig {
		c := DefaultInstanceConfig()
		c.Name, c.Interface, c.VRID, c.UnicastSrcIP = ifname+src, ifname, vrid, src
		c.VirtualIPAddresses = []string{"192.0.2." + strconv.Itoa(vrid)}
		return c
	}
	c := Config{Instances: []InstanceConfig{
		inst(1, "lo", ""),
		inst(2, "kdchanosuch0", ""),
		inst(3, "lo", "198.51.100.7"),
		inst(4, "lo", "127.0.0.1"),
	}}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	err := c.CheckHost()
	if err == nil {
		t.Fatal("CheckHost accepted a missing interface and a foreign source")
	}
	want := []string{
		"vrrp.instances[1].interface: kdchanosuch0: ",
		"vrrp.instances[2].unicast_src_ip: 198.51.100.7 is not an address of interface lo",
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}
