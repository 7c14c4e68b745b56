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
// Tests: configuration errors with their lines (config_test.go), the replica
// check against real single-node databases (replica_test.go).
package node
