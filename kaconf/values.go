package kaconf

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxSeconds bounds decimal second values so they fit a time.Duration.
const maxSeconds = 1_000_000

// parseSeconds reads a non-negative decimal number of seconds with at most
// six decimals ("1", "0.25"), as keepalived's read_decimal_unsigned does.
func parseSeconds(s string) (time.Duration, error) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" && frac == "" || !digits(whole) || !digits(frac) || hasFrac && frac == "" {
		return 0, fmt.Errorf("%q is not a decimal number of seconds", s)
	}
	if len(frac) > 6 {
		return 0, fmt.Errorf("%q has more than 6 decimals", s)
	}
	w := 0
	if whole != "" {
		var err error
		if w, err = strconv.Atoi(whole); err != nil || w > maxSeconds {
			return 0, fmt.Errorf("%q is more than %d seconds", s, maxSeconds)
		}
	}
	d := time.Duration(w) * time.Second
	if frac != "" {
		f, _ := strconv.Atoi(frac + strings.Repeat("0", 6-len(frac)))
		d += time.Duration(f) * time.Microsecond
	}
	return d, nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseInt reads a decimal integer in [lo, hi].
func parseInt(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not an integer in %d..%d", s, lo, hi)
	}
	return n, nil
}

// splitQuoted splits a command line into words as keepalived's
// alloc_strvec_quoted_escaped_common does: blanks separate words, 'single'
// and "double" quotes group, a backslash escapes the next character and,
// with escapes, \n, \t, \xHH, \0NN and friends are decoded.
func splitQuoted(src string, escapes bool) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(src) && isBlank(src[i]) {
			i++
		}
		if i == len(src) {
			return out, nil
		}
		var b strings.Builder
		var quote byte
		for i < len(src) {
			c := src[i]
			switch {
			case c == '\\':
				i++
				if i == len(src) {
					return nil, fmt.Errorf("%q ends with a lone backslash", src)
				}
				if !escapes {
					b.WriteByte('\\')
					b.WriteByte(src[i])
					i++
					continue
				}
				var r byte
				r, i = unescape(src, i)
				b.WriteByte(r)
				continue
			case quote != 0 && c == quote:
				quote = 0
				i++
				continue
			case quote != 0:
				b.WriteByte(c)
				i++
				continue
			case c == '"' || c == '\'':
				quote = c
				i++
				continue
			case isBlank(c):
			default:
				b.WriteByte(c)
				i++
				continue
			}
			break
		}
		if quote != 0 {
			return nil, fmt.Errorf("%q: missing terminating %c", src, quote)
		}
		out = append(out, b.String())
	}
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n'
}

// unescape decodes the escape at src[i] (just after the backslash) and
// returns the byte and the index after it.
func unescape(src string, i int) (byte, int) {
	c := src[i]
	switch {
	case c == 'x' && i+1 < len(src) && isHex(src[i+1]):
		var v byte
		i++
		for n := 0; n < 2 && i < len(src) && isHex(src[i]); n++ {
			v = v<<4 | hexVal(src[i])
			i++
		}
		return v, i
	case c == 'c' && i+1 < len(src):
		return src[i+1] & 0x1f, i + 2
	case c >= '0' && c <= '7':
		v := c - '0'
		i++
		for n := 0; n < 2 && i < len(src) && src[i] >= '0' && src[i] <= '7'; n++ {
			v = v<<3 + src[i] - '0'
			i++
		}
		return v, i
	}
	if r, ok := map[byte]byte{'a': '\a', 'b': '\b', 'E': 0x1b, 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}[c]; ok {
		return r, i + 1
	}
	return c, i + 1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// SplitCommandLine splits a command line into words with keepalived's
// rules for script command lines: blanks separate words, 'single' and
// "double" quotes group, backslash escapes (\n, \t, \xHH, ...) are decoded.
func SplitCommandLine(s string) ([]string, error) { return splitQuoted(s, true) }
