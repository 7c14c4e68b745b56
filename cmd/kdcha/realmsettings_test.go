package main

import (
	"testing"
	"time"
)

func TestDaysFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7d", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"10h", 10 * time.Hour, true},
		{"0", 0, true},
		{"65535d", 65535 * 24 * time.Hour, true},
		{"65536d", 0, false}, // the limit: larger would overflow a Duration
		{"-1d", 0, false},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"1dx", 0, false},
		{"", 0, false},
	} {
		var d days
		err := d.Set(tc.in)
		if (err == nil) != tc.ok || (tc.ok && time.Duration(d) != tc.want) {
			t.Errorf("%q: %v (%v), want %v ok=%v", tc.in, time.Duration(d), err, tc.want, tc.ok)
		}
	}
}
