//go:build race

package main

// raceBuild says the test binary runs under the race detector, so the
// kdcha binary the tests start is built with -race too: the agent's own
// goroutines (VRRP, health, Raft, KDC workers) are then checked as well.
const raceBuild = true
