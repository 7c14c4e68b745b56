package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestNewFormats(t *testing.T) {
	for _, format := range []string{"", FormatText, FormatJSON} {
		t.Run("format="+format, func(t *testing.T) {
			var buf bytes.Buffer
			var level slog.LevelVar
			l, err := New(&buf, format, &level)
			if err != nil {
				t.Fatal(err)
			}
			l.Debug("hidden at info")
			l.Info("node ready", "node", "kdc1")
			level.Set(slog.LevelDebug) // a reload
			l.With("component", "raft").Debug("now visible")
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 2 {
				t.Fatalf("got %d lines, want 2 (debug hidden before the level changed):\n%s", len(lines), buf.String())
			}
			if format != FormatJSON {
				if want := `level=INFO msg="node ready" node=kdc1`; !strings.Contains(lines[0], want) {
					t.Errorf("text line %q lacks %q", lines[0], want)
				}
				if want := `level=DEBUG msg="now visible" component=raft`; !strings.Contains(lines[1], want) {
					t.Errorf("text line %q lacks %q", lines[1], want)
				}
				return
			}
			var rec []map[string]any
			for _, line := range lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("line %q is not JSON: %v", line, err)
				}
				rec = append(rec, m)
			}
			if rec[0]["level"] != "INFO" || rec[0]["msg"] != "node ready" || rec[0]["node"] != "kdc1" || rec[0]["time"] == nil {
				t.Errorf("first record %v", rec[0])
			}
			if rec[1]["level"] != "DEBUG" || rec[1]["component"] != "raft" {
				t.Errorf("second record %v", rec[1])
			}
		})
	}
}

func TestNewRejectsUnknownFormat(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "logfmt", new(slog.LevelVar)); !errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v, want ErrFormat", err)
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLevel("verbose"); err == nil {
		t.Error("ParseLevel(verbose) accepted")
	}
}
