// Package node is the runtime of one kdcha node: its configuration file
// (Config, LoadConfig), its database and cluster membership (Member: open,
// join decisions, the member RPC, credentials rotation), the services it
// serves (KDC, kpasswd, admin API, metrics) and the failover glue (health
// verdicts to VRRP priorities, the probe's keytab, notifications).
//
// It does not own any protocol: Kerberos is kdc's, Raft and principals are
// kdc/db's, VRRP is vrrp's, checks are health's, deliveries are notify's.
// cmd/kdcha parses flags and calls this package.
//
// In mode keepalived (mode.go, keepalived.go) a node fronts a KDC it does
// not replace: its part list has no database, KDC or cluster listener,
// only VRRP, the configured checks, notifications, metrics and a
// status-only admin API; the lifecycle is the same.
//
// A Node runs it all with explicit phases (lifecycle.go): Start (validate,
// bind, serve, catch up, first verdict, then VRRP), Reload (reload.go) and
// Stop (hand over Raft leadership, let every VRRP instance resign while the
// KDC still serves, then drain). Its parts are built behind small seams
// (parts), so the order is tested with fakes.
//
// Tests: the lifecycle and reload driven by fakes and a fake clock
// (lifecycle_test.go, reload_test.go), configuration errors with their
// lines (config_test.go), the replica check and the probe keytab refresher
// against real single-node databases (replica_test.go, ha_test.go). The
// end-to-end tests of the agent (namespaces, real binaries) are in
// cmd/kdcha.
package node
