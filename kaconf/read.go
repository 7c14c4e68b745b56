package kaconf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Limits bound what Parse reads. The zero value of a field means its
// default.
type Limits struct {
	// MaxFileSize is the largest file read, in bytes. Default 1 MiB
	// (keepalived configurations are a few KiB).
	MaxFileSize int64
	// MaxIncludeDepth is how deep includes may nest. Default 8
	// (keepalived itself does not bound it).
	MaxIncludeDepth int
	// MaxFiles is how many files one Parse may read, the main file
	// included. Default 64.
	MaxFiles int
	// MaxTokensPerLine is the most words on one logical line. Default 256.
	MaxTokensPerLine int
}

// Defaults of Limits.
const (
	DefaultMaxFileSize      = 1 << 20
	DefaultMaxIncludeDepth  = 8
	DefaultMaxFiles         = 64
	DefaultMaxTokensPerLine = 256
)

func (l Limits) withDefaults() Limits {
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = DefaultMaxFileSize
	}
	if l.MaxIncludeDepth <= 0 {
		l.MaxIncludeDepth = DefaultMaxIncludeDepth
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	if l.MaxTokensPerLine <= 0 {
		l.MaxTokensPerLine = DefaultMaxTokensPerLine
	}
	return l
}

// Options configure Parse. The zero value reads the real file system with
// default limits.
type Options struct {
	Limits Limits
	// Open opens a file; default os.Open. Tests and the fuzzer read from
	// memory.
	Open func(name string) (io.ReadCloser, error)
	// Glob expands an include pattern; default filepath.Glob. Matches are
	// read in the order returned (filepath.Glob sorts them, as glob(3) does
	// for keepalived).
	Glob func(pattern string) ([]string, error)
}

// word is one token of a line; quoted words are never braces.
type word struct {
	s      string
	quoted bool
}

// line is one logical line: comments removed, continuations joined.
type line struct {
	pos   Pos
	text  string
	words []word
}

// reader expands includes into one sequence of lines.
type reader struct {
	lim   Limits
	open  func(string) (io.ReadCloser, error)
	glob  func(string) ([]string, error)
	files int
	stack []string // absolute paths of the files being read, for loops
	lines []line
}

func newReader(o Options) *reader {
	r := &reader{lim: o.Limits.withDefaults(), open: o.Open, glob: o.Glob}
	if r.open == nil {
		r.open = func(name string) (io.ReadCloser, error) { return os.Open(name) }
	}
	if r.glob == nil {
		r.glob = filepath.Glob
	}
	return r
}

// readFile appends the lines of path; site is where it was included from
// (the file itself, line 1, for the main file).
func (r *reader) readFile(path string, site Pos) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return errorf(site, "%v", err)
	}
	for i, p := range r.stack {
		if p == abs {
			return errorf(site, "include loop: %s", strings.Join(append(r.stack[i:], abs), " -> "))
		}
	}
	if len(r.stack) > r.lim.MaxIncludeDepth {
		return errorf(site, "includes nested deeper than %d", r.lim.MaxIncludeDepth)
	}
	if r.files++; r.files > r.lim.MaxFiles {
		return errorf(site, "more than %d files included", r.lim.MaxFiles)
	}
	f, err := r.open(path)
	if err != nil {
		return errorf(site, "%v", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, r.lim.MaxFileSize+1))
	f.Close()
	if err != nil {
		return errorf(site, "read %s: %v", path, err)
	}
	if int64(len(b)) > r.lim.MaxFileSize {
		return errorf(site, "%s is larger than %d bytes", path, r.lim.MaxFileSize)
	}
	r.stack = append(r.stack, abs)
	defer func() { r.stack = r.stack[:len(r.stack)-1] }()
	return r.readLines(path, string(b))
}

func (r *reader) readLines(path, data string) error {
	phys := strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n")
	for i := 0; i < len(phys); i++ {
		pos := Pos{File: path, Line: i + 1}
		text, cont, err := decomment(phys[i])
		// A trailing backslash continues the logical line.
		for err == nil && cont && i+1 < len(phys) {
			i++
			var more string
			more, cont, err = decomment(phys[i])
			text += " " + more
		}
		if err != nil {
			return errorf(pos, "%v", err)
		}
		if text = strings.TrimSpace(text); text == "" {
			continue
		}
		switch text[0] {
		case '@':
			return errorf(pos, "conditional line %q is not supported: resolve it for this host first (keepalived -i CONFIG_ID)", firstField(text))
		case '$':
			return errorf(pos, "parameter %q is not supported: substitute it first", firstField(text))
		case '~':
			return errorf(pos, "sequence %q is not supported: expand it first", firstField(text))
		}
		words, err := splitWords(text)
		if err != nil {
			return errorf(pos, "%v", err)
		}
		if len(words) > r.lim.MaxTokensPerLine {
			return errorf(pos, "more than %d words on one line", r.lim.MaxTokensPerLine)
		}
		if k := words[0]; !k.quoted && strings.HasPrefix(k.s, "include") {
			if err := r.include(path, pos, words); err != nil {
				return err
			}
			continue
		}
		r.lines = append(r.lines, line{pos: pos, text: text, words: words})
	}
	return nil
}

// include reads the files an include line names. keepalived changes to the
// including file's directory while reading it, so relative patterns are
// relative to that file.
func (r *reader) include(from string, pos Pos, words []word) error {
	if words[0].s != "include" {
		return errorf(pos, "%q is not supported (use include)", words[0].s)
	}
	if len(words) != 2 {
		return errorf(pos, "include takes one file name or pattern")
	}
	pattern := words[1].s
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(from), pattern)
	}
	if !strings.ContainsAny(pattern, "*?[") {
		return r.readFile(pattern, pos)
	}
	matches, err := r.glob(pattern)
	if err != nil {
		return errorf(pos, "include %s: %v", words[1].s, err)
	}
	// Like a shell glob, a pattern that matches nothing (an empty conf.d)
	// includes nothing.
	for _, m := range matches {
		if err := r.readFile(m, pos); err != nil {
			return err
		}
	}
	return nil
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}

// decomment removes a comment (from an unquoted '!' or '#'), the escaping
// of \! and \#, and surrounding blanks, as keepalived's decomment() does.
// cont reports a trailing backslash (continued on the next line).
func decomment(s string) (out string, cont bool, err error) {
	var b strings.Builder
	quote := false
loop:
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quote = !quote
		case c == '\\' && i+1 == len(s):
			cont = true
			break loop
		case c == '\\':
			if !quote && (s[i+1] == '#' || s[i+1] == '!') {
				i++
				c = s[i]
			} else {
				b.WriteByte(c)
				i++
				c = s[i]
			}
		case !quote && (c == '!' || c == '#'):
			break loop
		}
		b.WriteByte(c)
	}
	if quote {
		return "", false, errors.New("unterminated quote")
	}
	return strings.Trim(b.String(), " \t\v\f\r"), cont, nil
}

// splitWords splits a line into words on blanks; a double-quoted string is
// one word without its quotes (keepalived's alloc_strvec_r).
func splitWords(s string) ([]word, error) {
	var out []word
	for {
		s = strings.TrimLeft(s, " \t\v\f\r")
		if s == "" {
			return out, nil
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unmatched quote in %q", s)
			}
			out = append(out, word{s: s[1 : 1+end], quoted: true})
			s = s[2+end:]
			continue
		}
		end := strings.IndexAny(s, " \t\v\f\r\"")
		if end < 0 {
			end = len(s)
		}
		out = append(out, word{s: s[:end]})
		s = s[end:]
	}
}
