// Package kaconf reads keepalived.conf files into a typed model of what a
// kdcha agent can carry over: global_defs, vrrp_script, vrrp_instance and
// vrrp_sync_group. It exists so that `kdcha import keepalived` (package
// kaimport) works from keepalived's meaning, not from its text.
//
// What it owns: keepalived's grammar (blocks in braces, `!` and `#`
// comments, double-quoted strings, `\` line continuation, `include` with
// globs resolved relative to the including file), the keyword semantics
// kdcha needs (defaults such as priority 100 and advert_int 1; advert_int in
// whole seconds for VRRPv2 and in centiseconds for v3; script command lines
// re-split with quotes and escapes as keepalived does), and a list of what
// it read but does not model (Config.Ignored), each with its file:line and
// why. Every parse error names its file:line.
//
// What it does not own: turning the model into kdcha's configuration
// (package kaimport), and keepalived features that change the text itself:
// `@` conditional lines, `$` parameters and `~SEQ` sequences are refused
// with an error, because converting them for one host requires knowing
// which host.
//
// Limits (Limits): file size, include depth, number of files and tokens per
// line are bounded, so a hostile or runaway include tree cannot exhaust
// memory.
//
// How it is tested: table tests of tricky inputs, of errors (each naming
// its file:line) and of every limit at its boundary, and a fuzz target
// (FuzzParse) that also asserts every error names a position. The
// realistic seed configuration is converted and checked key by key in
// package kaimport.
package kaconf
