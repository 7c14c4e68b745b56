package notify

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// reservedHeaders cannot be set through headers: Go ignores Host and
// Content-Length on client requests, and the signature is computed.
var reservedHeaders = []string{"Host", "Content-Length", SignatureHeader}

// Validate checks the section without touching the file system (secret
// files and script programs are checked by New). Every message names the
// offending key, as in "notify.webhooks[1].url: ...". All problems are
// reported, joined.
func (c Config) Validate() error {
	var errs []error
	names := make(map[string]int)
	for i, w := range c.Webhooks {
		key := fmt.Sprintf("notify.webhooks[%d]", i)
		errs = append(errs, w.validate(key)...)
		name := w.withDefaults(i).Name
		if j, dup := names[name]; dup {
			errs = append(errs, fmt.Errorf("%s.name: %q already used by notify.webhooks[%d]", key, name, j))
		}
		names[name] = i
	}
	instances := make([]string, 0, len(c.Scripts))
	for name := range c.Scripts {
		instances = append(instances, name)
	}
	sort.Strings(instances)
	for _, name := range instances {
		errs = append(errs, c.Scripts[name].validate("notify.scripts."+name)...)
	}
	if c.Node != "" {
		if _, err := splitArgv(c.Node); err != nil {
			errs = append(errs, fmt.Errorf("notify.node: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (w WebhookConfig) validate(key string) []error {
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", key, k, fmt.Sprintf(format, args...)))
	}
	if strings.HasPrefix(w.Name, "script:") {
		bad("name", "the prefix \"script:\" is reserved for script sinks")
	}
	if w.URL == "" {
		bad("url", "required")
	} else if u, err := url.Parse(w.URL); err != nil {
		// url.Parse errors quote the URL, which may hold a token.
		bad("url", "not a valid URL")
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url", "must be an absolute http or https URL")
	}
	for k, v := range w.Headers {
		switch {
		case !validHeaderName(k):
			bad("headers", "%q is not a valid header name", k)
		case strings.ContainsAny(v, "\r\n\x00"):
			bad("headers", "value of %q contains a line break or NUL", k)
		}
		for _, r := range reservedHeaders {
			if http.CanonicalHeaderKey(k) == r {
				bad("headers", "%q cannot be set", k)
			}
		}
	}
	if w.Secret != "" && w.SecretFile != "" {
		bad("secret_file", "set either secret or secret_file, not both")
	}
	if w.Timeout < 0 {
		bad("timeout", "must not be negative, got %v", w.Timeout)
	}
	if w.MaxAttempts < 0 {
		bad("max_attempts", "must not be negative, got %d", w.MaxAttempts)
	}
	if w.Backoff < 0 {
		bad("backoff", "must not be negative, got %v", w.Backoff)
	}
	if w.MaxBackoff < 0 {
		bad("max_backoff", "must not be negative, got %v", w.MaxBackoff)
	} else if w.MaxBackoff > 0 && w.MaxBackoff < w.Backoff {
		bad("max_backoff", "%v is less than backoff %v", w.MaxBackoff, w.Backoff)
	}
	if w.QueueSize < 0 {
		bad("queue_size", "must not be negative, got %d", w.QueueSize)
	}
	for _, t := range w.Events {
		if !slices.Contains(Types, t) {
			bad("events", "unknown event type %q (use %s)", t, typeList())
		}
	}
	if w.Events != nil && len(w.Events) == 0 {
		bad("events", "empty: remove the webhook, or leave events out for the default %s", DefaultWebhookEvents)
	}
	if w.Template != "" {
		if err := checkTemplate(w.Template); err != nil {
			bad("template", "%v", err)
		}
	}
	return errs
}

func (s ScriptConfig) validate(key string) []error {
	var errs []error
	for _, k := range s.all() {
		if _, err := splitArgv(k.value); err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", key, k.key, err))
		}
	}
	if len(s.all()) == 0 {
		errs = append(errs, fmt.Errorf("%s: no script set (notify, notify_master, notify_backup, notify_fault or notify_stop)", key))
	}
	if s.Timeout < 0 {
		errs = append(errs, fmt.Errorf("%s.timeout: must not be negative, got %v", key, s.Timeout))
	}
	return errs
}

// typeList is the event types as a config would list them.
func typeList() string {
	s := make([]string, len(Types))
	for i, t := range Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// validHeaderName reports whether s is an HTTP token (RFC 9110, 5.6.2).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}
