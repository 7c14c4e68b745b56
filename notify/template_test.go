package notify

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExampleTemplates renders every testdata template for an event whose
// reason needs escaping: each must give valid JSON naming the instance.
func TestExampleTemplates(t *testing.T) {
	files, err := filepath.Glob("testdata/*.tmpl")
	if err != nil || len(files) < 3 {
		t.Fatalf("glob = %v, %v; want the slack, teams and alertmanager examples", files, err)
	}
	ev := Event{Node: "kdc1", Instance: "VI_1", State: StateFault, PrevState: StateMaster,
		Reason: "probe kinit failed 2 times: \"timeout\"\n", Seq: 3,
		VIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("2001:db8::10/128")},
		Time: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := parseTemplate(string(text))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		body, err := render(tmpl, ev)
		if err != nil || !json.Valid(body) || !strings.Contains(string(body), "VI_1") {
			t.Errorf("%s rendered %q, %v; want valid JSON naming VI_1", f, body, err)
		}
	}
}

func TestTemplateFuncs(t *testing.T) {
	ev := Event{Instance: `a"b`, VIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("192.0.2.11/32")}}
	tests := []struct {
		tmpl, want string
	}{
		{`{{json .Instance}}`, `"a\"b"`},
		{`{{join .VIPs ", "}}`, "192.0.2.10/32, 192.0.2.11/32"},
		{`{{json .VIPs}}`, `["192.0.2.10/32","192.0.2.11/32"]`},
	}
	for _, tt := range tests {
		tmpl, err := parseTemplate(tt.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		got, err := render(tmpl, ev)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.tmpl, got, err, tt.want)
		}
	}
}

func TestDefaultBodyIsEventJSON(t *testing.T) {
	ev := Event{Type: TypeVRRP, Node: "kdc1", Instance: "VI_1", State: StateMaster, PrevState: StateBackup, Priority: 100,
		Reason: "advert timeout", Seq: 9, VIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/24")},
		Time: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)}
	body, err := render(nil, ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"vrrp","node":"kdc1","instance":"VI_1","state":"MASTER","previous_state":"BACKUP","priority":100,` +
		`"reason":"advert timeout","vips":["192.0.2.10/24"],"time":"2026-11-22T03:00:00Z","seq":9}`
	if string(body) != want {
		t.Errorf("body = %s\nwant   %s", body, want)
	}
}
