// Package health decides whether this node should serve the Kerberos VIP, by
// judging the KDC the way a client would: it authenticates.
//
// What it owns:
//   - Probes (Probe): KinitProbe performs a real AS exchange with
//     preauthentication for a probe principal from a keytab, optionally
//     followed by a TGS exchange, over UDP or TCP, against a configured KDC
//     address (this node's embedded KDC by default, or an external KDC such
//     as MIT krb5kdc). ScriptCheck runs a user command (exit 0 = healthy)
//     with keepalived's vrrp_script process rules.
//   - Tracker: keepalived vrrp_script semantics (rise, fall, weight,
//     init_fail) as a pure state machine fed with (Result, now).
//   - Aggregate: folds every tracker into one Verdict (priority delta, FAULT
//     flag, human-readable reason) for the VRRP instance.
//   - Runner: the edge that ticks each check with a real clock, feeds the
//     trackers and publishes Verdict changes.
//   - Config: the `health:` section of the agent configuration.
//
// What it does not own: the VRRP state machine and the clamping of the
// effective priority to [1,254] (package vrrp), creating the probe principal
// and its keytab (the agent), notifications (package notify) and the KDC
// itself (package kdc).
//
// How it is tested: the tracker is table-driven and checked against an
// independent model for every rise/fall/weight/init_fail combination, with
// injected time and no sleeps; Aggregate and Config are table-driven.
// Transports run against loopback sockets that never answer (black hole),
// refuse, or answer garbage. A fake UDP KDC forges KRB-ERRORs and AS-REPs
// to cover every failure kind, and a fuzz target feeds arbitrary replies.
// The kinit probe and the Runner run against a real MIT krb5kdc started in a
// temporary directory (skipped when krb5-kdc / krb5-admin-server are not
// installed): healthy over UDP and TCP with and without TGS, stale keytab,
// unknown principal or service, SIGSTOPped and killed KDC. Latency and
// detection-time figures come from tests gated behind KDCHA_HEALTH_MEASURE=1.
package health
