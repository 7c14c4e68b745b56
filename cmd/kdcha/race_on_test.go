//go:build race

package main

// raceBuild says the test binary runs under the race detector, so the
// agents of the Raft cluster tests are built with -race too (raceAgentBin).
const raceBuild = true
