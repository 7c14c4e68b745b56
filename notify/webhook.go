package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"text/template"
	"time"
)

// responseLimit bounds how much of a response is read: enough to keep the
// connection reusable and to quote an error, not enough to hurt.
const responseLimit = 64 << 10

// webhookSink POSTs each event to one URL.
type webhookSink struct {
	url         string
	headers     http.Header
	secret      []byte
	timeout     time.Duration
	maxAttempts int
	backoff     time.Duration
	maxBackoff  time.Duration
	tmpl        *template.Template
	client      *http.Client
	log         *slog.Logger
}

// newWebhookSink builds the sink for a validated config with defaults
// applied; it reads the secret file.
func newWebhookSink(c WebhookConfig, log *slog.Logger) (*webhookSink, error) {
	w := &webhookSink{
		url:         c.URL,
		headers:     make(http.Header),
		timeout:     c.Timeout,
		maxAttempts: c.MaxAttempts,
		backoff:     c.Backoff,
		maxBackoff:  c.MaxBackoff,
		secret:      []byte(c.Secret),
		client:      &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		log:         log.With("sink", c.Name),
	}
	w.headers.Set("Content-Type", "application/json")
	w.headers.Set("User-Agent", "kdcha-notify/1")
	for k, v := range c.Headers {
		w.headers.Set(k, v)
	}
	if c.SecretFile != "" {
		secret, err := readSecretFile(c.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("webhook %s: secret_file: %w", c.Name, err)
		}
		w.secret = secret
	}
	if c.Template != "" {
		t, err := parseTemplate(c.Template)
		if err != nil {
			return nil, fmt.Errorf("webhook %s: template: %w", c.Name, err)
		}
		w.tmpl = t
	}
	return w, nil
}

// Deliver POSTs ev, retrying retryable failures with backoff until
// maxAttempts requests have been made or ctx ends.
func (w *webhookSink) Deliver(ctx context.Context, ev Event) error {
	body, err := render(w.tmpl, ev)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := w.post(ctx, body)
		if err == nil {
			return nil
		}
		se, isStatus := errors.AsType[*statusError](err)
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("attempt %d: %w", attempt, err)
		case isStatus && !se.retryable():
			return fmt.Errorf("attempt %d: %w (not retried)", attempt, err)
		case attempt >= w.maxAttempts:
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		var asked time.Duration
		if isStatus {
			asked = se.retryAfter
		}
		wait := backoff(attempt, w.backoff, w.maxBackoff, asked)
		w.log.Debug("notify: webhook attempt failed, will retry",
			"instance", ev.Instance, "seq", ev.Seq, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("attempt %d: %w; retry abandoned: %w", attempt, err, ctx.Err())
		}
	}
}

// post makes one request bounded by the per-request timeout.
func (w *webhookSink) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header = w.headers.Clone()
	if len(w.secret) > 0 {
		req.Header.Set(SignatureHeader, sign(w.secret, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		// *url.Error quotes the URL, which may hold a token: keep only why.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, responseLimit))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &statusError{
		code:       resp.StatusCode,
		retryAfter: parseRetryAfter(resp.Header.Get("Retry-After")),
		body:       string(head[:min(len(head), 200)]),
	}
}
