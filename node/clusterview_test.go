package node

import (
	"testing"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/kdc/db"
)

func TestAgreedLeader(t *testing.T) {
	row := func(id string, state db.Role, term uint64) admin.MemberStatus {
		return admin.MemberStatus{ID: id, State: state, Term: term, Voter: true}
	}
	dead := admin.MemberStatus{ID: "n1", Voter: true, Error: "connection refused"}
	cases := []struct {
		name    string
		members []admin.MemberStatus
		leader  string
		term    uint64
	}{
		{"settled", []admin.MemberStatus{row("n1", db.RoleLeader, 3), row("n2", db.RoleFollower, 3), row("n3", db.RoleFollower, 3)}, "n1", 3},
		{"leader dead, election under way", []admin.MemberStatus{dead, row("n2", db.RoleCandidate, 4), row("n3", db.RoleFollower, 3)}, "", 4},
		{"leader dead, new leader", []admin.MemberStatus{dead, row("n2", db.RoleFollower, 4), row("n3", db.RoleLeader, 4)}, "n3", 4},
		{"deposed leader still answering", []admin.MemberStatus{row("n1", db.RoleLeader, 3), row("n2", db.RoleCandidate, 4), row("n3", db.RoleFollower, 4)}, "", 4},
		{"nobody answered", []admin.MemberStatus{dead}, "", 0},
	}
	for _, c := range cases {
		leader, term := agreedLeader(c.members)
		if leader != c.leader || term != c.term {
			t.Errorf("%s: agreedLeader = %q, %d; want %q, %d", c.name, leader, term, c.leader, c.term)
		}
	}
}
