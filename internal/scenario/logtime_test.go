package scenario

import (
	"regexp"
	"testing"
	"time"
)

var logTimeRe = regexp.MustCompile(`time=(\S+)`)

// logTime is the timestamp of an agent log line.
func logTime(t *testing.T, line string) time.Time {
	t.Helper()
	m := logTimeRe.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no time in log line %q", line)
	}
	at, err := time.Parse(time.RFC3339Nano, m[1])
	if err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	return at
}
