package vrrp

import (
	"log/slog"
	"net/netip"
)

// maxWarnKeys bounds warnOnce's memory: sources can be spoofed, so after
// this many distinct problems everything is logged at debug level.
const maxWarnKeys = 64

type warnKey struct {
	msg string
	src netip.Addr
}

// warnOnce logs a peer problem at warning level the first time it is seen
// from a source and at debug level afterwards. It is used from the Run
// goroutine only.
type warnOnce map[warnKey]bool

func (w *warnOnce) log(l *slog.Logger, msg string, src netip.Addr, args ...any) {
	k := warnKey{msg, src}
	args = append([]any{"src", src}, args...)
	if (*w)[k] || len(*w) >= maxWarnKeys {
		l.Debug(msg, args...)
		return
	}
	if *w == nil {
		*w = warnOnce{}
	}
	(*w)[k] = true
	l.Warn(msg+" (logged once per source)", args...)
}
