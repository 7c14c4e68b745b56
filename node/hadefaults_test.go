package node

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestVRRPDefaultsFollowVersion: an instance without version runs v3 at
// 100 ms; version 2 alone gets keepalived's 1 s; what the file gives is
// kept; flow-style instances are read the same way.
func TestVRRPDefaultsFollowVersion(t *testing.T) {
	const head = "realm: R\nnode: {name: n, data_dir: /tmp/x, admin_socket: /tmp/kdcha-test-none/admin.sock}\nvrrp:\n  instances:\n"
	inst := func(vrid int, extra string) string {
		return fmt.Sprintf("    - {name: VI_%d, interface: eth0, vrid: %d, virtual_ipaddresses: [192.0.2.%d]%s}\n", vrid, vrid, vrid, extra)
	}
	path := filepath.Join(t.TempDir(), "kdcha.yaml")
	yaml := head + inst(1, "") + inst(2, ", version: 2") + inst(3, ", version: 3, advert_interval: 250ms") +
		inst(4, ", advert_interval: 2s") + inst(5, ", version: 2, advert_interval: 3s")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		version  int
		interval time.Duration
	}{{3, 100 * time.Millisecond}, {2, time.Second}, {3, 250 * time.Millisecond}, {3, 2 * time.Second}, {2, 3 * time.Second}}
	if len(cfg.VRRP.Instances) != len(want) {
		t.Fatalf("%d instances, want %d", len(cfg.VRRP.Instances), len(want))
	}
	for i, w := range want {
		in := cfg.VRRP.Instances[i]
		if in.Version != w.version || in.AdvertInterval != w.interval {
			t.Errorf("instance %d: version %d interval %v, want %d %v", i, in.Version, in.AdvertInterval, w.version, w.interval)
		}
	}
}

// TestVRRPDefaultsModeKeepalived: in mode keepalived an instance without
// version or interval keeps keepalived's v2 at 1 s, so that it hears and
// is heard by keepalived peers left at their defaults.
func TestVRRPDefaultsModeKeepalived(t *testing.T) {
	const conf = "realm: R\nmode: keepalived\nnode: {name: n, admin_socket: /tmp/kdcha-test-none/admin.sock}\nvrrp:\n  instances:\n" +
		"    - {name: VI_1, interface: eth0, vrid: 1, virtual_ipaddresses: [192.0.2.1]}\n"
	path := filepath.Join(t.TempDir(), "kdcha.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if in := cfg.VRRP.Instances[0]; in.Version != 2 || in.AdvertInterval != time.Second {
		t.Errorf("version %d interval %v, want keepalived's 2 and 1s", in.Version, in.AdvertInterval)
	}
}
