package health

import (
	"os"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func decodeConfig(t *testing.T, src string) Config {
	t.Helper()
	var doc struct {
		Health Config `yaml:"health"`
	}
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decode: %v", err)
	}
	doc.Health.ApplyDefaults()
	return doc.Health
}

func TestConfigDecodeAndDefaults(t *testing.T) {
	cfg := decodeConfig(t, `
health:
  checks:
    - type: kinit
      principal: kdcha-probe/node1@EXAMPLE.COM
      keytab: /var/lib/kdcha/probe.keytab
    - name: kinit-tcp
      type: kinit
      kdc: "[::1]:8888"
      transport: tcp
      principal: p@EXAMPLE.COM
      keytab: /k
      service: host/node1.example.com
      interval: 5s
      weight: 0
      init_fail: true
    - name: disk
      type: script
      script: /usr/bin/test -d /var/lib/kdcha
      interval: 3s
    - name: list
      type: script
      script: ["/bin/sh", "-c", "exit 0"]
      rise: 4
      fall: 5
      weight: 20
`)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	w := func(n int) *int { return &n }
	want := []CheckConfig{
		{Name: "kinit", Type: CheckKinit, KDC: DefaultKDC, Transport: TransportUDP,
			Principal: "kdcha-probe/node1@EXAMPLE.COM", Keytab: "/var/lib/kdcha/probe.keytab",
			Interval: 500 * time.Millisecond, Timeout: 500 * time.Millisecond, Rise: 2, Fall: 2, Weight: w(-253)},
		{Name: "kinit-tcp", Type: CheckKinit, KDC: "[::1]:8888", Transport: TransportTCP,
			Principal: "p@EXAMPLE.COM", Keytab: "/k", Service: "host/node1.example.com",
			Interval: 5 * time.Second, Timeout: 500 * time.Millisecond, Rise: 2, Fall: 2, Weight: w(0), InitFail: true},
		{Name: "disk", Type: CheckScript, Script: Command{"/usr/bin/test", "-d", "/var/lib/kdcha"},
			Interval: 3 * time.Second, Timeout: 3 * time.Second, Rise: 1, Fall: 1, Weight: w(0)},
		{Name: "list", Type: CheckScript, Script: Command{"/bin/sh", "-c", "exit 0"},
			Interval: time.Second, Timeout: time.Second, Rise: 4, Fall: 5, Weight: w(20)},
	}
	if len(cfg.Checks) != len(want) {
		t.Fatalf("%d checks, want %d", len(cfg.Checks), len(want))
	}
	for i := range want {
		got, exp := cfg.Checks[i], want[i]
		if *got.Weight != *exp.Weight {
			t.Errorf("check %d weight %d, want %d", i, *got.Weight, *exp.Weight)
		}
		got.Weight, exp.Weight = nil, nil
		if !equalCheck(got, exp) {
			t.Errorf("check %d:\n got %+v\nwant %+v", i, got, exp)
		}
	}
	checks, err := NewChecks(cfg)
	if err != nil || len(checks) != 4 {
		t.Fatalf("NewChecks: %d checks, %v", len(checks), err)
	}
	if checks[1].Track != (TrackParams{Rise: 2, Fall: 2, Weight: 0, InitFail: true}) {
		t.Errorf("track params %+v", checks[1].Track)
	}
}

func equalCheck(a, b CheckConfig) bool {
	return a.Name == b.Name && a.Type == b.Type && a.KDC == b.KDC && a.Transport == b.Transport &&
		a.Principal == b.Principal && a.Keytab == b.Keytab && a.Service == b.Service &&
		strings.Join(a.Script, "\x00") == strings.Join(b.Script, "\x00") &&
		a.Interval == b.Interval && a.Timeout == b.Timeout && a.Rise == b.Rise && a.Fall == b.Fall &&
		a.InitFail == b.InitFail
}

func TestConfigKinitTimeoutCappedAtInterval(t *testing.T) {
	cfg := Config{Checks: []CheckConfig{{Type: CheckKinit, Principal: "p@R", Keytab: "/k", Interval: 200 * time.Millisecond}}}
	cfg.ApplyDefaults()
	if got := cfg.Checks[0].Timeout; got != 200*time.Millisecond {
		t.Errorf("timeout %v, want the 200ms interval", got)
	}
}

func TestConfigValidateNamesTheKey(t *testing.T) {
	kinit := "- {type: kinit, principal: p@R, keytab: /k"
	for _, tc := range []struct {
		name  string
		check string // one YAML list item under health.checks
		want  string
	}{
		{"unknown type", "- {type: http}", `health.checks[0].type: "http" must be kinit or script`},
		{"bad name", kinit + `, name: "a b"}`, "health.checks[0].name:"},
		{"kdc without port", kinit + ", kdc: localhost}", "health.checks[0].kdc:"},
		{"kdc port out of range", kinit + ", kdc: 'h:70000'}", "health.checks[0].kdc:"},
		{"transport", kinit + ", transport: sctp}", `health.checks[0].transport: "sctp" must be udp or tcp`},
		{"principal without realm", "- {type: kinit, principal: probe, keytab: /k}", "health.checks[0].principal:"},
		{"principal missing", "- {type: kinit, keytab: /k}", "health.checks[0].principal:"},
		{"keytab missing", "- {type: kinit, principal: p@R}", "health.checks[0].keytab: required"},
		{"service with realm", kinit + ", service: host/x@R}", "health.checks[0].service:"},
		{"script on kinit", kinit + ", script: /bin/true}", "health.checks[0].script: only for a script check"},
		{"script missing", "- {type: script}", "health.checks[0].script: required"},
		{"keytab on script", "- {type: script, script: /bin/true, keytab: /k}", "health.checks[0].keytab: only for a kinit check"},
		{"interval too short", kinit + ", interval: 5ms}", "health.checks[0].interval: 5ms is outside [10ms, 1h0m0s]"},
		{"interval too long", kinit + ", interval: 2h}", "health.checks[0].interval:"},
		{"negative timeout", kinit + ", timeout: -1s}", "health.checks[0].timeout:"},
		{"negative rise", kinit + ", rise: -1}", "health.checks[0].rise: -1 must be at least 1"},
		{"negative fall", kinit + ", fall: -2}", "health.checks[0].fall: -2 must be at least 1"},
		{"weight too low", kinit + ", weight: -254}", "health.checks[0].weight: -254 is outside [-253, 253]"},
		{"weight too high", kinit + ", weight: 254}", "health.checks[0].weight: 254 is outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := decodeConfig(t, "health:\n  checks:\n    "+tc.check+"\n")
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestConfigValidateDuplicateNames(t *testing.T) {
	cfg := decodeConfig(t, `
health:
  checks:
    - {type: script, script: /bin/true}
    - {type: script, script: /bin/false}
`)
	err := cfg.Validate()
	want := `health.checks[1].name: "script" already used by health.checks[0]`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Validate() = %v, want %q", err, want)
	}
}

func TestConfigValidateWithoutDefaults(t *testing.T) {
	cfg := Config{Checks: []CheckConfig{{Name: "s", Type: CheckScript, Script: Command{"/bin/true"}, Interval: time.Second, Timeout: time.Second, Rise: 1, Fall: 1}}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "health.checks[0].weight: unset") {
		t.Fatalf("Validate() = %v, want the unset weight reported", err)
	}
}

func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile("testdata/health.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := decodeConfig(t, string(b))
	if err := cfg.Validate(); err != nil {
		t.Fatalf("testdata/health.yaml: %v", err)
	}
	if len(cfg.Checks) != 3 || cfg.Checks[1].KDC != DefaultKDC || cfg.Checks[2].Timeout != 5*time.Second ||
		*cfg.Checks[2].Weight != 0 || len(cfg.Checks[2].Script) != 3 {
		t.Errorf("unexpected example config: %+v", cfg.Checks)
	}
}
