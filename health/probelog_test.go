package health

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestQuietProbeRequests(t *testing.T) {
	const probe = "kdcha/health"
	// kdcLine logs like the KDC's per-request line (kdc/handler.go).
	kdcLine := func(l *slog.Logger, level slog.Level, client string) {
		l.Log(t.Context(), level, "AS_REQ (2 etypes {18 17}) 127.0.0.1: ISSUE: "+client+" for krbtgt", "exchange", "AS_REQ", "client", client, "server", "krbtgt/EXAMPLE.COM@EXAMPLE.COM")
	}
	tests := []struct {
		name   string
		level  slog.Level // of the handler
		line   slog.Level
		client string
		want   string // "" means nothing written
	}{
		{"passing probe hidden at info", slog.LevelInfo, slog.LevelInfo, probe + "@EXAMPLE.COM", ""},
		{"passing probe without realm hidden", slog.LevelInfo, slog.LevelInfo, probe, ""},
		{"passing probe visible at debug", slog.LevelDebug, slog.LevelInfo, probe + "@EXAMPLE.COM", "level=DEBUG"},
		{"failing probe stays a warning", slog.LevelInfo, slog.LevelWarn, probe + "@EXAMPLE.COM", "level=WARN"},
		{"a client stays at info", slog.LevelInfo, slog.LevelInfo, "alice@EXAMPLE.COM", "level=INFO"},
		{"a lookalike is a client", slog.LevelInfo, slog.LevelInfo, probe + "x@EXAMPLE.COM", "level=INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			h := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tt.level})
			l := slog.New(QuietProbeRequests(h, probe)).With("component", "kdc")
			kdcLine(l, tt.line, tt.client)
			out := buf.String()
			if tt.want == "" && out != "" || !strings.Contains(out, tt.want) {
				t.Fatalf("wrote %q, want %q", out, tt.want)
			}
			if tt.want != "" && !strings.Contains(out, "component=kdc") {
				t.Fatalf("lost the logger's attributes: %q", out)
			}
		})
	}
}

// lockedBuffer is a log destination shared with the Runner's goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRunnerLogsTransitionsOnly: at the default level, a passing check
// writes its start and its first verdicts, then nothing however often it
// runs; going down is one WARN, coming back one INFO.
func TestRunnerLogsTransitionsOnly(t *testing.T) {
	t.Parallel()
	probe := &switchProbe{}
	probe.healthy.Store(true)
	var out lockedBuffer
	verdicts := make(chan Verdict, 16)
	r := NewRunner([]Check{{
		Name: "kinit", Probe: probe, Interval: 5 * time.Millisecond, Timeout: 50 * time.Millisecond,
		Track: TrackParams{Rise: 1, Fall: 1, Weight: -50},
	}}, RunnerOptions{OnChange: func(v Verdict) { verdicts <- v }, Logger: slog.New(slog.NewTextHandler(&out, nil))})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	nextVerdict(t, verdicts) // pending
	nextVerdict(t, verdicts) // all clear
	settled := out.String()
	for start := probe.runs.Load(); probe.runs.Load() < start+20; {
		time.Sleep(time.Millisecond)
	}
	if after := out.String(); after != settled {
		t.Errorf("20 passing runs logged at info:\n%s", strings.TrimPrefix(after, settled))
	}
	if n := strings.Count(settled, "\n"); n > 4 {
		t.Errorf("start of a passing check logged %d lines:\n%s", n, settled)
	}

	probe.healthy.Store(false)
	nextVerdict(t, verdicts)
	probe.healthy.Store(true)
	nextVerdict(t, verdicts)
	changes := strings.TrimPrefix(out.String(), settled)
	if strings.Count(changes, `level=WARN msg="health check down"`) != 1 || strings.Count(changes, `level=INFO msg="health check up"`) != 1 {
		t.Errorf("a down and up logged:\n%s", changes)
	}
}
