// Package readiness is what a running node says about itself to the
// outside: whether it is alive (its essential loops still make progress)
// and whether it is ready to serve (every startup condition is met). It
// owns that state and its two consumers, HTTP (/healthz, /readyz, for a
// monitor or a load balancer) and systemd's notification socket (READY=1,
// STATUS=, WATCHDOG=1, RELOADING=1, STOPPING=1). It decides nothing about
// the node: the runtime declares the conditions and loops, sets and clears
// them with a reason, and beats.
//
// It is a package of its own because neither consumer has a home among the
// protocol packages, and keeping the state apart from the runtime lets the
// runtime's unit tests assert on it without HTTP or a socket.
//
// Liveness is heartbeat-based: each essential loop beats at least once per
// budget; a loop silent for longer than its budget makes the node not
// alive, which fails /healthz and withholds systemd's WATCHDOG=1 so that
// systemd restarts a hung agent. Time is an input (Options.Now).
//
// Testing: the Set and the HTTP handlers with a fake clock; the systemd
// notifier against a real unixgram socket in a temporary directory (and an
// abstract one), its ticks driven by the test.
package readiness
