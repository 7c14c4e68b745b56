package vrrp

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
)

func TestWarnOnce(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var w warnOnce
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for range 3 {
		w.log(l, "odd advert", a)
	}
	w.log(l, "odd advert", b)
	w.log(l, "other problem", a)
	if n := strings.Count(buf.String(), "level=WARN"); n != 3 {
		t.Errorf("%d warnings, want 3 (one per source and message):\n%s", n, buf.String())
	}
	buf.Reset()
	for i := range maxWarnKeys + 10 {
		w.log(l, "flood", netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
	}
	if len(w) > maxWarnKeys {
		t.Errorf("warnOnce holds %d keys, want at most %d", len(w), maxWarnKeys)
	}
}
