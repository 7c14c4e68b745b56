package kaconf

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Parse reads the keepalived configuration at path, following its
// includes. All problems found in the statements are reported, joined; each
// is an *Error naming file:line. A problem in the text itself (an
// unterminated quote, an unbalanced brace, a limit) stops at the first.
func Parse(path string, o Options) (*Config, error) {
	r := newReader(o)
	if err := r.readFile(path, Pos{File: path, Line: 1}); err != nil {
		return nil, err
	}
	stmts, err := buildTree(r.lines)
	if err != nil {
		return nil, err
	}
	d := &decoder{cfg: &Config{}}
	d.top(stmts)
	d.resolve()
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return d.cfg, nil
}

type decoder struct {
	cfg  *Config
	errs []error
}

func (d *decoder) fail(p Pos, format string, args ...any) {
	d.errs = append(d.errs, errorf(p, format, args...))
}

func (d *decoder) ignore(s *stmt, ctx, why string) {
	what := strings.Join(s.words, " ")
	if ctx != "" {
		what = ctx + ": " + what
	}
	d.cfg.Ignored = append(d.cfg.Ignored, Ignored{Pos: s.pos, What: what, Why: why})
}

// Reasons for statements kdcha has no equivalent of.
const (
	whyUnknown = "not a keyword kdcha knows"
	whyLVS     = "LVS/IPVS load balancing: kdcha moves a VIP, it does not balance load (keep ipvsadm or keepalived's checker for it)"
	whyStatic  = "static addresses, routes and rules belong to the host's network configuration"
	whyTrack   = "kdcha tracks health checks and the instance's own interface only"
	whyEmail   = "email alerts: use a notify webhook or script"
)

// top decodes the top-level statements.
func (d *decoder) top(stmts []*stmt) {
	for _, s := range stmts {
		switch s.keyword() {
		case "global_defs":
			if d.block(s, 0) {
				d.global(s)
			}
		case "vrrp_script":
			if d.block(s, 1) {
				d.script(s)
			}
		case "vrrp_instance":
			if d.block(s, 1) {
				d.instance(s)
			}
		case "vrrp_sync_group":
			if d.block(s, 1) {
				d.syncGroup(s)
			}
		case "virtual_server", "virtual_server_group":
			d.ignore(s, "", whyLVS)
		case "static_ipaddress", "static_routes", "static_rules":
			d.ignore(s, "", whyStatic)
		case "vrrp_track_process", "vrrp_track_file", "track_file", "vrrp_track_bfd", "bfd_instance":
			d.ignore(s, "", whyTrack)
		default:
			d.ignore(s, "", whyUnknown)
		}
	}
}

// block checks that s opens a block and has nargs arguments (a name).
func (d *decoder) block(s *stmt, nargs int) bool {
	switch {
	case !s.hasBlock:
		d.fail(s.pos, "%s: expected a block in braces", s.keyword())
	case len(s.words) != 1+nargs:
		d.fail(s.pos, "%s: expected %d argument(s) before \"{\", got %d", s.keyword(), nargs, len(s.words)-1)
	default:
		return true
	}
	return false
}

// arg returns the single argument of s, reporting a missing or extra one
// or an unexpected block.
func (d *decoder) arg(s *stmt) (string, bool) {
	if s.hasBlock || len(s.words) != 2 {
		d.fail(s.pos, "%s: expected one value", s.keyword())
		return "", false
	}
	return s.words[1], true
}

// flag checks that s has no argument.
func (d *decoder) flag(s *stmt) bool {
	if s.hasBlock || len(s.words) != 1 {
		d.fail(s.pos, "%s: takes no value", s.keyword())
		return false
	}
	return true
}

func (d *decoder) intArg(s *stmt, lo, hi int) (int, bool) {
	v, ok := d.arg(s)
	if !ok {
		return 0, false
	}
	n, err := parseInt(v, lo, hi)
	if err != nil {
		d.fail(s.pos, "%s: %v", s.keyword(), err)
		return 0, false
	}
	return n, true
}

func (d *decoder) secondsArg(s *stmt, lo, hi time.Duration) (time.Duration, bool) {
	v, ok := d.arg(s)
	if !ok {
		return 0, false
	}
	t, err := parseSeconds(v)
	if err == nil && (t < lo || t > hi) {
		err = fmt.Errorf("%s is outside %s..%s", v, seconds(lo), seconds(hi))
	}
	if err != nil {
		d.fail(s.pos, "%s: %v", s.keyword(), err)
		return 0, false
	}
	return t, true
}

// seconds formats a duration the way keepalived's configuration writes it.
func seconds(t time.Duration) string { return fmt.Sprintf("%g", t.Seconds()) }

// command reads a script keyword: the command line (quoted if it has
// blanks) and an optional user and group, re-split with single quotes and
// escapes as keepalived does.
func (d *decoder) command(s *stmt) *Command {
	words := s.words
	if s.text != "" {
		w, err := splitQuoted(s.text, false)
		if err != nil {
			d.fail(s.pos, "%s: %v", s.keyword(), err)
			return nil
		}
		words = w
	}
	if s.hasBlock || len(words) < 2 || len(words) > 4 {
		d.fail(s.pos, "%s: expected a command line, optionally followed by a user and a group", s.keyword())
		return nil
	}
	argv, err := splitQuoted(words[1], true)
	if err != nil || len(argv) == 0 || argv[0] == "" {
		d.fail(s.pos, "%s: %q is not a command line", s.keyword(), words[1])
		return nil
	}
	c := &Command{Pos: s.pos, Argv: argv}
	if len(words) > 2 {
		c.User = words[2]
	}
	if len(words) > 3 {
		c.Group = words[3]
	}
	return c
}

// garp decodes the garp_master_* keywords (with prefix "vrrp_" in
// global_defs); false if s is not one of them.
func (d *decoder) garp(s *stmt, prefix string, g *GARP) bool {
	switch strings.TrimPrefix(s.keyword(), prefix) {
	case "garp_master_delay":
		if n, ok := d.intArg(s, 0, 3600); ok {
			t := time.Duration(n) * time.Second
			g.MasterDelay = &t
		}
	case "garp_master_repeat":
		if n, ok := d.intArg(s, 1, 255); ok {
			g.MasterRepeat = &n
		}
	case "garp_master_refresh":
		if n, ok := d.intArg(s, 0, 3600); ok {
			t := time.Duration(n) * time.Second
			g.MasterRefresh = &t
		}
	default:
		return false
	}
	return true
}

func (d *decoder) global(b *stmt) {
	g := &d.cfg.Global
	if g.Pos == (Pos{}) {
		g.Pos = b.pos
	}
	for _, s := range b.block {
		switch k := s.keyword(); {
		case k == "router_id":
			if v, ok := d.arg(s); ok {
				g.RouterID = v
			}
		case k == "enable_script_security":
			g.EnableScriptSecurity = d.flag(s)
		case k == "script_user":
			if s.hasBlock || len(s.words) < 2 || len(s.words) > 3 {
				d.fail(s.pos, "script_user: expected a user and optionally a group")
				continue
			}
			g.ScriptUser = s.words[1]
			if len(s.words) == 3 {
				g.ScriptGroup = s.words[2]
			}
		case k == "vrrp_version":
			if n, ok := d.intArg(s, 2, 3); ok {
				g.VRRPVersion = n
			}
		case strings.HasPrefix(k, "notification_email") || strings.HasPrefix(k, "smtp_"):
			d.ignore(s, "global_defs", whyEmail)
		case d.garp(s, "vrrp_", &g.GARP):
		default:
			d.ignore(s, "global_defs", whyUnknown)
		}
	}
}

func (d *decoder) script(b *stmt) {
	sc := &Script{Pos: b.pos, Name: b.words[1], Interval: time.Second, Rise: 1, Fall: 1}
	ctx := "vrrp_script " + sc.Name
	for _, s := range b.block {
		switch s.keyword() {
		case "script":
			sc.Script = d.command(s)
		case "interval":
			if t, ok := d.secondsArg(s, time.Millisecond, maxSeconds*time.Second); ok {
				sc.Interval = t
			}
		case "timeout":
			if t, ok := d.secondsArg(s, time.Millisecond, maxSeconds*time.Second); ok {
				sc.Timeout = t
			}
		case "weight":
			if s.hasBlock || len(s.words) < 2 || len(s.words) > 3 || len(s.words) == 3 && s.words[2] != "reverse" {
				d.fail(s.pos, "weight: expected a number, optionally followed by reverse")
				continue
			}
			n, err := parseInt(s.words[1], -253, 253)
			if err != nil {
				d.fail(s.pos, "weight: %v", err)
				continue
			}
			sc.Weight, sc.Reverse = n, len(s.words) == 3
		case "rise":
			if n, ok := d.intArg(s, 1, 1<<20); ok {
				sc.Rise = n
			}
		case "fall":
			if n, ok := d.intArg(s, 1, 1<<20); ok {
				sc.Fall = n
			}
		case "user":
			if s.hasBlock || len(s.words) < 2 || len(s.words) > 3 {
				d.fail(s.pos, "user: expected a user and optionally a group")
				continue
			}
			sc.User = s.words[1]
			if len(s.words) == 3 {
				sc.Group = s.words[2]
			}
		case "init_fail":
			sc.InitFail = d.flag(s)
		default:
			d.ignore(s, ctx, whyUnknown)
		}
	}
	if sc.Script == nil {
		d.fail(b.pos, "%s: no script", ctx)
		return
	}
	for _, o := range d.cfg.Scripts {
		if o.Name == sc.Name {
			d.fail(b.pos, "%s: already defined at %s", ctx, o.Pos)
			return
		}
	}
	d.cfg.Scripts = append(d.cfg.Scripts, sc)
}

// tracks decodes a track_script or track_interface block: NAME [weight N
// [reverse]] per line.
func (d *decoder) tracks(b *stmt) []Track {
	if !b.hasBlock || len(b.words) != 1 {
		d.fail(b.pos, "%s: expected a block in braces", b.keyword())
		return nil
	}
	var out []Track
	for _, s := range b.block {
		t := Track{Pos: s.pos, Name: s.words[0]}
		w := s.words[1:]
		if len(w) > 0 {
			if w[0] != "weight" || len(w) < 2 || len(w) > 3 || len(w) == 3 && w[2] != "reverse" || s.hasBlock {
				d.fail(s.pos, "%s %s: expected NAME [weight N [reverse]]", b.keyword(), t.Name)
				continue
			}
			n, err := parseInt(w[1], -253, 253)
			if err != nil {
				d.fail(s.pos, "%s %s: weight %v", b.keyword(), t.Name, err)
				continue
			}
			t.Weight, t.Reverse = &n, len(w) == 3
		}
		out = append(out, t)
	}
	return out
}

// notify decodes the notify keywords; false if s is not one of them.
func (d *decoder) notify(s *stmt, n *Notify) bool {
	var dst **Command
	switch s.keyword() {
	case "notify":
		dst = &n.Notify
	case "notify_master":
		dst = &n.Master
	case "notify_backup":
		dst = &n.Backup
	case "notify_fault":
		dst = &n.Fault
	case "notify_stop":
		dst = &n.Stop
	default:
		return false
	}
	*dst = d.command(s)
	return true
}

// resolve drops track_script entries naming no vrrp_script and sync group
// members naming no vrrp_instance, as keepalived does (with a warning),
// and reports them.
func (d *decoder) resolve() {
	scripts := map[string]bool{}
	for _, s := range d.cfg.Scripts {
		scripts[s.Name] = true
	}
	known := func(ctx string, ts []Track) []Track {
		var out []Track
		for _, t := range ts {
			if !scripts[t.Name] {
				d.cfg.Ignored = append(d.cfg.Ignored, Ignored{Pos: t.Pos, What: ctx + ": track_script " + t.Name, Why: "no vrrp_script of that name (keepalived ignores it too)"})
				continue
			}
			out = append(out, t)
		}
		return out
	}
	instances := map[string]bool{}
	for _, in := range d.cfg.Instances {
		in.TrackScripts = known("vrrp_instance "+in.Name, in.TrackScripts)
		instances[in.Name] = true
	}
	for _, g := range d.cfg.SyncGroups {
		g.TrackScripts = known("vrrp_sync_group "+g.Name, g.TrackScripts)
		for _, m := range g.Group {
			if !instances[m] {
				d.fail(g.Pos, "vrrp_sync_group %s: no vrrp_instance %s", g.Name, m)
			}
		}
	}
}
