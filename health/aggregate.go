package health

import (
	"fmt"
	"strings"
)

// Verdict is what the VRRP instance needs from health: how much to add to
// its base priority and whether it must be in FAULT.
type Verdict struct {
	// Delta is the sum of every check's priority contribution. The VRRP
	// instance adds it to its base priority and clamps the result to
	// [1,254] (and leaves an address owner at 255), as keepalived does.
	Delta int
	// Fault is set when a weight-0 check is not up: the instance must leave
	// MASTER (priority-0 advert) and stay in FAULT.
	Fault bool
	// Pending is set while some check has no result yet (StateInit). With
	// weight 0 it also sets Fault, as keepalived holds such an instance in
	// INIT; the agent may use Pending to avoid notifying a FAULT at startup.
	Pending bool
	// Reason explains every check that is not up, in configuration order,
	// e.g. "kinit failed 3 times: timeout: as-req: ...". Empty when all are up.
	Reason string
}

// Aggregate combines the statuses of all checks into one Verdict. It is
// pure; statuses are reported in the order given.
func Aggregate(statuses []Status) Verdict {
	var v Verdict
	var reasons []string
	for _, s := range statuses {
		v.Delta += s.Delta
		v.Fault = v.Fault || s.Fault
		if s.State == StateInit {
			v.Pending = true
		}
		if r := reason(s); r != "" {
			reasons = append(reasons, r)
		}
	}
	v.Reason = strings.Join(reasons, "; ")
	return v
}

func reason(s Status) string {
	switch {
	case s.State == StateUp:
		return ""
	case s.LastErr == nil && s.State == StateInit:
		return s.Name + " has no result yet"
	case s.LastErr == nil:
		// Down, but the last run succeeded: still rising.
		return s.Name + " is down, recovering"
	case s.Failures == 1:
		return fmt.Sprintf("%s failed: %v", s.Name, s.LastErr)
	default:
		return fmt.Sprintf("%s failed %d times: %v", s.Name, s.Failures, s.LastErr)
	}
}
