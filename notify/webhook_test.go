package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fastRetries keeps retry tests quick; the backoff arithmetic itself is
// tested in retry_test.go.
func fastRetries(c WebhookConfig) WebhookConfig {
	c.Backoff, c.MaxBackoff = time.Millisecond, 5*time.Millisecond
	return c
}

func newWebhookDispatcher(t *testing.T, hooks ...WebhookConfig) (*Dispatcher, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	d, err := New(Config{Webhooks: hooks}, Options{Node: "kdc1", Logger: quietLog, Registerer: reg})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d, reg
}

// request is what a test receiver saw.
type request struct {
	header http.Header
	body   []byte
	event  Event
}

// receiver is an httptest server that decodes events and answers with
// respond; every request is sent on reqs.
func receiver(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, ev Event)) (*httptest.Server, chan request) {
	t.Helper()
	reqs := make(chan request, 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		var ev Event
		_ = json.Unmarshal(body, &ev) // templated bodies are not events
		reqs <- request{header: r.Header.Clone(), body: body, event: ev}
		respond(w, r, ev)
	}))
	t.Cleanup(srv.Close)
	return srv, reqs
}

// TestWebhookOrderAndRetries fails every event's first two attempts with a
// 500: each event must still arrive, after exactly three attempts, and each
// instance's events must arrive in Publish order.
func TestWebhookOrderAndRetries(t *testing.T) {
	type key struct {
		instance string
		seq      uint64
	}
	var mu sync.Mutex
	attempts := make(map[key]int)
	srv, reqs := receiver(t, func(w http.ResponseWriter, r *http.Request, ev Event) {
		mu.Lock()
		defer mu.Unlock()
		k := key{ev.Instance, ev.Seq}
		attempts[k]++
		if attempts[k] < 3 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	d, reg := newWebhookDispatcher(t, fastRetries(WebhookConfig{Name: "hook", URL: srv.URL, MaxAttempts: 3}))
	const perInstance = 20
	for range perInstance {
		d.Publish(Event{Instance: "VI_1", State: StateMaster})
		d.Publish(Event{Instance: "VI_2", State: StateBackup})
	}
	closeNow(t, d)
	close(reqs)
	mu.Lock()
	defer mu.Unlock()

	next := map[string]uint64{"VI_1": 1, "VI_2": 1}
	for r := range reqs {
		ev := r.event
		switch want := next[ev.Instance]; {
		case ev.Seq == want: // a retry of the event in flight, or its success
		case ev.Seq == want+1 && attempts[key{ev.Instance, want}] == 3:
			next[ev.Instance] = ev.Seq
		default:
			t.Fatalf("%s: got seq %d while seq %d was not yet delivered", ev.Instance, ev.Seq, want)
		}
	}
	for k, n := range attempts {
		if n != 3 {
			t.Errorf("%s#%d: %d attempts, want 3", k.instance, k.seq, n)
		}
	}
	if len(attempts) != 2*perInstance || next["VI_1"] != perInstance || next["VI_2"] != perInstance {
		t.Errorf("delivered %d distinct events, last seqs %v; want %d, %d each", len(attempts), next, 2*perInstance, perInstance)
	}
	if got := metric(t, reg, "kdcha_notify_sent_total", "hook"); got != 2*perInstance {
		t.Errorf("sent = %v, want %d", got, 2*perInstance)
	}
}

func TestWebhookStatusHandling(t *testing.T) {
	tests := []struct {
		status       int
		wantAttempts int
		wantSent     float64
	}{
		{http.StatusOK, 1, 1},
		{http.StatusNoContent, 1, 1},
		{http.StatusInternalServerError, 3, 0},
		{http.StatusServiceUnavailable, 3, 0},
		{http.StatusRequestTimeout, 3, 0},
		{http.StatusTooManyRequests, 3, 0},
		{http.StatusBadRequest, 1, 0},
		{http.StatusUnauthorized, 1, 0},
		{http.StatusNotFound, 1, 0},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv, reqs := receiver(t, func(w http.ResponseWriter, _ *http.Request, _ Event) {
				w.Header().Set("Retry-After", "1") // capped by max_backoff
				w.WriteHeader(tt.status)
			})
			d, reg := newWebhookDispatcher(t, fastRetries(WebhookConfig{Name: "hook", URL: srv.URL, MaxAttempts: 3}))
			d.Publish(Event{Instance: "VI_1", State: StateFault})
			closeNow(t, d)
			if got := len(reqs); got != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", got, tt.wantAttempts)
			}
			if got := metric(t, reg, "kdcha_notify_sent_total", "hook"); got != tt.wantSent {
				t.Errorf("sent = %v, want %v", got, tt.wantSent)
			}
			if got := metric(t, reg, "kdcha_notify_failed_total", "hook"); got != 1-tt.wantSent {
				t.Errorf("failed = %v, want %v", got, 1-tt.wantSent)
			}
		})
	}
}

// TestWebhookSignature verifies the documented signature scheme with an
// independent HMAC, for both ways of giving the secret.
func TestWebhookSignature(t *testing.T) {
	const secret = "s3cret"
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		config WebhookConfig
		signed bool
	}{
		{"secret", WebhookConfig{Secret: secret}, true},
		{"secret_file", WebhookConfig{SecretFile: secretFile}, true},
		{"unsigned", WebhookConfig{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := receiver(t, func(http.ResponseWriter, *http.Request, Event) {})
			c := tt.config
			c.URL = srv.URL
			c.Headers = map[string]string{"Authorization": "Bearer token", "X-Team": "identity"}
			d, _ := newWebhookDispatcher(t, c)
			d.Publish(Event{Instance: "VI_1", State: StateMaster, PrevState: StateBackup, Priority: 150, Reason: `probe "kinit" ok`})
			closeNow(t, d)
			r := recv(t, reqs, "request")

			got := r.header.Get("X-Kdcha-Signature")
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write(r.body)
			want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
			if tt.signed != (got != "") || (tt.signed && !hmac.Equal([]byte(got), []byte(want))) {
				t.Errorf("X-Kdcha-Signature = %q, want %q (signed: %v)", got, want, tt.signed)
			}
			for k, want := range map[string]string{
				"Authorization": "Bearer token", "X-Team": "identity", "Content-Type": "application/json",
			} {
				if got := r.header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if ev := r.event; ev.Node != "kdc1" || ev.Seq != 1 || ev.PrevState != StateBackup || ev.Priority != 150 || ev.Reason != `probe "kinit" ok` {
				t.Errorf("body decoded to %+v", ev)
			}
		})
	}
}

// TestWebhookHangingReceiver sends to a receiver that never answers: Publish
// must not wait for it and a second webhook must get every event, in order.
func TestWebhookHangingReceiver(t *testing.T) {
	unblock := make(chan struct{})
	hung, hungReqs := receiver(t, func(_ http.ResponseWriter, r *http.Request, _ Event) {
		select {
		case <-unblock:
		case <-r.Context().Done():
		}
	})
	defer close(unblock) // before the server's Close, which waits for handlers
	fine, fineReqs := receiver(t, func(http.ResponseWriter, *http.Request, Event) {})
	d, reg := newWebhookDispatcher(t,
		WebhookConfig{Name: "hung", URL: hung.URL, Timeout: time.Hour, QueueSize: 4},
		WebhookConfig{Name: "fine", URL: fine.URL})

	published := make(chan struct{})
	go func() {
		for range 10 {
			d.Publish(Event{Instance: "VI_1", State: StateMaster})
		}
		close(published)
	}()
	recv(t, published, "Publish to return while a receiver hangs")
	for want := uint64(1); want <= 10; want++ {
		if got := recv(t, fineReqs, "healthy receiver").event.Seq; got != want {
			t.Fatalf("healthy receiver got seq %d, want %d", got, want)
		}
	}
	recv(t, hungReqs, "hung receiver to be called")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
	if got := metric(t, reg, "kdcha_notify_failed_total", "hung"); got != 1 {
		t.Errorf("hung failed = %v, want 1 (the request in flight)", got)
	}
	if got := metric(t, reg, "kdcha_notify_dropped_total", "hung"); got != 9 {
		t.Errorf("hung dropped = %v, want 9 (5 over the bound, 4 queued at Close)", got)
	}
}

// TestWebhookQueueOverflow holds the receiver on the first event: of the
// events published meanwhile, those beyond queue_size are dropped and
// counted, and the newest reach the receiver once it answers.
func TestWebhookQueueOverflow(t *testing.T) {
	var calls atomic.Int32
	gate := make(chan struct{})
	srv, reqs := receiver(t, func(http.ResponseWriter, *http.Request, Event) {
		if calls.Add(1) == 1 {
			<-gate
		}
	})
	d, reg := newWebhookDispatcher(t, WebhookConfig{Name: "hook", URL: srv.URL, QueueSize: 3})
	d.Publish(Event{Instance: "VI_1"})
	recv(t, reqs, "first request")
	for range 7 {
		d.Publish(Event{Instance: "VI_1"})
	}
	if got := metric(t, reg, "kdcha_notify_dropped_total", "hook"); got != 4 {
		t.Errorf("dropped = %v, want 4", got)
	}
	if got := metric(t, reg, "kdcha_notify_queued", "hook"); got != 3 {
		t.Errorf("queued = %v, want 3", got)
	}
	close(gate)
	closeNow(t, d)
	for _, want := range []uint64{6, 7, 8} {
		if got := recv(t, reqs, "queued request").event.Seq; got != want {
			t.Errorf("got seq %d, want %d", got, want)
		}
	}
	if got := metric(t, reg, "kdcha_notify_sent_total", "hook"); got != 4 {
		t.Errorf("sent = %v, want 4", got)
	}
}

// TestWebhookRequestTimeout lets the first attempt hang past the
// per-request timeout; the retry must deliver the event.
func TestWebhookRequestTimeout(t *testing.T) {
	var calls atomic.Int32
	srv, _ := receiver(t, func(_ http.ResponseWriter, r *http.Request, _ Event) {
		if calls.Add(1) == 1 {
			<-r.Context().Done()
		}
	})
	d, reg := newWebhookDispatcher(t, fastRetries(WebhookConfig{Name: "hook", URL: srv.URL, Timeout: 100 * time.Millisecond}))
	start := time.Now()
	d.Publish(Event{Instance: "VI_1"})
	closeNow(t, d)
	if got := metric(t, reg, "kdcha_notify_sent_total", "hook"); got != 1 || calls.Load() != 2 {
		t.Errorf("sent = %v after %d calls, want 1 after 2", got, calls.Load())
	}
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
		t.Errorf("delivered after %v, before the first attempt could time out", elapsed)
	}
}

func TestWebhookTemplate(t *testing.T) {
	tmpl, err := os.ReadFile("testdata/slack.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	srv, reqs := receiver(t, func(http.ResponseWriter, *http.Request, Event) {})
	d, _ := newWebhookDispatcher(t, WebhookConfig{URL: srv.URL, Template: string(tmpl),
		Headers: map[string]string{"content-type": "application/json; charset=utf-8"}})
	d.Publish(Event{Instance: "VI_1", State: StateFault, PrevState: StateMaster, Priority: 0, Reason: `probe kinit failed 2 times: "timeout"`})
	closeNow(t, d)
	r := recv(t, reqs, "request")
	var slack struct{ Text string }
	if err := json.Unmarshal(r.body, &slack); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	if want := `kdc1/VI_1 is FAULT (was MASTER, priority 0, seq 1): probe kinit failed 2 times: "timeout"`; slack.Text != want {
		t.Errorf("text = %q, want %q", slack.Text, want)
	}
	if got := r.header.Get("Content-Type"); !strings.HasSuffix(got, "charset=utf-8") {
		t.Errorf("Content-Type = %q, want the configured override", got)
	}
}

func TestWebhookErrorHidesURL(t *testing.T) {
	w, err := newWebhookSink(WebhookConfig{Name: "x", URL: "http://127.0.0.1:1/services/SECRET-TOKEN",
		Timeout: time.Second, MaxAttempts: 1}.withDefaults(0), quietLog)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Deliver(context.Background(), Event{Instance: "VI_1"})
	if err == nil || strings.Contains(err.Error(), "SECRET-TOKEN") {
		t.Errorf("Deliver = %v, want an error without the URL", err)
	}
}
