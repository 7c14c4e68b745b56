// Package logging builds the agent's slog logger from the node's
// configuration (node.log_level, node.log_format). It owns only the choice
// of handler and level; what each package logs is that package's business.
// Tested by decoding what each format writes.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// The values of node.log_format.
const (
	// FormatText is slog's key=value text, one line per record (default).
	FormatText = "text"
	// FormatJSON is one JSON object per line, for log shippers.
	FormatJSON = "json"
)

// ErrFormat means a log format other than "text" or "json".
var ErrFormat = errors.New("log format is not text or json")

// New returns a logger writing to w in format ("" means text) that lets
// through records at level or above. Pass a *slog.LevelVar to change the
// level later (a reload calls its Set) without rebuilding the loggers
// derived from this one. The format cannot change after New.
func New(w io.Writer, format string, level slog.Leveler) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case FormatText, "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case FormatJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrFormat, format)
}

// ParseLevel maps a node.log_level value (debug, info, warn, error; any
// case) to slog's level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
	}
	return l, nil
}
