package kaimport

import (
	"fmt"

	"github.com/kdcha/kdcha/kaconf"
)

// weightTies warns about checks whose failure alone leaves a master at
// exactly the backup's priority: on a tie the master keeps the VIP
// (RFC 3768: a backup preempts only a lower priority, and keepalived and
// kdcha both follow it), so the check never moves the VIP. The backup's
// priority is the highest below the instance's own among the same virtual
// router (VRID) in the peers' configurations (Options.Peers); without
// peers, among this file's other instances, since a pair of keepalived
// nodes usually mirrors its priorities (150/100 on one node, 100/150 on
// the other). A file with a single priority level and no peers gets no
// warning: it says nothing about the backup.
func (r *Result) weightTies(c *kaconf.Config, o Options) {
	weights := map[string]int{} // converted check name -> weight
	for _, cc := range r.Health.Checks {
		if cc.Weight != nil {
			weights[cc.Name] = *cc.Weight
		}
	}
	for _, in := range c.Instances {
		backup, source := backupPriority(c, in, o.Peers)
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
				"%s: vrrp_instance %s priority %d with %s weight %d gives %d when the check fails: a tie with the backup's priority %d (%s). On a tie keepalived keeps the master, and so does kdcha (RFC 3768), so this check failing alone never moves the VIP: use a weight below %d (e.g. %d)",
				t.Pos, in.Name, in.Priority, name, w, in.Priority+w, backup, source, w, w-1))
		}
	}
}

// backupPriority is the highest priority below in's that a backup of its
// virtual router has, and where it comes from; 0 if unknown.
func backupPriority(c *kaconf.Config, in *kaconf.Instance, peers []*kaconf.Config) (int, string) {
	best, source := 0, ""
	consider := func(other *kaconf.Instance, from string) {
		if other.Priority < in.Priority && other.Priority > best {
			best, source = other.Priority, from
		}
	}
	for _, p := range peers {
		for _, other := range p.Instances {
			if other.VRID == in.VRID {
				consider(other, fmt.Sprintf("vrrp_instance %s, %s", other.Name, other.Pos))
			}
		}
	}
	if len(peers) > 0 {
		return best, source
	}
	for _, other := range c.Instances {
		consider(other, fmt.Sprintf("as vrrp_instance %s has here; its peer mirrors it", other.Name))
	}
	return best, source
}
