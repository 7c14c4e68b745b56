package kaconf

import (
	"fmt"
	"strings"
	"testing"
)

// TestLimits checks each limit at its boundary: the limit itself is
// accepted, one more is refused with the position that crossed it.
func TestLimits(t *testing.T) {
	chain := func(n int) memFS { // main includes f1, f1 includes f2, ... fn
		m := memFS{}
		for i := 1; i <= n; i++ {
			next := ""
			if i < n {
				next = fmt.Sprintf("include f%d.conf\n", i+1)
			}
			m[fmt.Sprintf("/etc/keepalived/f%d.conf", i)] = "! level\n" + next
		}
		return m
	}
	many := func(n int) memFS {
		m := memFS{}
		for i := range n {
			m[fmt.Sprintf("/etc/keepalived/d/%03d.conf", i)] = "! empty\n"
		}
		return m
	}
	lim := Limits{MaxFileSize: 100, MaxIncludeDepth: 3, MaxFiles: 5, MaxTokensPerLine: 10}
	for _, tc := range []struct {
		name    string
		text    string
		files   memFS
		wantErr string
	}{
		{"file at the size limit", strings.Repeat("#", 99) + "\n", nil, ""},
		{"file over the size limit", strings.Repeat("#", 100) + "\n", nil, "keepalived.conf:1: /etc/keepalived/keepalived.conf is larger than 100 bytes"},
		{"included file over the size limit", "\ninclude big.conf\n", memFS{"/etc/keepalived/big.conf": strings.Repeat("#", 101)}, "keepalived.conf:2: /etc/keepalived/big.conf is larger than 100 bytes"},
		{"includes at the depth limit", "include f1.conf\n", chain(3), ""},
		{"includes over the depth limit", "include f1.conf\n", chain(4), "f3.conf:2: includes nested deeper than 3"},
		{"files at the count limit", "include d/*.conf\n", many(4), ""},
		{"files over the count limit", "include d/*.conf\n", many(5), "keepalived.conf:1: more than 5 files included"},
		{"words at the limit", "x 2 3 4 5 6 7 8 9 10\n", nil, ""},
		{"words over the limit", "\nx 2 3 4 5 6 7 8 9 10 11\n", nil, "keepalived.conf:2: more than 10 words on one line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.files
			if m == nil {
				m = memFS{}
			}
			m[mainFile] = tc.text
			o := m.options()
			o.Limits = lim
			_, err := Parse(mainFile, o)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestLimitDefaults(t *testing.T) {
	got := Limits{}.withDefaults()
	want := Limits{MaxFileSize: 1 << 20, MaxIncludeDepth: 8, MaxFiles: 64, MaxTokensPerLine: 256}
	if got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	// The default size limit applies when Options leave it zero.
	_, err := parseMem(t, strings.Repeat("#", DefaultMaxFileSize+1), nil)
	if err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
		t.Errorf("a file over 1 MiB: %v", err)
	}
}
