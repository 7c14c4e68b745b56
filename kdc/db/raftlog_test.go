package db

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestHCLogAdapter(t *testing.T) {
	tests := []struct {
		name  string
		level slog.Level // handler level
		log   func(hclog.Logger)
		want  string // substring of the output; "" means nothing logged
	}{
		{"info is demoted to debug", slog.LevelInfo, func(l hclog.Logger) { l.Info("entering leader state") }, ""},
		{"info visible at debug", slog.LevelDebug, func(l hclog.Logger) { l.Info("entering leader state") }, "level=DEBUG msg=\"entering leader state\""},
		{"warn stays warn", slog.LevelInfo, func(l hclog.Logger) { l.Warn("heartbeat timeout", "peer", "n2") }, "level=WARN msg=\"heartbeat timeout\" component=raft peer=n2"},
		{"error stays error", slog.LevelWarn, func(l hclog.Logger) { l.Error("failed to commit") }, "level=ERROR"},
		{"named and with", slog.LevelInfo, func(l hclog.Logger) { l.Named("snapshot").With("id", 7).Warn("slow") }, "subsystem=snapshot id=7"},
		{"renamed once", slog.LevelInfo, func(l hclog.Logger) { l.Named("a").Named("b").Warn("x") }, "msg=x component=raft subsystem=a.b\n"},
		{"standard logger", slog.LevelDebug, func(l hclog.Logger) { l.StandardLogger(nil).Print("from net/http") }, "from net/http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := newHCLogAdapter(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tt.level})))
			tt.log(l)
			out := buf.String()
			if tt.want == "" && out != "" || !strings.Contains(out, tt.want) {
				t.Fatalf("output %q, want %q", out, tt.want)
			}
		})
	}
	quiet := newHCLogAdapter(slog.New(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if quiet.IsInfo() || quiet.IsDebug() || !quiet.IsWarn() || quiet.GetLevel() != hclog.Warn {
		t.Fatalf("level queries wrong: info=%v debug=%v warn=%v level=%v", quiet.IsInfo(), quiet.IsDebug(), quiet.IsWarn(), quiet.GetLevel())
	}
}
