package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/internal/readiness"
)

// writeConfig writes a config file and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kdcha.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const keepalivedHealth = `
health:
  checks:
    - name: krb5kdc
      type: kinit
      principal: kdc-check/kdc1.example.com@EXAMPLE.COM
      keytab: /etc/keepalived/kdc-check.keytab
`

// TestModeKeepalivedReportsUnusedKeys: in mode keepalived every key of the
// KDC, database and cluster sections is reported with its line, all in one
// run, instead of being ignored; the same file in mode kdc loads.
func TestModeKeepalivedReportsUnusedKeys(t *testing.T) {
	body := `realm: EXAMPLE.COM
kdc:
  listen: ["0.0.0.0:88"]
  max_life: 8h
database:
  enctypes: [aes256-cts-hmac-sha1-96]
cluster:
  listen: 192.0.2.1:7946
node:
  fault_injection: true
` + keepalivedHealth
	_, err := LoadConfig(writeConfig(t, "mode: keepalived\n"+body))
	if err == nil {
		t.Fatal("loaded a keepalived-mode config with KDC keys")
	}
	for _, want := range []string{
		":4: kdc.listen: not used in mode keepalived",
		":5: kdc.max_life: not used in mode keepalived",
		":7: database.enctypes: not used in mode keepalived",
		":9: cluster.listen: not used in mode keepalived",
		":11: node.fault_injection: not used in mode keepalived",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
	// In mode kdc the cluster needs credentials checks of its own; without
	// cluster.listen the rest is a valid kdc-mode file.
	kdcBody := strings.Replace(body, "cluster:\n  listen: 192.0.2.1:7946\n", "", 1)
	kdcBody = strings.Replace(kdcBody, "  fault_injection: true\n", "  fault_injection: false\n", 1)
	if _, err := LoadConfig(writeConfig(t, "mode: kdc\n"+kdcBody)); err != nil {
		t.Errorf("mode kdc: %v", err)
	}
}

func TestModeValidation(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       string // "" loads
	}{
		{"keepalived", "realm: EXAMPLE.COM\nmode: keepalived\n" + keepalivedHealth, ""},
		{"kdc listen empty in keepalived", "realm: EXAMPLE.COM\nmode: keepalived\nkdc:\n  listen: []\n" + keepalivedHealth, ":4: kdc.listen: not used in mode keepalived"},
		{"unknown mode", "realm: EXAMPLE.COM\nmode: lb\n", `:2: mode: "lb" must be kdc or keepalived`},
		{"data dir", "realm: EXAMPLE.COM\nmode: keepalived\nnode:\n  data_dir: /srv/kdcha\n" + keepalivedHealth, ":4: node.data_dir: not used in mode keepalived"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := LoadConfig(writeConfig(t, c.yaml))
			switch {
			case c.want == "" && err != nil:
				t.Fatal(err)
			case c.want == "" && cfg.Mode != ModeKeepalived:
				t.Fatalf("mode %q", cfg.Mode)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	if cfg := DefaultConfig(); cfg.Mode != ModeKDC {
		t.Errorf("default mode %q, want kdc", cfg.Mode)
	}
}

// TestTrackReadinessKeepalived: a node without a KDC or replica waits only
// for its first health verdict.
func TestTrackReadinessKeepalived(t *testing.T) {
	set := readiness.New(readiness.Options{})
	track := TrackReadiness(set, ModeKeepalived)
	var names []string
	for _, c := range set.Report().Conditions {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{readiness.FirstHealthVerdict}) {
		t.Fatalf("conditions %q, want only %s", names, readiness.FirstHealthVerdict)
	}
	readyOnlyWhenRunning(t, set, track, PhaseStarting, PhaseServing, PhaseAwaitingVerdict)
}

// TestModeKeepalivedParts runs a real node in mode keepalived (no VRRP
// instance, so no root needed): it reaches running without opening a
// database or binding a KDC, runs only the configured checks (no own
// probe, no kdc-progress or replica check), and its admin socket answers
// status (mode keepalived) and refuses everything else, saying why.
func TestModeKeepalivedParts(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	path := writeConfig(t, fmt.Sprintf(`realm: EXAMPLE.COM
mode: keepalived
node:
  name: ka1
  admin_socket: %s
metrics:
  listen: ""
health:
  checks:
    - name: external
      type: script
      script: /bin/true
      interval: 50ms
`, sock))
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	var phases []Phase
	n := New(cfg, Options{Logger: slog.New(slog.DiscardHandler), OnPhase: func(p Phase) { phases = append(phases, p) }})
	if n.parts.openReplica != nil {
		t.Fatal("mode keepalived opens a database")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer n.Stop(context.Background())
	if want := []Phase{PhaseStarting, PhaseServing, PhaseAwaitingVerdict, PhaseRunning}; !slices.Equal(phases, want) {
		t.Errorf("phases %q, want %q", phases, want)
	}
	c := admin.NewClient(sock)
	var st admin.NodeStatus
	if err := c.NodeStatus(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode != string(ModeKeepalived) || st.Node != "ka1" || st.Realm != "EXAMPLE.COM" || len(st.KDC) != 0 || st.Cluster != nil {
		t.Errorf("status %+v", st)
	}
	if st.Health == nil || len(st.Health.Checks) != 1 || st.Health.Checks[0].Name != "external" {
		t.Errorf("health %+v, want only the configured check", st.Health)
	}
	_, err = c.List(ctx)
	var apiErr *admin.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || !strings.Contains(apiErr.Message, "mode keepalived") {
		t.Errorf("principal list: %v, want 404 naming mode keepalived", err)
	}
	// A reload may change the checks (built without a probe of its own)
	// but not the mode.
	next := *cfg
	next.Health.Checks = append(slices.Clone(cfg.Health.Checks), cfg.Health.Checks[0])
	next.Health.Checks[1].Name = "second"
	if err := n.Reload(ctx, &next); err != nil {
		t.Errorf("reload of the checks: %v", err)
	}
	if err := c.NodeStatus(ctx, &st); err != nil || st.Health == nil || len(st.Health.Checks) != 2 {
		t.Errorf("after the reload: health %+v (%v), want 2 checks", st.Health, err)
	}
	kdcMode := next
	kdcMode.Mode = ModeKDC
	if err := n.Reload(ctx, &kdcMode); err == nil || !strings.Contains(err.Error(), "mode: changing it needs a restart") {
		t.Errorf("reload to mode kdc: %v, want a refusal naming mode", err)
	}
	if err := n.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := admin.NewClient(sock).NodeStatus(context.Background(), &st); err == nil {
		t.Error("admin socket still answers after stop")
	}
}

// FuzzUnusedKeys: any YAML document is walked without panic, and every key
// reported is under a section or key mode keepalived does not use.
func FuzzUnusedKeys(f *testing.F) {
	f.Add("kdc:\n  listen: []\nnode:\n  data_dir: /x\n")
	f.Add("cluster: 3\ndatabase: [a]\nnode: {fault_injection: true}\n")
	f.Add("- a\n- b\n")
	f.Fuzz(func(t *testing.T, doc string) {
		var root yaml.Node
		if yaml.Unmarshal([]byte(doc), &root) != nil {
			return
		}
		for _, k := range unusedKeys(&root) {
			if !slices.ContainsFunc(keepalivedUnused, func(p string) bool { return k == p || strings.HasPrefix(k, p+".") }) {
				t.Fatalf("reported %q, not under %q", k, keepalivedUnused)
			}
		}
	})
}
