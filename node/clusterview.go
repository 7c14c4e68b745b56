package node

import (
	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/kdc/db"
)

// agreedLeader picks the leader of `kdcha cluster status` from what the
// members answered, not from this node's view (which keeps naming a dead
// leader until its own election timeout): the member that says it leads
// in the highest term any member answered with. A member that did not
// answer is never named; a leader deposed in a later term (partitioned,
// not yet told) is not either, since Raft has at most one leader per term.
// term is that highest term; leader is "" while the highest term has no
// leader yet.
func agreedLeader(members []admin.MemberStatus) (leader string, term uint64) {
	for _, m := range members {
		if m.Error == "" {
			term = max(term, m.Term)
		}
	}
	for _, m := range members {
		if m.Error == "" && m.Term == term && m.State == db.RoleLeader {
			return m.ID, term
		}
	}
	return "", term
}
