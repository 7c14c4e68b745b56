package db

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Glob is a compiled principal name pattern, as MIT kadmin's listprincs
// takes them: "*" matches any run of characters ("/" included), "?" any
// one character, "[...]" a set ("[!...]" or "[^...]" its complement, "a-z"
// a range), "\" makes the next character literal. A pattern without an
// unescaped "@" is matched in the database's realm ("host/*" finds
// "host/a.example.com@REALM"). It is compiled to a regular expression, so
// matching takes time linear in the name whatever the pattern.
type Glob struct{ re *regexp.Regexp }

// CompileGlob compiles pattern for names in realm. Patterns are bounded
// like names (MaxNameBytes) and must be UTF-8.
func CompileGlob(pattern, realm string) (*Glob, error) {
	if len(pattern) > MaxNameBytes {
		return nil, fmt.Errorf("%w: pattern of %d bytes, the limit is %d", ErrInvalid, len(pattern), MaxNameBytes)
	}
	if !utf8.ValidString(pattern) {
		return nil, fmt.Errorf("%w: pattern is not UTF-8", ErrInvalid)
	}
	p := []rune(pattern)
	var b strings.Builder
	b.WriteString(`^(?s:`)
	hasRealm := false
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '\\':
			if i+1 == len(p) {
				return nil, fmt.Errorf("%w: pattern %q ends with a lone \\", ErrInvalid, pattern)
			}
			i++
			hasRealm = hasRealm || p[i] == '@' // as MIT: any "@" names the realm
			b.WriteString(literal(p[i]))
		case '[':
			end, class, err := globClass(p, i)
			if err != nil {
				return nil, fmt.Errorf("%w: pattern %q: %w", ErrInvalid, pattern, err)
			}
			b.WriteString(class)
			i = end
		default:
			hasRealm = hasRealm || p[i] == '@'
			b.WriteString(literal(p[i]))
		}
	}
	if !hasRealm {
		b.WriteString(regexp.QuoteMeta("@" + realm))
	}
	b.WriteString(`)$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("%w: pattern %q: %v", ErrInvalid, pattern, err)
	}
	return &Glob{re: re}, nil
}

// literal is the regular expression matching r alone, in or out of a
// class: ASCII punctuation is escaped (RE2 reads "\" + punctuation as the
// character), everything else stands for itself.
func literal(r rune) string {
	if r < utf8.RuneSelf && !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') && r > ' ' {
		return `\` + string(r)
	}
	if r == '\n' || r == '\t' || r == ' ' || r < ' ' {
		return fmt.Sprintf(`\x{%x}`, r)
	}
	return string(r)
}

// globClass translates the set starting at p[start] ("[") and returns the
// index of its closing "]". A "]" right after "[" or "[!" is a member, as
// in POSIX globs; "-" between two members is a range.
func globClass(p []rune, start int) (int, string, error) {
	var b strings.Builder
	b.WriteString("[")
	i := start + 1
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		b.WriteString("^")
		i++
	}
	first := true
	for ; i < len(p); i++ {
		switch c := p[i]; {
		case c == ']' && !first:
			b.WriteString("]")
			return i, b.String(), nil
		case c == '\\' && i+1 < len(p):
			i++
			b.WriteString(literal(p[i]))
		case c == '-' && !first && i+1 < len(p) && p[i+1] != ']':
			b.WriteString("-")
		default:
			b.WriteString(literal(c))
		}
		first = false
	}
	return 0, "", fmt.Errorf("unterminated [")
}

// Match reports whether the canonical name matches.
func (g *Glob) Match(name string) bool { return g.re.MatchString(name) }
