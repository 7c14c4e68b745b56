package kaconf

import (
	"net/netip"
	"strings"
	"time"
)

// Limits of keepalived's own parser.
const (
	maxPreemptDelay = 1000 * time.Second
	maxAdvertV2     = 255 * time.Second
	maxAdvertV3     = 4095 * 10 * time.Millisecond
)

// Instance keywords kdcha knows but has no equivalent for, with why.
var instanceIgnored = map[string]string{
	"use_vmac":                   "kdcha adds the VIP to the interface itself; it has no virtual MAC (macvlan) mode",
	"vmac_xmit_base":             "kdcha has no virtual MAC mode",
	"virtual_ipaddress_excluded": "kdcha moves only advertised VIPs; list them in virtual_ipaddress if they should move",
	"virtual_routes":             "kdcha adds no routes with the VIP; use the host's network configuration",
	"virtual_rules":              "kdcha adds no policy rules with the VIP; use the host's network configuration",
	"track_file":                 whyTrack,
	"track_process":              whyTrack,
	"track_bfd":                  whyTrack,
	"smtp_alert":                 whyEmail,
	"notify_deleted":             "kdcha runs notify scripts for MASTER, BACKUP, FAULT and STOP only",
	"notify_master_rx_lower_pri": "kdcha runs notify scripts for MASTER, BACKUP, FAULT and STOP only",
	"strict_mode":                "kdcha has no strict mode (it never sends VRRP authentication)",
	"mcast_dst_ip":               "kdcha always uses the standard group 224.0.0.18 / ff02::12 when not unicast",
	"lvs_sync_daemon_interface":  whyLVS,
}

func (d *decoder) instance(b *stmt) {
	in := &Instance{Pos: b.pos, Name: b.words[1], Priority: 100, AdvertInt: time.Second}
	ctx := "vrrp_instance " + in.Name
	var advertPos Pos
	var advertText string
	version := 0
	for _, s := range b.block {
		switch k := s.keyword(); k {
		case "state":
			if v, ok := d.arg(s); ok {
				if v != "MASTER" && v != "BACKUP" {
					d.fail(s.pos, "state: %q must be MASTER or BACKUP", v)
					continue
				}
				in.State = v
			}
		case "interface":
			if v, ok := d.arg(s); ok {
				in.Interface = v
			}
		case "virtual_router_id":
			if n, ok := d.intArg(s, 1, 255); ok {
				in.VRID = n
			}
		case "priority":
			if n, ok := d.intArg(s, 1, 255); ok {
				in.Priority = n
			}
		case "version":
			if n, ok := d.intArg(s, 2, 3); ok {
				version = n
			}
		case "advert_int":
			// Checked below, once the version is known.
			if t, ok := d.secondsArg(s, time.Millisecond, maxAdvertV2); ok {
				in.AdvertInt, advertPos, advertText = t, s.pos, s.words[1]
			}
		case "nopreempt":
			in.NoPreempt = d.flag(s)
		case "preempt":
			d.flag(s) // the default
		case "preempt_delay":
			if t, ok := d.secondsArg(s, 0, maxPreemptDelay); ok {
				in.PreemptDelay = t
			}
		case "unicast_src_ip", "mcast_src_ip":
			if v, ok := d.arg(s); ok && d.addr(s, v) {
				in.UnicastSrcIP = v
			}
		case "unicast_peer":
			in.UnicastPeers = d.peers(s, ctx)
		case "virtual_ipaddress":
			in.VIPs = d.vips(s)
		case "authentication":
			in.Auth = d.auth(s)
		case "track_script":
			in.TrackScripts = d.tracks(s)
		case "track_interface":
			in.TrackInterfaces = d.tracks(s)
		case "dont_track_primary":
			in.DontTrackPrimary = d.flag(s)
		default:
			switch {
			case d.notify(s, &in.Notify), d.garp(s, "", &in.GARP):
			case instanceIgnored[k] != "":
				d.ignore(s, ctx, instanceIgnored[k])
			default:
				d.ignore(s, ctx, whyUnknown)
			}
		}
	}
	if in.Interface == "" {
		d.fail(b.pos, "%s: no interface", ctx)
	}
	if in.VRID == 0 {
		d.fail(b.pos, "%s: no virtual_router_id", ctx)
	}
	in.Version = d.version(in, version)
	if advertText != "" {
		d.checkAdvert(in, advertPos, advertText)
	}
	for _, o := range d.cfg.Instances {
		if o.Name == in.Name {
			d.fail(b.pos, "%s: already defined at %s", ctx, o.Pos)
			return
		}
	}
	d.cfg.Instances = append(d.cfg.Instances, in)
}

// version resolves an instance's VRRP version as keepalived does: its own
// version, else global_defs vrrp_version, else 2; IPv6 needs 3.
func (d *decoder) version(in *Instance, own int) int {
	v := own
	if v == 0 {
		v = d.cfg.Global.VRRPVersion
	}
	if v == 0 {
		v = 2
	}
	for _, vip := range in.VIPs {
		if a, err := netip.ParsePrefix(vip.Address); err == nil && a.Addr().Is6() {
			return 3
		}
		if a, err := netip.ParseAddr(vip.Address); err == nil && a.Is6() {
			return 3
		}
	}
	return v
}

// checkAdvert applies the per-version rules keepalived reports as
// configuration errors (it then rounds; a converter must not guess).
func (d *decoder) checkAdvert(in *Instance, p Pos, text string) {
	t := in.AdvertInt
	if in.Version == 2 {
		if t%time.Second != 0 {
			d.fail(p, "advert_int %s: VRRPv2 takes whole seconds 1..255 (set version 3 for fractions)", text)
		}
		return
	}
	if t%(10*time.Millisecond) != 0 || t > maxAdvertV3 {
		d.fail(p, "advert_int %s: VRRPv3 takes 0.01..40.95 seconds in steps of 0.01", text)
	}
}

// addr checks that v is an IP address.
func (d *decoder) addr(s *stmt, v string) bool {
	if _, err := netip.ParseAddr(v); err != nil {
		d.fail(s.pos, "%s: %q is not an IP address", s.keyword(), v)
		return false
	}
	return true
}

// peers decodes unicast_peer { IP [min_ttl N] [max_ttl N] }.
func (d *decoder) peers(b *stmt, ctx string) []string {
	if !b.hasBlock || len(b.words) != 1 {
		d.fail(b.pos, "unicast_peer: expected a block in braces")
		return nil
	}
	var out []string
	for _, s := range b.block {
		if !d.addr(s, s.keyword()) {
			continue
		}
		out = append(out, s.keyword())
		if len(s.words) > 1 || s.hasBlock {
			d.ignore(s, ctx+": unicast_peer", "kdcha checks no per-peer TTL")
		}
	}
	return out
}

// vipOptions are the virtual_ipaddress options that take a value.
var vipOptions = map[string]bool{"brd": true, "broadcast": true, "dev": true, "scope": true, "label": true, "peer": true, "preferred_lft": true, "track_group": true}

// vips decodes virtual_ipaddress { IP[/len] [brd X] [dev X] [scope X]
// [label X] [other options] }.
func (d *decoder) vips(b *stmt) []VIP {
	if !b.hasBlock || len(b.words) != 1 {
		d.fail(b.pos, "virtual_ipaddress: expected a block in braces")
		return nil
	}
	var out []VIP
	for _, s := range b.block {
		v := VIP{Pos: s.pos, Address: s.keyword()}
		addr, _, _ := strings.Cut(v.Address, "/")
		if _, err := netip.ParseAddr(addr); err != nil {
			d.fail(s.pos, "virtual_ipaddress: %q is not IP[/prefix]", v.Address)
			continue
		}
		if _, err := netip.ParsePrefix(v.Address); err != nil && addr != v.Address {
			d.fail(s.pos, "virtual_ipaddress: %q is not IP[/prefix]", v.Address)
			continue
		}
		w := s.words[1:]
		for i := 0; i < len(w); i++ {
			opt := w[i]
			if !vipOptions[opt] {
				v.Other = append(v.Other, opt)
				continue
			}
			if i+1 == len(w) {
				d.fail(s.pos, "virtual_ipaddress %s: %s needs a value", v.Address, opt)
				break
			}
			i++
			switch opt {
			case "dev":
				v.Dev = w[i]
			case "label":
				v.Label = w[i]
			case "scope":
				v.Scope = w[i]
			case "brd", "broadcast":
				v.Broadcast = w[i]
			default:
				v.Other = append(v.Other, opt, w[i])
			}
		}
		out = append(out, v)
	}
	return out
}

// auth decodes authentication { auth_type PASS|AH; auth_pass X }.
func (d *decoder) auth(b *stmt) *Auth {
	if !b.hasBlock || len(b.words) != 1 {
		d.fail(b.pos, "authentication: expected a block in braces")
		return nil
	}
	a := &Auth{Pos: b.pos}
	for _, s := range b.block {
		switch s.keyword() {
		case "auth_type":
			if v, ok := d.arg(s); ok {
				if v != "PASS" && v != "AH" {
					d.fail(s.pos, "auth_type: %q must be PASS or AH", v)
					continue
				}
				a.Type = v
			}
		case "auth_pass":
			if v, ok := d.arg(s); ok {
				a.Pass = v
			}
		default:
			d.ignore(s, "authentication", whyUnknown)
		}
	}
	if a.Type == "" {
		d.fail(b.pos, "authentication: no auth_type")
	}
	return a
}

func (d *decoder) syncGroup(b *stmt) {
	g := &SyncGroup{Pos: b.pos, Name: b.words[1]}
	ctx := "vrrp_sync_group " + g.Name
	for _, s := range b.block {
		switch s.keyword() {
		case "group":
			if !s.hasBlock || len(s.words) != 1 {
				d.fail(s.pos, "group: expected a block in braces")
				continue
			}
			for _, m := range s.block {
				g.Group = append(g.Group, m.words...)
			}
		case "track_script":
			g.TrackScripts = d.tracks(s)
		default:
			if !d.notify(s, &g.Notify) {
				d.ignore(s, ctx, whyUnknown)
			}
		}
	}
	d.cfg.SyncGroups = append(d.cfg.SyncGroups, g)
}
