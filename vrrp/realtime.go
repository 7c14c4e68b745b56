package vrrp

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Bounds of Config.RealtimePriority (SCHED_RR priorities on Linux).
const (
	minRealtimePriority = 1
	maxRealtimePriority = 99
)

// DefaultRealtimePriority is the SCHED_RR priority of the protocol threads
// unless configured otherwise: off, as keepalived's vrrp_rt_priority. The
// soak (TestSoakLoadedHost, figures in vrrp/README.md) measured no
// difference with it on: a Go thread needs one of the process's Ps to run,
// and those are held by the request-handling goroutines whatever the
// thread's policy, so what keeps adverts on time under load is the
// process's own CPU share (systemd Nice=/CPUWeight=) and Go's 10 ms
// preemption.
const DefaultRealtimePriority = 0

// lockThread pins the calling goroutine to its OS thread for good and, with
// prio > 0, makes that thread SCHED_RR at prio, so the advert timer and
// the receive path run ahead of request handling and of other processes.
// The goroutine must never unlock the thread: when it exits the thread is
// destroyed, so the policy cannot leak to other goroutines. Threads that
// the runtime might start from this one go back to the normal policy
// (SCHED_FLAG_RESET_ON_FORK). Without CAP_SYS_NICE (or RLIMIT_RTPRIO)
// it fails; the caller warns and runs at the normal policy.
func lockThread(prio int) error {
	runtime.LockOSThread()
	if prio == 0 {
		return nil
	}
	attr := unix.SchedAttr{Policy: unix.SCHED_RR, Priority: uint32(prio), Flags: unix.SCHED_FLAG_RESET_ON_FORK}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		return fmt.Errorf("setting SCHED_RR priority %d on the VRRP thread: %w", prio, err)
	}
	return nil
}
