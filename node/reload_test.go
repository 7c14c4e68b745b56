package node

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/notify"
	"github.com/kdcha/kdcha/vrrp"
)

// reloaded copies cfg, lets change edit it and validates it like
// LoadConfig would.
func reloaded(t *testing.T, cfg *Config, change func(*Config)) *Config {
	t.Helper()
	c := *cfg
	c.VRRP.Instances = slices.Clone(cfg.VRRP.Instances)
	c.Health.Checks = slices.Clone(cfg.Health.Checks)
	change(&c)
	return &c
}

func (h *harness) lastReload() (ok bool, msg string) {
	h.node.live.mu.Lock()
	defer h.node.live.mu.Unlock()
	if h.node.live.lastReload == nil {
		h.t.Fatal("no last_reload")
	}
	return h.node.live.lastReload.OK, h.node.live.lastReload.Error
}

// TestReloadPriorityInPlace: a priority change reaches the running
// instance as a delta (base priority + offset + health delta); the
// instance is not restarted, so its VIP does not move.
func TestReloadPriorityInPlace(t *testing.T) {
	cfg := testConfig(t, testInstance("VI_1", 51, 150, "192.0.2.10/24"))
	h := newHarness(t, cfg, false)
	errc := h.start()
	h.rec.wait(t, "phase awaiting_verdict")
	h.verdict(health.Verdict{Delta: -20})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	defer h.node.Stop(context.Background())
	h.rec.wait(t, "vrrp VI_1#1: delta -20")
	err := h.node.Reload(context.Background(), reloaded(t, cfg, func(c *Config) { c.VRRP.Instances[0].Priority = 100 }))
	if err != nil {
		t.Fatal(err)
	}
	h.rec.wait(t, "vrrp VI_1#1: delta -70")
	if h.rec.has("vrrp VI_1#1: resigning") || h.rec.has("vrrp VI_1#2: opened") {
		t.Fatalf("a priority change restarted the instance: %q", h.rec.snapshot())
	}
	if ok, msg := h.lastReload(); !ok {
		t.Errorf("last_reload not ok: %s", msg)
	}
	// A later verdict keeps the offset.
	h.verdict(health.Verdict{Delta: -5})
	h.rec.wait(t, "vrrp VI_1#1: delta -55")
}

// TestReloadHealthKeepsInstances: new health checks replace the runner;
// the instances keep running, and the new runner's pending verdict does
// not replace the settled one: only its first result does.
func TestReloadHealthKeepsInstances(t *testing.T) {
	cfg := testConfig(t, testInstance("VI_1", 51, 150, "192.0.2.10/24"))
	h := newHarness(t, cfg, false)
	h.mustStart()
	h.rec.wait(t, "vrrp VI_1#1: delta 0")
	next := reloaded(t, cfg, func(c *Config) {
		c.Health.Checks = append(c.Health.Checks, health.CheckConfig{Name: "extra", Type: health.CheckScript, Script: health.Command{"/bin/true"}})
	})
	if err := h.node.Reload(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	h.rec.wait(t, "health 2: published pending")
	h.rec.before(t, "health 1: stopped", "health 2: running")
	h.verdict(health.Verdict{Delta: -10})
	h.rec.wait(t, "vrrp VI_1#1: delta -10")
	evs := h.rec.snapshot()
	from := slices.Index(evs, "health 2: running")
	for _, ev := range evs[from:] {
		if ev == "vrrp VI_1#1: delta -99" {
			t.Errorf("pending verdict applied: %q in %q", ev, evs[from:])
		}
	}
	if h.rec.has("vrrp VI_1#1: resigning") {
		t.Errorf("a health reload restarted the instance: %q", evs)
	}
}

// TestReloadInstancesChanged: an instance whose VIPs change is restarted,
// a removed one stopped, an added one started, an unchanged one left
// alone; new notification sinks replace the old, which are drained.
func TestReloadInstancesChanged(t *testing.T) {
	cfg := testConfig(t,
		testInstance("KEEP", 51, 150, "192.0.2.10/24"),
		testInstance("MOVE", 52, 150, "192.0.2.11/24"),
		testInstance("GONE", 53, 150, "192.0.2.12/24"))
	h := newHarness(t, cfg, false)
	h.mustStart()
	next := reloaded(t, cfg, func(c *Config) {
		c.VRRP.Instances[1].VirtualIPAddresses = []string{"192.0.2.21/24"}
		c.VRRP.Instances = append(c.VRRP.Instances[:2], testInstance("NEW", 54, 100, "192.0.2.13/24"))
		c.Notify.Scripts = map[string]notify.ScriptConfig{}
		c.Notify.Webhooks = []notify.WebhookConfig{{URL: "http://127.0.0.1:1/hook"}}
	})
	if err := h.node.Reload(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	h.rec.wait(t, "vrrp MOVE#4: running")
	h.rec.wait(t, "vrrp NEW#5: running")
	h.rec.before(t, "vrrp MOVE#2: returned", "vrrp MOVE#4: opened")
	h.rec.wait(t, "vrrp GONE#3: returned")
	h.rec.wait(t, "notify 1: closed")
	if h.rec.has("vrrp KEEP#1: resigning") {
		t.Errorf("the unchanged instance was restarted: %q", h.rec.snapshot())
	}
	var names []string
	for _, ri := range h.node.instances {
		names = append(names, ri.in.Name())
	}
	if !slices.Equal(names, []string{"KEEP", "MOVE", "NEW"}) {
		t.Errorf("instances %q, want KEEP MOVE NEW in config order", names)
	}
}

// TestReloadRefused: keys that need a restart, and an invalid
// configuration, are refused as a whole: nothing changes, the error names
// the keys and shows in last_reload.
func TestReloadRefused(t *testing.T) {
	cfg := testConfig(t, testInstance("VI_1", 51, 150, "192.0.2.10/24"))
	h := newHarness(t, cfg, false)
	h.mustStart()
	cases := []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"restart keys", func(c *Config) {
			c.Realm = "OTHER.REALM"
			c.KDC.Listen = []string{"127.0.0.1:1088"}
			c.VRRP.Instances[0].Priority = 10 // not applied either
			c.Node.LogLevel = "debug"
		}, []string{"realm", "kdc.listen", "needs a restart"}},
		{"node name", func(c *Config) { c.Node.Name = "n9" }, []string{"node.name"}},
		{"invalid", func(c *Config) { c.VRRP.Instances[0].Priority = 0 }, []string{"vrrp.instances[0].priority"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := h.node.Reload(context.Background(), reloaded(t, cfg, c.change))
			for _, w := range c.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Reload = %v, want it to name %q", err, w)
				}
			}
			if ok, msg := h.lastReload(); ok || msg != err.Error() {
				t.Errorf("last_reload ok=%v %q, want the error", ok, msg)
			}
			if h.node.cfg != cfg || h.node.level.Level() != slog.LevelInfo {
				t.Error("a refused reload changed the running configuration")
			}
		})
	}
	if h.rec.has("vrrp VI_1#1: resigning") || h.rec.has("vrrp VI_1#1: delta -140") {
		t.Errorf("a refused reload touched the instance: %q", h.rec.snapshot())
	}
	// A file that does not load is refused the same way.
	bad := filepath.Join(t.TempDir(), "kdcha.yaml")
	os.WriteFile(bad, []byte("realm: [\n"), 0o600)
	if err := h.node.ReloadFile(context.Background(), bad); err == nil {
		t.Fatal("ReloadFile of a broken file succeeded")
	}
	if ok, msg := h.lastReload(); ok || !strings.Contains(msg, bad) {
		t.Errorf("last_reload ok=%v %q, want the file's error", ok, msg)
	}
	// A good reload after refused ones applies.
	if err := h.node.Reload(context.Background(), reloaded(t, cfg, func(c *Config) { c.Node.LogLevel = "debug" })); err != nil {
		t.Fatal(err)
	}
	if h.node.level.Level() != slog.LevelDebug {
		t.Errorf("log level %v after reload, want debug", h.node.level.Level())
	}
}

func TestPlanInstance(t *testing.T) {
	base := testInstance("VI_1", 51, 150, "192.0.2.10/24")
	with := func(f func(*vrrp.InstanceConfig)) vrrp.InstanceConfig {
		c := base
		c.VirtualIPAddresses = slices.Clone(base.VirtualIPAddresses)
		f(&c)
		return c
	}
	cases := []struct {
		name string
		cur  vrrp.InstanceConfig
		want instancePlan
	}{
		{"same", with(func(*vrrp.InstanceConfig) {}), planKeep},
		{"priority", with(func(c *vrrp.InstanceConfig) { c.Priority = 90 }), planReprioritize},
		{"to owner", with(func(c *vrrp.InstanceConfig) { c.Priority = vrrp.OwnerPriority }), planRestart},
		{"vips", with(func(c *vrrp.InstanceConfig) { c.VirtualIPAddresses = []string{"192.0.2.11/24"} }), planRestart},
		{"interval and priority", with(func(c *vrrp.InstanceConfig) { c.AdvertInterval /= 2; c.Priority = 90 }), planRestart},
	}
	for _, c := range cases {
		if got := planInstance(base, c.cur); got != c.want {
			t.Errorf("%s: plan %d, want %d", c.name, got, c.want)
		}
	}
	owner := with(func(c *vrrp.InstanceConfig) { c.Priority = vrrp.OwnerPriority })
	if got := planInstance(owner, base); got != planRestart {
		t.Errorf("from owner: plan %d, want restart", got)
	}
}

func TestRestartKeys(t *testing.T) {
	cfg := testConfig(t)
	c := *cfg
	c.Node.LogLevel = "debug"
	c.Metrics.Listen = "127.0.0.1:1"
	c.Database.EncTypes = []string{"aes256-cts-hmac-sha1-96"}
	c.Cluster.Listen = "127.0.0.1:2"
	got := restartKeys(cfg, &c)
	want := []string{"database.enctypes", "metrics.listen", "cluster.listen"}
	if !slices.Equal(got, want) {
		t.Errorf("restartKeys = %q, want %q", got, want)
	}
}
