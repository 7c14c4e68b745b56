package kaimport

import (
	"fmt"

	"github.com/kdcha/kdcha/kaconf"
)

// weightTies warns about checks whose failure alone leaves a master at
// exactly the backup's priority: on a tie the master keeps the VIP
// (RFC 3768: a backup preempts only a lower priority, and keepalived and
// kdcha both follow it), so the check never moves the VIP. A pair of
// keepalived nodes mirrors its priorities (150/100 on one node, 100/150 on
// the other), so the backup's priority is taken as the highest priority
// below the instance's own among this file's instances; a file with a
// single priority level says nothing about its peer and gets no warning.
func (r *Result) weightTies(c *kaconf.Config) {
	weights := map[string]int{} // converted check name -> weight
	for _, cc := range r.Health.Checks {
		if cc.Weight != nil {
			weights[cc.Name] = *cc.Weight
		}
	}
	for _, in := range c.Instances {
		backup, source := 0, ""
		for _, other := range c.Instances {
			if other.Priority < in.Priority && other.Priority > backup {
				backup, source = other.Priority, other.Name
			}
		}
		if backup == 0 {
			continue
		}
		for _, t := range in.TrackScripts {
			name := badCheckName.ReplaceAllString(t.Name, "_")
			w, ok := weights[name]
			if !ok || w >= 0 || in.Priority+w != backup {
				continue
			}
			r.Notes = append(r.Notes, fmt.Sprintf(
				"%s: vrrp_instance %s priority %d with %s weight %d gives %d when the check fails: a tie with the backup's priority %d (as vrrp_instance %s has here; its peer mirrors it). On a tie keepalived keeps the master, and so does kdcha (RFC 3768), so this check failing alone never moves the VIP: use a weight below %d (e.g. %d)",
				t.Pos, in.Name, in.Priority, name, w, in.Priority+w, backup, source, w, w-1))
		}
	}
}
