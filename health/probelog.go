package health

import (
	"context"
	"log/slog"
	"strings"
)

// QuietProbeRequests wraps the KDC's log handler so that the KDC's
// per-request lines for the probe's own requests (attribute "client" is
// probe, with or without "@REALM") are written at Debug instead of Info: a
// probe every second would otherwise write several lines a second on
// every idle node. Failed probe requests (Warn) and every other client's
// lines are left alone; the probe's verdicts are the Runner's to log.
func QuietProbeRequests(next slog.Handler, probe string) slog.Handler {
	return probeQuiet{next: next, probe: probe}
}

type probeQuiet struct {
	next  slog.Handler
	probe string
}

func (h probeQuiet) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h probeQuiet) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo && h.fromProbe(r) {
		if !h.next.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r = r.Clone()
		r.Level = slog.LevelDebug
	}
	return h.next.Handle(ctx, r)
}

func (h probeQuiet) fromProbe(r slog.Record) bool {
	probe := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "client" {
			return true
		}
		c := a.Value.String()
		probe = c == h.probe || strings.HasPrefix(c, h.probe+"@")
		return false
	})
	return probe
}

func (h probeQuiet) WithAttrs(as []slog.Attr) slog.Handler {
	return probeQuiet{next: h.next.WithAttrs(as), probe: h.probe}
}

func (h probeQuiet) WithGroup(name string) slog.Handler {
	return probeQuiet{next: h.next.WithGroup(name), probe: h.probe}
}
