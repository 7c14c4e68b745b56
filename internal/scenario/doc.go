// Package scenario runs failover scenarios end to end: an N-node kdcha
// cluster (real `kdcha agent` processes in network namespaces built with
// internal/netnstest, one Raft cluster, one VIP), a client namespace whose
// MIT `kinit -kt` loops go through the VIP, a netlink watcher per node that
// records who holds the VIP when, and the faults of issue 9 (SIGKILL,
// SIGTERM, restart, host dead, link down, hung KDC, busy master). Summarize
// turns what was recorded into the figures users notice: who took over,
// when, the longest gap between successful kinits, failed and slowest
// attempts, and how many times the VIP moved.
//
// It owns test scaffolding only: it is imported by the lifecycle tests in
// this directory and by cmd/kdcha's failover tests, and the scenario table
// (deploy/scenarios.sh) is a gated test here. Summarize is pure and unit
// tested; the rest is exercised by the lifecycle tests, which skip without
// root, iproute2 or the MIT client tools.
package scenario
