package notify

import (
	"fmt"
	"log/slog"
	"sort"
)

// New validates cfg and starts a Dispatcher with one target per webhook and
// one per instance with scripts (named "script:<instance>"), defaults
// applied. It fails, naming the key, when a secret file cannot be read or a
// script program is not found.
func New(cfg Config, opts Options) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	var targets []Target
	for i, c := range cfg.Webhooks {
		c = c.withDefaults(i)
		w, err := newWebhookSink(c, log)
		if err != nil {
			return nil, fmt.Errorf("notify.webhooks[%d]: %w", i, err)
		}
		targets = append(targets, Target{Name: c.Name, Sink: w, QueueSize: c.QueueSize, Types: c.Events})
	}
	instances := make([]string, 0, len(cfg.Scripts))
	for name := range cfg.Scripts {
		instances = append(instances, name)
	}
	sort.Strings(instances) // stable metric and error order
	for _, name := range instances {
		s, err := newScriptSink(name, cfg.Scripts[name], log)
		if err != nil {
			return nil, err
		}
		targets = append(targets, Target{Name: "script:" + name, Sink: s, QueueSize: scriptQueueSize, Instance: name, Types: []Type{TypeVRRP}})
	}
	if cfg.Node != "" {
		s, err := newScriptSinkKeyed(nodeScriptTarget, ScriptConfig{Notify: cfg.Node}, log, func(string) string { return "notify.node" })
		if err != nil {
			return nil, err
		}
		targets = append(targets, Target{Name: nodeScriptTarget, Sink: s, QueueSize: scriptQueueSize, Types: []Type{TypeHealth, TypeLeader, TypeQuorum}})
	}
	return NewDispatcher(opts, targets...)
}

// withDefaults fills the keys left at zero; i is the webhook's index, for
// its default name.
func (c WebhookConfig) withDefaults(i int) WebhookConfig {
	if c.Name == "" {
		c.Name = fmt.Sprintf("webhook-%d", i)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultWebhookTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.Backoff)
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.Events == nil {
		c.Events = DefaultWebhookEvents
	}
	return c
}
