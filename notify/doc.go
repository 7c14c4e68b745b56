// Package notify tells the outside world about VRRP state transitions and
// the node's own events (health checks DOWN/UP, Raft leader CHANGED, quorum
// LOST/RESTORED; package node decides when they happen).
//
// It owns:
//   - the Event type (type, node, instance, new and previous State,
//     priority, reason, VIPs, check, leader, time and a per-instance
//     sequence number; node-level events share one sequence);
//   - the Dispatcher, whose Publish never blocks the VRRP loop: it stamps the
//     event and hands it to one bounded queue per sink, each drained by its
//     own workers, so a dead or slow receiver delays nothing and loses
//     nothing until its queue bound, and every loss is counted;
//   - the webhook sink (JSON or text/template body, HMAC-SHA256 signature,
//     per-request timeout, retries with exponential backoff);
//   - the script sink, argv-compatible with keepalived's notify scripts but
//     run without a shell, with a timeout, serialized per instance, and
//     given the event in KDCHA_* environment variables; the node script
//     (notify.node) gets the node-level events;
//   - each webhook's events filter;
//   - the `notify:` configuration section and its validation;
//   - the sent, failed, dropped and queued metrics of every sink.
//
// It does not decide when a transition happens (package vrrp does, and
// converts its own states to State), it does not persist events (queues live
// in memory and die with the process), and it does not retry scripts
// (keepalived does not either; a notify script need not be idempotent).
// keepalived's FIFO, SMTP, DBus and SNMP channels are not implemented: the
// webhook sink with a template covers their uses.
//
// Ordering: events of one instance (or the node-level events) reach each
// sink in Publish order, one at a time; events of different instances are
// delivered concurrently, so a hung script for one instance does not hold up
// another.
//
// Tests run against httptest receivers, real processes started from scripts
// written to a temporary directory, and fake sinks synchronised with
// channels. They never sleep to synchronise; the few waits on real timers
// (request and script timeouts) use small timeouts and generous upper bounds.
package notify
