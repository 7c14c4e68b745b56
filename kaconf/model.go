package kaconf

import "time"

// Config is what Parse read from a keepalived configuration.
type Config struct {
	// Global is global_defs (all of them merged, as keepalived does).
	Global Global
	// Scripts are the vrrp_script blocks in file order.
	Scripts []*Script
	// Instances are the vrrp_instance blocks in file order.
	Instances []*Instance
	// SyncGroups are the vrrp_sync_group blocks in file order.
	SyncGroups []*SyncGroup
	// Ignored lists what was read but is not modelled (LVS sections,
	// unknown keywords, options kdcha has no equivalent for), in file
	// order.
	Ignored []Ignored
}

// Ignored is a statement Parse skipped, and why.
type Ignored struct {
	Pos Pos
	// What names the statement, e.g. "virtual_server 192.0.2.10 88" or
	// "vrrp_instance VI_1: use_vmac".
	What string
	// Why says why kdcha does not carry it over.
	Why string
}

// Global is global_defs.
type Global struct {
	// Pos is the first global_defs block; zero if there is none.
	Pos Pos
	// RouterID identifies the host (router_id); "" if unset.
	RouterID string
	// EnableScriptSecurity is enable_script_security.
	EnableScriptSecurity bool
	// ScriptUser and ScriptGroup are script_user's arguments.
	ScriptUser, ScriptGroup string
	// VRRPVersion is vrrp_version, 2 or 3; 0 if unset (keepalived: 2).
	VRRPVersion int
	// GARP holds the vrrp_garp_master_* defaults of every instance.
	GARP GARP
}

// GARP are gratuitous ARP settings; nil fields are unset.
type GARP struct {
	// MasterDelay is (vrrp_)garp_master_delay: the second burst after
	// becoming master; 0 means none.
	MasterDelay *time.Duration
	// MasterRepeat is (vrrp_)garp_master_repeat: GARPs per burst.
	MasterRepeat *int
	// MasterRefresh is (vrrp_)garp_master_refresh: periodic GARPs while
	// master; 0 means off.
	MasterRefresh *time.Duration
}

// Command is a script command line as keepalived runs it.
type Command struct {
	Pos Pos
	// Argv is the command split with keepalived's quoting and escapes.
	Argv []string
	// User and Group are the optional user and group it runs as.
	User, Group string
}

// Script is a vrrp_script block.
type Script struct {
	Pos  Pos
	Name string
	// Script is the command; exit 0 is success.
	Script *Command
	// Interval between runs; keepalived's default 1s.
	Interval time.Duration
	// Timeout of a run; 0 if unset (keepalived: the interval).
	Timeout time.Duration
	// Weight is added to (> 0, while up) or subtracted from (< 0, while
	// down) the priority; 0 means FAULT while down.
	Weight int
	// Reverse inverts the sense of Weight (weight ... reverse).
	Reverse bool
	// Rise and Fall are the consecutive results that change the state;
	// keepalived's default 1.
	Rise, Fall int
	// User and Group are from the user keyword.
	User, Group string
	// InitFail starts the script in the failed state.
	InitFail bool
}

// Track is a track_script or track_interface entry.
type Track struct {
	Pos  Pos
	Name string
	// Weight overrides the script's weight (or gives an interface one);
	// nil if not given.
	Weight *int
	// Reverse is the reverse flag after the weight.
	Reverse bool
}

// VIP is one virtual_ipaddress entry.
type VIP struct {
	Pos Pos
	// Address is IP or IP/prefix as written.
	Address string
	// Dev, Label, Scope and Broadcast are the dev, label, scope and brd
	// options; "" if not given.
	Dev, Label, Scope, Broadcast string
	// Other lists any further options verbatim (peer, no_track, ...).
	Other []string
}

// Auth is an authentication block.
type Auth struct {
	Pos Pos
	// Type is PASS or AH.
	Type string
	// Pass is auth_pass (keepalived uses the first 8 characters).
	Pass string
}

// Notify are the notify scripts of an instance or sync group; nil fields
// are unset.
type Notify struct {
	Notify, Master, Backup, Fault, Stop *Command
}

// Instance is a vrrp_instance block.
type Instance struct {
	Pos  Pos
	Name string
	// State is MASTER or BACKUP as written, "" if unset: only a startup
	// hint, the election decides.
	State string
	// Interface is the interface adverts go out on.
	Interface string
	// VRID is virtual_router_id, 1..255.
	VRID int
	// Priority is 1..255; default 100.
	Priority int
	// Version is the resolved VRRP version: the instance's version, else
	// global_defs vrrp_version, else 3 for IPv6 VIPs, else 2.
	Version int
	// AdvertInt is advert_int; default 1s. Whole seconds for v2, a
	// multiple of 10ms for v3.
	AdvertInt time.Duration
	// NoPreempt is nopreempt.
	NoPreempt bool
	// PreemptDelay is preempt_delay, 0..1000s.
	PreemptDelay time.Duration
	// UnicastSrcIP is unicast_src_ip.
	UnicastSrcIP string
	// UnicastPeers are the unicast_peer addresses (per-peer options are
	// reported in Config.Ignored).
	UnicastPeers []string
	// VIPs are virtual_ipaddress entries.
	VIPs []VIP
	// Auth is the authentication block, nil if none.
	Auth *Auth
	// TrackScripts and TrackInterfaces are track_script and
	// track_interface.
	TrackScripts, TrackInterfaces []Track
	// Notify are the notify scripts.
	Notify Notify
	// GARP are the instance's garp_master_* settings (unset fields fall
	// back to Global.GARP).
	GARP GARP
	// DontTrackPrimary is dont_track_primary.
	DontTrackPrimary bool
}

// SyncGroup is a vrrp_sync_group block.
type SyncGroup struct {
	Pos  Pos
	Name string
	// Group are the member instance names.
	Group []string
	// TrackScripts apply to every member.
	TrackScripts []Track
	// Notify are the group's notify scripts.
	Notify Notify
}
