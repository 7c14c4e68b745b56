package db

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGlob(t *testing.T) {
	names := []string{"host/a.example.com@R", "host/b.example.com@R", "HTTP/a.example.com@R", "alice@R", "alice/admin@R",
		"bob@R", "krbtgt/R@R", "krbtgt/OTHER@R", "a*b@R", "x.y@R", "héllo@R", "bob@OTHER"}
	tests := []struct {
		pattern string
		want    []string
	}{
		{"host/*", []string{"host/a.example.com@R", "host/b.example.com@R"}},
		{"*", []string{"host/a.example.com@R", "host/b.example.com@R", "HTTP/a.example.com@R", "alice@R", "alice/admin@R", "bob@R", "krbtgt/R@R", "krbtgt/OTHER@R", "a*b@R", "x.y@R", "héllo@R"}},
		{"*@*", names},
		{"alice*", []string{"alice@R", "alice/admin@R"}},
		{"*/admin", []string{"alice/admin@R"}},
		{"?ob", []string{"bob@R"}},
		{"bob@OTHER", []string{"bob@OTHER"}},
		{"[hH]*/a.*", []string{"host/a.example.com@R", "HTTP/a.example.com@R"}},
		{"host/[!a]*", []string{"host/b.example.com@R"}},
		{"host/[a-b].example.com", []string{"host/a.example.com@R", "host/b.example.com@R"}},
		{`a\*b`, []string{"a*b@R"}},
		{"x.y", []string{"x.y@R"}},
		{"x?y", []string{"x.y@R"}},
		{"xzy", nil},
		{"h?llo", []string{"héllo@R"}},
		{"krbtgt/*", []string{"krbtgt/R@R", "krbtgt/OTHER@R"}},
		{"[]a]*", []string{"alice@R", "alice/admin@R", "a*b@R"}},
	}
	for _, tt := range tests {
		g, err := CompileGlob(tt.pattern, "R")
		if err != nil {
			t.Fatalf("%q: %v", tt.pattern, err)
		}
		var got []string
		for _, n := range names {
			if g.Match(n) {
				got = append(got, n)
			}
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%q matches %v, want %v", tt.pattern, got, tt.want)
		}
	}
	for _, bad := range []string{"host/[abc", `trailing\`, "\xff", strings.Repeat("*", MaxNameBytes+1), "[z-a]"} {
		if _, err := CompileGlob(bad, "R"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", bad, err)
		}
	}
}

// FuzzGlob compiles arbitrary patterns: no panic, and a pattern whose
// every character is escaped matches exactly the name it spells.
func FuzzGlob(f *testing.F) {
	for _, s := range []string{"host/*", "[!a-z]?", `a\*b`, "[]]", "*@*", "[^-]"} {
		f.Add(s, "host/a@R")
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if g, err := CompileGlob(pattern, "R"); err == nil {
			g.Match(name)
		}
		if !utf8.ValidString(name) || len(name)*2 > MaxNameBytes || !strings.Contains(name, "@") {
			return
		}
		var esc strings.Builder
		for _, r := range name {
			esc.WriteRune('\\')
			esc.WriteRune(r)
		}
		g, err := CompileGlob(esc.String(), "R")
		if err != nil {
			t.Fatalf("escaped %q: %v", name, err)
		}
		if !g.Match(name) || g.Match(name+"x") {
			t.Fatalf("escaped %q does not match exactly itself", name)
		}
	})
}
