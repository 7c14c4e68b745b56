package kaimport

import (
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/kdcha/kdcha/kaconf"
)

// kinitCmd is what a recognised `kinit -kt KEYTAB PRINCIPAL` check script
// says.
type kinitCmd struct {
	principal, keytab string
	// env are KRB5_* variables set for kinit, e.g. KRB5_CONFIG naming the
	// krb5.conf that told kinit which KDC to ask.
	env []string
	// timeout is from a `timeout DURATION` wrapper; 0 if none.
	timeout time.Duration
}

// parseKinit recognises the check scripts keepalived users write around
// kinit: optionally wrapped in `sh -c '...'`, `env KRB5_CONFIG=...` or
// `timeout N`, followed by `&& kdestroy` or redirections to /dev/null.
// Anything else (other commands, kinit options that change what is
// checked, a keytab-less -k) is not recognised: the caller keeps it as a
// script check.
func parseKinit(argv []string) (kinitCmd, bool) {
	var k kinitCmd
	for len(argv) > 0 {
		switch base := path.Base(argv[0]); {
		case (base == "sh" || base == "bash" || base == "dash") && len(argv) == 3 && argv[1] == "-c":
			inner, err := kaconf.SplitCommandLine(argv[2])
			if err != nil {
				return k, false
			}
			argv = stripShellTail(inner)
		case base == "env":
			argv = argv[1:]
			for len(argv) > 0 && strings.Contains(argv[0], "=") {
				if !strings.HasPrefix(argv[0], "KRB5") {
					return k, false
				}
				k.env = append(k.env, argv[0])
				argv = argv[1:]
			}
		case strings.HasPrefix(argv[0], "KRB5") && strings.Contains(argv[0], "="):
			k.env = append(k.env, argv[0])
			argv = argv[1:]
		case base == "timeout" && len(argv) > 2:
			spec := argv[1]
			if _, err := strconv.ParseFloat(spec, 64); err == nil {
				spec += "s" // GNU timeout's default unit
			}
			d, err := time.ParseDuration(spec)
			if err != nil || d <= 0 {
				return k, false
			}
			k.timeout, argv = d, argv[2:]
		case base == "kinit":
			return k, k.parseArgs(argv[1:])
		default:
			return k, false
		}
	}
	return k, false
}

// stripShellTail drops `&& kdestroy`, `; kdestroy` and redirections to
// /dev/null from the end of a shell command: they do not change what the
// check verifies.
func stripShellTail(w []string) []string {
	for changed := true; changed && len(w) > 0; {
		changed = false
		n := len(w)
		switch {
		case w[n-1] == "2>&1" || w[n-1] == ">/dev/null" || w[n-1] == "2>/dev/null" || w[n-1] == "&>/dev/null":
			w, changed = w[:n-1], true
		case n >= 2 && w[n-1] == "/dev/null" && (w[n-2] == ">" || w[n-2] == "2>" || w[n-2] == "&>"):
			w, changed = w[:n-2], true
		case n >= 2 && (w[n-2] == "&&" || w[n-2] == ";") && path.Base(w[n-1]) == "kdestroy":
			w, changed = w[:n-2], true
		case n >= 3 && (w[n-3] == "&&" || w[n-3] == ";") && path.Base(w[n-2]) == "kdestroy" && w[n-1] == "-q":
			w, changed = w[:n-3], true
		}
	}
	return w
}

// parseArgs reads MIT kinit's arguments: -k with -t KEYTAB (also -kt, -tFILE)
// and one principal; -c, -l, -r, -V and -q do not change what is checked.
func (k *kinitCmd) parseArgs(args []string) bool {
	useKeytab := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			if k.principal != "" {
				return false
			}
			k.principal = a
			continue
		}
		for j := 1; j < len(a); j++ {
			switch a[j] {
			case 'k':
				useKeytab = true
			case 'V', 'q':
			case 't', 'c', 'l', 'r':
				val := a[j+1:]
				if val == "" {
					if i+1 == len(args) {
						return false
					}
					i++
					val = args[i]
				}
				if a[j] == 't' {
					k.keytab = strings.TrimPrefix(val, "FILE:")
				}
				j = len(a)
			default:
				return false
			}
		}
	}
	return useKeytab && k.keytab != "" && k.principal != ""
}
