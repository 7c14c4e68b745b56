package kaimport

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/kaconf"
	"github.com/kdcha/kdcha/notify"
	"github.com/kdcha/kdcha/vrrp"
)

// Options adjust a conversion.
type Options struct {
	// Realm is the agent's realm. Default: the realm of the principal of
	// a recognised kinit check script; required if there is none.
	Realm string
	// KDC is the host:port that recognised kinit checks probe. Default
	// health.DefaultKDC (the KDC on this host, which is what a check script
	// run by keepalived on the KDC host normally asks).
	KDC string
	// Peers are the keepalived configurations of the other nodes: the
	// priorities of their instances of the same virtual routers (VRID)
	// are the backups' priorities the weight tie warning compares with.
	// Without them, this file's other instances stand in (a mirrored pair).
	Peers []*kaconf.Config
	// LookPath finds a program keepalived would find on its PATH; the
	// agent runs only absolute paths. Default exec.LookPath (the import
	// runs on the node it converts for).
	LookPath func(file string) (string, error)
}

// Result is a converted configuration.
type Result struct {
	// Realm and NodeName (from router_id; "" for the agent's default, the
	// host name) go to the top-level realm and node.name keys.
	Realm, NodeName string
	// VRRP, Health and Notify are the converted sections, each valid by
	// its package's Validate.
	VRRP   vrrp.Config
	Health health.Config
	Notify notify.Config
	// NotCarried lists what the keepalived configuration says that the
	// converted one does not, each with its source line and why.
	NotCarried []kaconf.Ignored
	// Notes are assumptions the conversion made that an operator should
	// check (e.g. which KDC a recognised kinit check probes).
	Notes []string

	// comments are per-item YAML comments, keyed "vrrp:NAME" and
	// "check:NAME".
	comments map[string]string
	// lookPath is Options.LookPath.
	lookPath func(file string) (string, error)
}

// Reasons for what is not carried over.
const (
	whyAuth = "kdcha sends and accepts no VRRP authentication (RFC 3768 removed it): remove this block from the keepalived peers before a kdcha node joins them, or each side drops the other's adverts and both become MASTER"
	whyUser = "kdcha runs scripts as its own user; it does not switch users"
)

// Convert maps a parsed keepalived configuration to kdcha's sections.
// It fails only when the result would not be a valid configuration (no
// realm, an instance without a VIP kdcha can carry, a value outside
// kdcha's ranges); everything else it cannot express goes to NotCarried.
func Convert(c *kaconf.Config, o Options) (*Result, error) {
	if o.KDC == "" {
		o.KDC = health.DefaultKDC
	}
	if o.LookPath == nil {
		o.LookPath = exec.LookPath
	}
	r := &Result{NodeName: c.Global.RouterID, comments: map[string]string{}, lookPath: o.LookPath}
	r.NotCarried = append(r.NotCarried, c.Ignored...)
	g := c.Global
	if g.ScriptUser != "" {
		r.skip(g.Pos, "global_defs: script_user "+strings.TrimSpace(g.ScriptUser+" "+g.ScriptGroup), whyUser)
	}
	if g.EnableScriptSecurity {
		r.skip(g.Pos, "global_defs: enable_script_security", "kdcha never runs scripts as another user, so there is no privilege to guard; it runs them without a shell")
	}
	var errs []error
	for _, in := range c.Instances {
		if err := r.instance(c, in); err != nil {
			errs = append(errs, err)
		}
	}
	r.checks(c, o)
	r.weightTies(c, o)
	if len(r.Health.Checks) == 0 {
		r.Notes = append(r.Notes, "no vrrp_script was converted: nothing lowers this node's priority when its KDC fails; add a kinit check (health.checks, type kinit, with a principal and keytab)")
	}
	for _, sg := range c.SyncGroups {
		r.skip(sg.Pos, "vrrp_sync_group "+sg.Name, fmt.Sprintf("kdcha instances fail over independently: %s are converted as separate instances and may end up MASTER on different nodes", strings.Join(sg.Group, ", ")))
		for _, cmd := range []*kaconf.Command{sg.Notify.Notify, sg.Notify.Master, sg.Notify.Backup, sg.Notify.Fault, sg.Notify.Stop} {
			if cmd != nil {
				r.skip(cmd.Pos, "vrrp_sync_group "+sg.Name+": "+strings.Join(cmd.Argv, " "), "kdcha notifies per instance; add the script to each member's notify")
			}
		}
	}
	if o.Realm != "" {
		r.Realm = o.Realm
	}
	if r.Realm == "" {
		errs = append(errs, errors.New("no realm: no kinit check script names one; give it with --realm"))
	}
	if err := r.validate(); err != nil {
		errs = append(errs, err)
	}
	slices.SortStableFunc(r.NotCarried, func(a, b kaconf.Ignored) int {
		if a.Pos.File != b.Pos.File {
			return strings.Compare(a.Pos.File, b.Pos.File)
		}
		return a.Pos.Line - b.Pos.Line
	})
	return r, errors.Join(errs...)
}

func (r *Result) skip(p kaconf.Pos, what, why string) {
	r.NotCarried = append(r.NotCarried, kaconf.Ignored{Pos: p, What: what, Why: why})
}

// validate runs each section's own validation, so a converted file never
// fails to load for a reason the converter could have seen.
func (r *Result) validate() error {
	h := r.Health
	h.Checks = slices.Clone(h.Checks)
	h.ApplyDefaults()
	var errs []error
	for _, v := range []interface{ Validate() error }{r.VRRP, &h, r.Notify} {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("the converted configuration is not valid for kdcha:\n%w", err)
	}
	return nil
}

func (r *Result) instance(c *kaconf.Config, in *kaconf.Instance) error {
	ctx := "vrrp_instance " + in.Name
	ic := vrrp.DefaultInstanceConfig()
	ic.Name, ic.Interface, ic.VRID, ic.Priority = in.Name, in.Interface, in.VRID, in.Priority
	ic.Version, ic.AdvertInterval = in.Version, in.AdvertInt
	ic.UnicastSrcIP, ic.UnicastPeers = in.UnicastSrcIP, in.UnicastPeers
	ic.NoPreempt, ic.PreemptDelay = in.NoPreempt, in.PreemptDelay
	ic.DontTrackPrimary = in.DontTrackPrimary
	if in.NoPreempt && in.PreemptDelay > 0 {
		// keepalived ignores it too; kdcha refuses the combination.
		ic.PreemptDelay = 0
		r.skip(in.Pos, ctx+": preempt_delay", "has no effect with nopreempt")
	}
	garp := func(inst, glob *time.Duration, dst *time.Duration) {
		if inst != nil {
			*dst = *inst
		} else if glob != nil {
			*dst = *glob
		}
	}
	garp(in.GARP.MasterDelay, c.Global.GARP.MasterDelay, &ic.GARPMasterDelay)
	garp(in.GARP.MasterRefresh, c.Global.GARP.MasterRefresh, &ic.GARPMasterRefresh)
	if p := firstSet(in.GARP.MasterRepeat, c.Global.GARP.MasterRepeat); p != nil {
		ic.GARPMasterRepeat = *p
	}
	for _, v := range in.VIPs {
		what := ctx + ": virtual_ipaddress " + v.Address
		if v.Dev != "" && v.Dev != in.Interface {
			r.skip(v.Pos, what+" dev "+v.Dev, fmt.Sprintf("kdcha adds an instance's VIPs on its interface %s; make a separate instance for %s", in.Interface, v.Dev))
			continue
		}
		ic.VirtualIPAddresses = append(ic.VirtualIPAddresses, v.Address)
		for _, o := range []struct{ key, val, why string }{
			{"label", v.Label, "kdcha adds the VIP without a label (ip addr shows it without eth0:NAME)"},
			{"scope", v.Scope, "kdcha adds the VIP with global scope"},
			{"brd", v.Broadcast, "kdcha adds the VIP without a broadcast address"},
		} {
			if o.val != "" {
				r.skip(v.Pos, what+" "+o.key+" "+o.val, o.why)
			}
		}
		if len(v.Other) > 0 {
			r.skip(v.Pos, what+" "+strings.Join(v.Other, " "), "kdcha has no per-VIP options")
		}
	}
	if len(ic.VirtualIPAddresses) == 0 {
		return fmt.Errorf("%s: %s: no virtual_ipaddress kdcha can carry over", in.Pos, ctx)
	}
	if in.Auth != nil {
		r.skip(in.Auth.Pos, ctx+": authentication (auth_type "+in.Auth.Type+")", whyAuth)
	}
	for _, t := range in.TrackInterfaces {
		if t.Name == in.Interface && t.Weight == nil && !in.DontTrackPrimary {
			continue // kdcha tracks the instance's interface already
		}
		r.skip(t.Pos, ctx+": track_interface "+t.Name, "kdcha tracks only the instance's own interface (FAULT while its link is down)")
	}
	sc := notify.ScriptConfig{}
	for _, n := range []struct {
		cmd *kaconf.Command
		dst *string
	}{{in.Notify.Notify, &sc.Notify}, {in.Notify.Master, &sc.NotifyMaster}, {in.Notify.Backup, &sc.NotifyBackup}, {in.Notify.Fault, &sc.NotifyFault}, {in.Notify.Stop, &sc.NotifyStop}} {
		if n.cmd == nil {
			continue
		}
		*n.dst = commandLine(r.absolute(n.cmd.Argv, ctx+": "+n.cmd.Argv[0]))
		if n.cmd.User != "" {
			r.skip(n.cmd.Pos, ctx+": runs "+n.cmd.Argv[0]+" as "+strings.TrimSpace(n.cmd.User+" "+n.cmd.Group), whyUser)
		}
	}
	if sc != (notify.ScriptConfig{}) {
		if r.Notify.Scripts == nil {
			r.Notify.Scripts = map[string]notify.ScriptConfig{}
		}
		r.Notify.Scripts[in.Name] = sc
	}
	comment := printable(fmt.Sprintf("vrrp_instance %s, %s", in.Name, in.Pos))
	if in.State == "MASTER" {
		// keepalived too starts every instance below priority 255 as
		// BACKUP; kdcha has no key for the hint.
		comment += "\nstate MASTER is not carried: below priority 255 an instance starts BACKUP and the highest priority wins"
	}
	r.comments["vrrp:"+in.Name] = comment
	r.VRRP.Instances = append(r.VRRP.Instances, ic)
	return nil
}

// firstSet returns a, or b if a is unset: an instance's setting, else the
// global one.
func firstSet[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// tracker is one instance (or sync group member) tracking a script.
type tracker struct {
	instance string
	pos      kaconf.Pos
	weight   int
	reverse  bool
}

// checks converts every vrrp_script some instance tracks. kdcha applies
// each check to every instance with one weight; what keepalived did
// differently per instance is reported.
func (r *Result) checks(c *kaconf.Config, o Options) {
	byScript := map[string][]tracker{}
	scripts := map[string]*kaconf.Script{}
	for _, s := range c.Scripts {
		scripts[s.Name] = s
	}
	add := func(instance string, t kaconf.Track) {
		s := scripts[t.Name]
		tr := tracker{instance: instance, pos: t.Pos, weight: s.Weight, reverse: s.Reverse}
		if t.Weight != nil {
			tr.weight, tr.reverse = *t.Weight, t.Reverse
		}
		byScript[t.Name] = append(byScript[t.Name], tr)
	}
	for _, in := range c.Instances {
		for _, t := range in.TrackScripts {
			add(in.Name, t)
		}
	}
	for _, g := range c.SyncGroups {
		for _, t := range g.TrackScripts {
			for _, m := range g.Group {
				add(m, t)
			}
		}
	}
	for _, s := range c.Scripts {
		ts := byScript[s.Name]
		ctx := "vrrp_script " + s.Name
		if len(ts) == 0 {
			r.skip(s.Pos, ctx, "tracked by no vrrp_instance, so keepalived never ran it")
			continue
		}
		if slices.ContainsFunc(ts, func(t tracker) bool { return t.reverse }) {
			r.skip(s.Pos, ctx+" (weight reverse)", "kdcha has no reverse weights; convert the script to fail when it should lower the priority")
			continue
		}
		r.check(s, ts, len(c.Instances), o)
	}
}

var badCheckName = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

func (r *Result) check(s *kaconf.Script, ts []tracker, instances int, o Options) {
	ctx := "vrrp_script " + s.Name
	weight := ts[0].weight
	var tracked []string
	for _, t := range ts {
		tracked = append(tracked, t.instance)
		if t.weight != weight {
			r.skip(t.pos, fmt.Sprintf("vrrp_instance %s: track_script %s weight %d", t.instance, s.Name, t.weight),
				fmt.Sprintf("kdcha applies one weight per check to every instance; using %d (from %s)", weight, ts[0].instance))
		}
	}
	if slices.Sort(tracked); len(slices.Compact(tracked)) < instances {
		r.skip(s.Pos, ctx, fmt.Sprintf("kdcha applies every check to every instance; keepalived applied it only to %s", strings.Join(tracked, ", ")))
	}
	cc := health.CheckConfig{
		Name:     badCheckName.ReplaceAllString(s.Name, "_"),
		Interval: s.Interval,
		Timeout:  s.Timeout,
		Rise:     s.Rise,
		Fall:     s.Fall,
		Weight:   &weight,
		InitFail: s.InitFail,
	}
	if cc.Timeout == 0 {
		cc.Timeout = cc.Interval // keepalived's default
	}
	comment := printable(fmt.Sprintf("vrrp_script %s, %s", s.Name, s.Pos))
	if k, ok := r.kinit(s, o); ok {
		cc.Type, cc.KDC, cc.Transport, cc.Principal, cc.Keytab = health.CheckKinit, o.KDC, health.TransportUDP, k.principal, k.keytab
		if k.timeout > 0 && k.timeout < cc.Timeout {
			cc.Timeout = k.timeout
		}
		comment += fmt.Sprintf("\nwas: %s\nnow a native kinit check (an AS exchange with the keytab's key, no process); the agent must be able to read the keytab", printable(strings.Join(s.Script.Argv, " ")))
		note := fmt.Sprintf("health check %s probes the KDC at %s over UDP: the script's kinit found its KDC through krb5.conf", cc.Name, o.KDC)
		if len(k.env) > 0 {
			note += " (" + strings.Join(k.env, " ") + ")"
		}
		r.Notes = append(r.Notes, note+"; if it is elsewhere, set kdc: (--kdc)")
	} else {
		cc.Type, cc.Script = health.CheckScript, health.Command(r.absolute(s.Script.Argv, ctx))
		if user := strings.TrimSpace(s.User + " " + s.Group); user != "" {
			r.skip(s.Pos, ctx+": user "+user, whyUser)
		}
	}
	r.comments["check:"+cc.Name] = comment
	r.Health.Checks = append(r.Health.Checks, cc)
}

// kinit recognises a kinit check script and settles its realm.
func (r *Result) kinit(s *kaconf.Script, o Options) (kinitCmd, bool) {
	k, ok := parseKinit(s.Script.Argv)
	if !ok {
		return k, false
	}
	_, realm, _ := strings.Cut(k.principal, "@")
	switch {
	case realm == "" && o.Realm == "":
		r.Notes = append(r.Notes, fmt.Sprintf("vrrp_script %s runs kinit for %s without a realm: kept as a script check; give --realm to make it a native kinit check", s.Name, k.principal))
		return k, false
	case realm == "":
		k.principal += "@" + o.Realm
	case r.Realm == "":
		r.Realm = realm
	}
	if _, _, err := health.ParsePrincipal(k.principal); err != nil {
		return k, false
	}
	return k, true
}

// absolute returns argv with its program as an absolute path: keepalived
// finds a bare name on its PATH, the agent runs only absolute paths (a
// PATH lookup would run whatever comes first on the agent's PATH). A name
// not found here is kept, with a note: the agent refuses it until it is
// made absolute.
func (r *Result) absolute(argv []string, ctx string) []string {
	if len(argv) == 0 || filepath.IsAbs(argv[0]) {
		return argv
	}
	path, err := r.lookPath(argv[0])
	if err != nil || !filepath.IsAbs(path) {
		r.Notes = append(r.Notes, fmt.Sprintf("%s: %q is not an absolute path and is not on this host's PATH: write its absolute path, the agent runs no PATH lookup", ctx, argv[0]))
		return argv
	}
	r.Notes = append(r.Notes, fmt.Sprintf("%s: %q is %s on this host's PATH; the agent runs it by that absolute path", ctx, argv[0], path))
	return append([]string{path}, argv[1:]...)
}

// commandLine joins argv into a command line that notify's splitter reads
// back as the same words: a word with blanks, quotes or backslashes is
// single-quoted, and a single quote inside it is closed, escaped and
// reopened, as in sh.
func commandLine(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\") {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
