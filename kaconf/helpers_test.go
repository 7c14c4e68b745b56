package kaconf

import (
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
)

// memFS is an in-memory file tree for Options.Open and Options.Glob, with
// absolute slash paths.
type memFS map[string]string

func (m memFS) options() Options {
	return Options{
		Open: func(name string) (io.ReadCloser, error) {
			s, ok := m[path.Clean(name)]
			if !ok {
				return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
			}
			return io.NopCloser(strings.NewReader(s)), nil
		},
		Glob: func(pattern string) ([]string, error) {
			var out []string
			for name := range m {
				if ok, err := path.Match(pattern, name); err != nil {
					return nil, err
				} else if ok {
					out = append(out, name)
				}
			}
			slices.Sort(out)
			return out, nil
		},
	}
}

// parseMem parses /etc/keepalived/keepalived.conf = main with the other
// files of m.
func parseMem(t *testing.T, main string, m memFS) (*Config, error) {
	t.Helper()
	if m == nil {
		m = memFS{}
	}
	m["/etc/keepalived/keepalived.conf"] = main
	return Parse("/etc/keepalived/keepalived.conf", m.options())
}
