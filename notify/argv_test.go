package notify

import (
	"slices"
	"testing"
)

func TestSplitArgv(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "/bin/true", want: []string{"/bin/true"}},
		{in: "  /bin/x  a\tb \n c ", want: []string{"/bin/x", "a", "b", "c"}},
		{in: `/bin/x 'a b' "c d"`, want: []string{"/bin/x", "a b", "c d"}},
		{in: `/bin/x 'it''s' "say \"hi\"" back\ slash`, want: []string{"/bin/x", "its", `say "hi"`, "back slash"}},
		{in: `/bin/x "a\nb" "c\\d" 'e\f'`, want: []string{"/bin/x", `a\nb`, `c\d`, `e\f`}},
		{in: `/bin/x '' ""`, want: []string{"/bin/x", "", ""}},
		{in: `/bin/x $HOME *.sh a|b`, want: []string{"/bin/x", "$HOME", "*.sh", "a|b"}},
		{in: `/bin/x pre'mid'"post"`, want: []string{"/bin/x", "premidpost"}},
		{in: "", wantErr: "empty command"},
		{in: "   ", wantErr: "empty command"},
		{in: `/bin/x 'open`, wantErr: "unterminated ' quote"},
		{in: `/bin/x "open`, wantErr: `unterminated " quote`},
		{in: `/bin/x \`, wantErr: "trailing backslash"},
	}
	for _, tt := range tests {
		got, err := splitArgv(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("splitArgv(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitArgv(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
