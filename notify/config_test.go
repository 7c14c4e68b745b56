package notify

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestExampleConfig loads testdata/notify.yaml strictly, as the agent does,
// so the example and the yaml tags cannot drift apart.
func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile("testdata/notify.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Notify Config `yaml:"notify"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("decode: %v", err)
	}
	c := file.Notify
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	ops := c.Webhooks[0]
	if ops.Timeout != 5*time.Second || ops.MaxBackoff != 30*time.Second || ops.MaxAttempts != 5 ||
		ops.QueueSize != 64 || ops.Headers["X-Team"] != "identity" || ops.SecretFile == "" {
		t.Errorf("webhooks[0] = %+v", ops)
	}
	if c.Webhooks[1].Template == "" {
		t.Error("webhooks[1].template not loaded")
	}
	vi1 := c.Scripts["VI_1"]
	if vi1.Timeout != 10*time.Second || vi1.NotifyMaster != "/usr/local/sbin/page 'KDC VIP moved here'" || vi1.NotifyBackup != "" {
		t.Errorf("scripts.VI_1 = %+v", vi1)
	}
}

func TestValidate(t *testing.T) {
	ok := WebhookConfig{URL: "https://hooks.example.com/x"}
	with := func(f func(*WebhookConfig)) Config {
		w := ok
		f(&w)
		return Config{Webhooks: []WebhookConfig{ok, w}}
	}
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none means valid
	}{
		{"empty", Config{}, nil},
		{"defaults", Config{Webhooks: []WebhookConfig{ok}, Scripts: map[string]ScriptConfig{"VI_1": {Notify: "/bin/true"}}}, nil},
		{"url missing", with(func(w *WebhookConfig) { w.URL = "" }), []string{"notify.webhooks[1].url: required"}},
		{"url scheme", with(func(w *WebhookConfig) { w.URL = "ftp://x/y" }), []string{"notify.webhooks[1].url: must be an absolute http or https URL"}},
		{"url relative", with(func(w *WebhookConfig) { w.URL = "/hook" }), []string{"notify.webhooks[1].url:"}},
		{"url unparsable hides token", with(func(w *WebhookConfig) { w.URL = "https://h/%zzTOKEN" }), []string{"notify.webhooks[1].url: not a valid URL"}},
		{"bad header name", with(func(w *WebhookConfig) { w.Headers = map[string]string{"X Bad": "v"} }), []string{`notify.webhooks[1].headers: "X Bad" is not a valid header name`}},
		{"header injection", with(func(w *WebhookConfig) { w.Headers = map[string]string{"X-A": "v\r\nX-B: w"} }), []string{`notify.webhooks[1].headers: value of "X-A" contains a line break`}},
		{"reserved header", with(func(w *WebhookConfig) { w.Headers = map[string]string{"x-kdcha-signature": "forged"} }), []string{`notify.webhooks[1].headers: "x-kdcha-signature" cannot be set`}},
		{"two secrets", with(func(w *WebhookConfig) { w.Secret, w.SecretFile = "a", "/b" }), []string{"notify.webhooks[1].secret_file: set either secret or secret_file"}},
		{"negative numbers", with(func(w *WebhookConfig) {
			w.Timeout, w.MaxAttempts, w.Backoff, w.QueueSize = -1, -1, -1, -1
		}), []string{"notify.webhooks[1].timeout:", "notify.webhooks[1].max_attempts:", "notify.webhooks[1].backoff:", "notify.webhooks[1].queue_size:"}},
		{"backoff above max", with(func(w *WebhookConfig) { w.Backoff, w.MaxBackoff = time.Minute, time.Second }), []string{"notify.webhooks[1].max_backoff: 1s is less than backoff 1m0s"}},
		{"bad template", with(func(w *WebhookConfig) { w.Template = "{{.Nope" }), []string{"notify.webhooks[1].template: parse template"}},
		{"unknown template field", with(func(w *WebhookConfig) { w.Template = "{{.Nope}}" }), []string{"notify.webhooks[1].template:"}},
		{"duplicate default name", with(func(w *WebhookConfig) { w.Name = "webhook-0" }), []string{`notify.webhooks[1].name: "webhook-0" already used by notify.webhooks[0]`}},
		{"reserved name", with(func(w *WebhookConfig) { w.Name = "script:VI_1" }), []string{"notify.webhooks[1].name: the prefix"}},
		{"script quoting", Config{Scripts: map[string]ScriptConfig{"VI_1": {NotifyFault: `/x "open`}}}, []string{`notify.scripts.VI_1.notify_fault: unterminated " quote`}},
		{"script empty", Config{Scripts: map[string]ScriptConfig{"VI_2": {Timeout: time.Second}}}, []string{"notify.scripts.VI_2: no script set"}},
		{"script timeout", Config{Scripts: map[string]ScriptConfig{"VI_1": {Notify: "/x", Timeout: -time.Second}}}, []string{"notify.scripts.VI_1.timeout: must not be negative"}},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if len(tt.want) == 0 {
			if err != nil {
				t.Errorf("%s: Validate = %v, want nil", tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: Validate = nil, want %q", tt.name, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Validate = %q, want it to contain %q", tt.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "TOKEN") {
			t.Errorf("%s: Validate = %q leaks the URL", tt.name, err)
		}
	}
}

func TestNewSecretFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := dir + "/empty"
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file, want string
	}{
		{dir + "/missing", "notify.webhooks[0]: webhook webhook-0: secret_file:"},
		{empty, "empty secret"},
	}
	for _, tt := range tests {
		_, err := New(Config{Webhooks: []WebhookConfig{{URL: "https://h/x", SecretFile: tt.file}}}, Options{Logger: quietLog})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("secret_file %s: New = %v, want %q", tt.file, err, tt.want)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	got := WebhookConfig{Backoff: time.Minute}.withDefaults(2)
	want := WebhookConfig{Name: "webhook-2", Timeout: DefaultWebhookTimeout, MaxAttempts: DefaultMaxAttempts,
		Backoff: time.Minute, MaxBackoff: time.Minute, QueueSize: DefaultQueueSize}
	if got.Name != want.Name || got.Timeout != want.Timeout || got.MaxAttempts != want.MaxAttempts ||
		got.Backoff != want.Backoff || got.MaxBackoff != want.MaxBackoff || got.QueueSize != want.QueueSize {
		t.Errorf("withDefaults = %+v, want %+v", got, want)
	}
}
