package notify

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt            int
		base, limit, asked time.Duration
		want               time.Duration
	}{
		{1, time.Second, 30 * time.Second, 0, time.Second},
		{2, time.Second, 30 * time.Second, 0, 2 * time.Second},
		{4, time.Second, 30 * time.Second, 0, 8 * time.Second},
		{6, time.Second, 30 * time.Second, 0, 30 * time.Second},
		{60, time.Second, 30 * time.Second, 0, 30 * time.Second}, // no overflow
		{1, time.Second, 30 * time.Second, 10 * time.Second, 10 * time.Second},
		{1, time.Second, 30 * time.Second, time.Hour, 30 * time.Second},
	}
	for _, tt := range tests {
		if got := backoff(tt.attempt, tt.base, tt.limit, tt.asked); got != tt.want {
			t.Errorf("backoff(%d, %v, %v, %v) = %v, want %v", tt.attempt, tt.base, tt.limit, tt.asked, got, tt.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{"-1", 0},
		{"Wed, 21 Oct 2026 07:28:00 GMT", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
