// Package kaimport converts a keepalived configuration (read by package
// kaconf) into the sections of kdcha's agent configuration, and says
// plainly what it cannot carry over and why. It is the engine of `kdcha
// import keepalived`; it exists apart from kaconf so the parser knows
// nothing of kdcha, and apart from cmd/kdcha so its rules are unit-tested.
//
// What it owns: the mapping (vrrp_instance to vrrp.instances,
// vrrp_script to health.checks, with a `kinit -kt` script recognised as a
// native kinit check; track_script weights to check weights; notify* to
// notify.scripts; unicast peers, GARP and preemption settings; `mode:
// keepalived`, so the agent fronts the KDC instead of replacing it), the
// warning about check weights that tie with the backup's priority and so
// never fail over (ties.go), the YAML
// document with comments naming each item's source line, and the list of
// items not carried over (Result.NotCarried).
//
// What it does not own: loading or validating the agent configuration as
// a whole (cmd/kdcha's loader; Convert validates each section with its
// package's own Validate, and a test in cmd/kdcha loads every converted
// file with the agent's loader).
//
// How it is tested: a realistic two-node seed (keepalived in front of MIT
// krb5kdc with a `kinit -kt` check) converted and checked field by field,
// tables of kinit command lines and of items that cannot be carried over.
package kaimport
