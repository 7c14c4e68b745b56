package notify

import "time"

// Defaults applied by New to keys left at zero.
const (
	DefaultWebhookTimeout = 5 * time.Second
	DefaultMaxAttempts    = 5
	DefaultBackoff        = time.Second
	DefaultMaxBackoff     = 30 * time.Second
	DefaultQueueSize      = 64
	DefaultScriptTimeout  = 10 * time.Second
	// scriptQueueSize bounds the transitions waiting per instance for its
	// scripts; a script that is still running when this many more
	// transitions happened is hopelessly behind anyway.
	scriptQueueSize = 16
)

// Config is the `notify:` section of the agent configuration:
//
//	notify:
//	  webhooks:
//	    - name: ops
//	      url: https://hooks.example.com/kdcha
//	      secret_file: /etc/kdcha/webhook.secret
//	  scripts:
//	    VI_1:
//	      notify: /usr/local/bin/kdc-notify --verbose
//	      notify_master: "/usr/local/bin/page 'KDC master moved'"
//
// testdata/notify.yaml is a complete example; it is loaded by the tests.
type Config struct {
	// Webhooks each get their own queue and worker, so a slow one does not
	// delay another.
	Webhooks []WebhookConfig `yaml:"webhooks"`
	// Scripts maps a VRRP instance name to its keepalived-style scripts.
	Scripts map[string]ScriptConfig `yaml:"scripts"`
	// Node is a command line run for every node-level event (health,
	// leader, quorum), with four arguments appended, keepalived-style:
	// HEALTH <check> <UP|DOWN> <node>, LEADER <new leader> CHANGED <node>
	// or QUORUM raft <LOST|RESTORED> <node>. Like every script it also
	// gets the event in KDCHA_* environment variables, is split and run
	// as the instance scripts are, in event order, with their default
	// timeout.
	Node string `yaml:"node"`
}

// DefaultWebhookEvents are the event types a webhook gets when its events
// key is absent: the VRRP transitions, the node's health checks and
// quorum. Leader changes are left out: every election makes one on every
// node, which is noise to a pager; ask for them with events: [..., leader].
var DefaultWebhookEvents = []Type{TypeVRRP, TypeHealth, TypeQuorum}

// nodeScriptTarget names the node script's sink in logs and metrics.
const nodeScriptTarget = "script:@node"

// WebhookConfig is one webhook receiver.
type WebhookConfig struct {
	// Name labels the webhook in logs and metrics; default "webhook-<index>".
	// The URL is never logged because chat webhooks carry their token in it.
	Name string `yaml:"name"`
	// URL receives a POST per event; http or https.
	URL string `yaml:"url"`
	// Headers are added to every request; they may override Content-Type
	// (default application/json) and User-Agent.
	Headers map[string]string `yaml:"headers"`
	// Secret, or the first line of SecretFile (at most one of the two), keys
	// the X-Kdcha-Signature header: "sha256=" and the lowercase hex
	// HMAC-SHA256 of the exact request body. Without either no signature is
	// sent. The default JSON body includes node, instance, seq and time, so a
	// receiver that rejects old times or repeated (node, instance, seq) is
	// protected from replays.
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// Timeout bounds each request, including reading the response status;
	// default 5s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxAttempts bounds the requests per event; default 5. Network errors,
	// timeouts, 5xx, 408 and 429 are retried; other statuses are final.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the wait after the first failed attempt, doubled after each
	// further one up to MaxBackoff; defaults 1s and 30s. A longer
	// Retry-After from the receiver is honoured up to MaxBackoff.
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// QueueSize bounds the events waiting per instance; default 64. When
	// full, the oldest waiting event is dropped and counted in
	// kdcha_notify_dropped_total.
	QueueSize int `yaml:"queue_size"`
	// Template, when set, is a Go text/template rendering the body from the
	// Event, instead of its JSON encoding. Besides the Event fields it may
	// use {{json X}} (X as a JSON value, quoted and escaped) and
	// {{join .VIPs ", "}}. A Slack incoming webhook, for example:
	//
	//	{"text": {{json (printf "%s: %s is %s (was %s, priority %d): %s" .Node .Instance .State .PrevState .Priority .Reason)}}}
	//
	// testdata/ has Slack, Teams and Alertmanager examples.
	Template string `yaml:"template"`
	// Events are the event types sent (vrrp, health, leader, quorum);
	// default DefaultWebhookEvents.
	Events []Type `yaml:"events"`
}

// ScriptConfig holds one instance's notify scripts, keyed and called as
// keepalived does. Each is a command line split into argv with simple
// shell-like quoting ('single', "double" with \" and \\, and \ outside
// quotes) but run without a shell: no globbing, variables or pipes. The
// program must be an absolute path to an executable (CheckFiles; the agent
// refuses others before it starts).
type ScriptConfig struct {
	// Notify runs after the state's own script with four arguments
	// appended: INSTANCE <name> <MASTER|BACKUP|FAULT|STOP> <priority>.
	Notify string `yaml:"notify"`
	// NotifyMaster, NotifyBackup, NotifyFault and NotifyStop run, without
	// arguments, on entering their state.
	NotifyMaster string `yaml:"notify_master"`
	NotifyBackup string `yaml:"notify_backup"`
	NotifyFault  string `yaml:"notify_fault"`
	NotifyStop   string `yaml:"notify_stop"`
	// Timeout bounds each script run; default 10s. On expiry the script's
	// process group gets SIGTERM, then SIGKILL 2s later.
	Timeout time.Duration `yaml:"timeout"`
}

// all lists every configured command line with its key and, for the
// per-state scripts, the state that runs it.
func (c ScriptConfig) all() []keyed {
	var out []keyed
	for _, k := range []keyed{
		{"notify", c.Notify, ""},
		{"notify_master", c.NotifyMaster, StateMaster},
		{"notify_backup", c.NotifyBackup, StateBackup},
		{"notify_fault", c.NotifyFault, StateFault},
		{"notify_stop", c.NotifyStop, StateStop},
	} {
		if k.value != "" {
			out = append(out, k)
		}
	}
	return out
}

// keyed is a script command line with the key it came from, so errors can
// name it.
type keyed struct {
	key, value string
	state      State
}
