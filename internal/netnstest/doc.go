// Package netnstest builds throw-away network topologies in Linux network
// namespaces for edge and end-to-end tests (vrrp, vrrp/vip, scenarios): a LAN is a bridge in
// its own namespace with one veth-connected namespace per node, addressed
// from 192.0.2.0/24. Everything is removed by t.Cleanup, and nothing is
// connected to the host's own network.
//
// It owns only test scaffolding (it is internal and imported by _test.go
// files). Tests that use it skip, with the reason, when not run as root or
// when the ip tool or namespaces are unavailable. Its own behaviour is
// exercised by those tests.
package netnstest
