package kdc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// recordCounter is a slog.Handler that keeps every record, to count lines.
type recordCounter struct {
	mu      sync.Mutex
	records []slog.Record
}

func (c *recordCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *recordCounter) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *recordCounter) WithGroup(string) slog.Handler            { return c }
func (c *recordCounter) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, r)
	return nil
}

// warnings returns the messages of the WARN and ERROR lines so far.
func (c *recordCounter) warnings() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.records {
		if r.Level >= slog.LevelWarn {
			out = append(out, r.Message)
		}
	}
	return out
}

// TestFloodIsDroppedAndLogsBounded: a flood of undecodable datagrams (the
// 1-byte 0x6a amplifier) gets no reply at all, a flood of decodable bad
// requests gets its errors, and neither writes more than warnPerSecond
// WARN lines a second; the metrics count every request.
func TestFloodIsDroppedAndLogsBounded(t *testing.T) {
	k := newTestKDC(t)
	logs := &recordCounter{}
	k.h.log = slog.New(logs)
	reg := prometheus.NewRegistry()
	WithMetrics(reg)(k.h)
	unknown := k.asReq(t, asReq{client: "nobody"})
	const flood = 500
	for i := range flood {
		if r := k.handle([]byte{tagASReq}); r != nil {
			t.Fatalf("datagram %d: 1-byte 0x6a answered with %d bytes", i, len(r))
		}
		if r := k.handle([]byte{tagTGSReq, 0x80, 0x00}); r != nil {
			t.Fatalf("datagram %d: truncated TGS-REQ answered with %d bytes", i, len(r))
		}
		if e := krbErrorCode(t, k.handle(unknown)); e.ErrorCode != 6 {
			t.Fatalf("request %d: error %d, want C_PRINCIPAL_UNKNOWN", i, e.ErrorCode)
		}
	}
	if n := len(logs.warnings()); n != warnPerSecond {
		t.Fatalf("%d WARN lines for %d bad requests in one second, want %d", n, 3*flood, warnPerSecond)
	}
	if got := counterValue(t, reg, "kdcha_kdc_dropped_requests_total", dropUndecodable); got != 2*flood {
		t.Errorf("dropped{undecodable} = %v, want %d", got, 2*flood)
	}
	if got := counterValue(t, reg, "kdcha_kdc_suppressed_warnings_total", ""); got != 3*flood-warnPerSecond {
		t.Errorf("suppressed warnings = %v, want %d", got, 3*flood-warnPerSecond)
	}
	// The next second starts with a line saying how many were left out.
	k.now = k.now.Add(time.Second)
	k.handle([]byte{tagASReq})
	w := logs.warnings()
	if len(w) != warnPerSecond+2 || w[warnPerSecond] != "kdc warnings suppressed" {
		t.Fatalf("next second's lines: %q", w[warnPerSecond:])
	}
}

// TestTCPUndecodableNotAnswered: over TCP too, an undecodable request gets
// no reply; the connection is closed.
func TestTCPUndecodableNotAnswered(t *testing.T) {
	_, addr := startServer(t, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(AppendFrame(nil, []byte{tagASReq}))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 64))
	if n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read %d bytes, %v; want no reply and EOF", n, err)
	}
}

// counterValue reads a counter from reg: the series whose only label has
// value label, or the unlabelled one when label is "".
func counterValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if l := m.GetLabel(); (label == "" && len(l) == 0) || (len(l) == 1 && l[0].GetValue() == label) {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no counter %s{%s}", name, label)
	return 0
}
