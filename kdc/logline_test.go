package kdc

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// lineRecorder keeps the messages of the records it is handed.
type lineRecorder struct {
	level slog.Level
	msgs  []string
}

func (r *lineRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level }
func (r *lineRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.msgs = append(r.msgs, rec.Message)
	return nil
}
func (r *lineRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *lineRecorder) WithGroup(string) slog.Handler      { return r }

// fmtLine is the request line as MIT krb5kdc shapes it, built the plain
// (slow) way: the model logTo's hand-appended line must match.
func fmtLine(o *outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d etypes {", o.exchange, len(o.etypes))
	for i, e := range o.etypes[:min(len(o.etypes), maxLoggedETypes)] {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d", e)
	}
	if len(o.etypes) > maxLoggedETypes {
		b.WriteString(" ...")
	}
	fmt.Fprintf(&b, "}) %s: %s: ", o.from.Addr(), o.status)
	if o.status == "ISSUE" {
		fmt.Fprintf(&b, "authtime %d, etypes {rep=%d tkt=%d ses=%d}, ", o.authtime.Unix(), o.repEType, o.tktEType, o.sesEType)
	}
	fmt.Fprintf(&b, "%s for %s", clip(o.client), clip(o.server))
	if o.detail != "" {
		fmt.Fprintf(&b, ", %s", o.detail)
	}
	return b.String()
}

func TestLogLineShape(t *testing.T) {
	many := make([]int32, maxLoggedETypes+3)
	for i := range many {
		many[i] = int32(i - 1)
	}
	for _, o := range []*outcome{
		{exchange: "AS_REQ", etypes: []int32{18, 17}, from: netip.MustParseAddrPort("192.0.2.7:88"), client: "alice@EXAMPLE.COM", server: "krbtgt/EXAMPLE.COM@EXAMPLE.COM",
			status: "ISSUE", authtime: time.Unix(1700000000, 0), repEType: 18, tktEType: 18, sesEType: 17},
		{exchange: "TGS_REQ", etypes: many, from: netip.MustParseAddrPort("[2001:db8::1]:88"), client: strings.Repeat("x", 300), server: "HTTP/web@EXAMPLE.COM",
			status: "KDC_ERR_S_PRINCIPAL_UNKNOWN", detail: "server not found in database"},
		{exchange: "AS_REQ", status: "DROPPED", client: "<unknown>", server: "<unknown>", detail: "malformed AS-REQ"},
	} {
		rec := &lineRecorder{level: slog.LevelDebug}
		o.logTo(slog.New(rec))
		if len(rec.msgs) != 1 || rec.msgs[0] != fmtLine(o) {
			t.Errorf("line %q, want %q", rec.msgs, fmtLine(o))
		}
	}
}

// TestLogLineNotBuiltWhenDisabled checks that a request line below the
// logger's level costs no allocation: it is not built at all.
func TestLogLineNotBuiltWhenDisabled(t *testing.T) {
	o := &outcome{exchange: "AS_REQ", etypes: []int32{18, 17}, from: netip.MustParseAddrPort("192.0.2.7:88"), client: "alice@EXAMPLE.COM",
		server: "krbtgt/EXAMPLE.COM@EXAMPLE.COM", status: "ISSUE", authtime: time.Unix(1700000000, 0)}
	rec := &lineRecorder{level: slog.LevelWarn}
	l := slog.New(rec)
	if allocs := testing.AllocsPerRun(100, func() { o.logTo(l) }); allocs != 0 {
		t.Errorf("%v allocations for a line the logger drops", allocs)
	}
	if len(rec.msgs) != 0 {
		t.Errorf("INFO line written at WARN: %q", rec.msgs)
	}
}
