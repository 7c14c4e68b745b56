package admin

import (
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// NodeStatus is the answer of GET /v1/status (`kdcha status`): one node at
// a glance.
type NodeStatus struct {
	Node  string `json:"node"`
	Realm string `json:"realm"`
	// Mode is the node's mode: kdc, or keepalived (no embedded KDC or
	// database: VRRP and health checks in front of an external KDC).
	Mode string `json:"mode"`
	// KDC are the addresses the KDC listens on.
	KDC []string `json:"kdc"`
	// Cluster is the node's Raft view.
	Cluster *RaftStatus      `json:"cluster,omitempty"`
	VRRP    []InstanceStatus `json:"vrrp"`
	Health  *HealthStatus    `json:"health,omitempty"`
	// LastReload is the outcome of the last configuration reload (SIGHUP);
	// absent until the first one.
	LastReload *ReloadStatus `json:"last_reload,omitempty"`
	// RealmSettingsConflicts are the keys of this node's configuration
	// that disagree with the realm's replicated settings (which apply).
	RealmSettingsConflicts []SettingConflict `json:"realm_settings_conflicts,omitempty"`
}

// RaftStatus is a node's view of the Raft cluster (db.ClusterStatus with
// the API's key names).
type RaftStatus struct {
	NodeID        string  `json:"node_id"`
	State         db.Role `json:"state"`
	LeaderID      string  `json:"leader_id"`
	LeaderAddress string  `json:"leader_address"`
	Term          uint64  `json:"term"`
	LastIndex     uint64  `json:"last_index"`
	CommitIndex   uint64  `json:"commit_index"`
	AppliedIndex  uint64  `json:"applied_index"`
	// LastContact is when a follower last heard from the leader.
	LastContact time.Time    `json:"last_contact,omitzero"`
	Members     []RaftMember `json:"members"`
	Principals  int          `json:"principals"`
}

// RaftMember is one server of the Raft configuration.
type RaftMember struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
}

// RaftStatusOf converts the database's view to the API's.
func RaftStatusOf(s db.ClusterStatus) RaftStatus {
	r := RaftStatus{
		NodeID: s.NodeID, State: s.State, LeaderID: s.LeaderID, LeaderAddress: s.LeaderAddress,
		Term: s.Term, LastIndex: s.LastIndex, CommitIndex: s.CommitIndex, AppliedIndex: s.AppliedIndex,
		LastContact: s.LastContact, Principals: s.Principals,
	}
	for _, m := range s.Members {
		r.Members = append(r.Members, RaftMember{ID: m.ID, Address: m.Address, Voter: m.Voter})
	}
	return r
}

// InstanceStatus is one VRRP instance.
type InstanceStatus struct {
	Name     string    `json:"name"`
	State    string    `json:"state"`
	Priority uint8     `json:"priority"`
	Master   string    `json:"master,omitempty"`
	Since    time.Time `json:"since"`
	// Dropped are peers whose adverts this instance cannot use (an
	// authentication type mismatch): a likely split brain.
	Dropped []DroppedAdverts `json:"dropped,omitempty"`
}

// DroppedAdverts counts one peer's adverts dropped for one reason.
type DroppedAdverts struct {
	Reason string    `json:"reason"`
	From   string    `json:"from"`
	Count  uint64    `json:"count"`
	Last   time.Time `json:"last"`
}

// HealthStatus is the health verdict and each check behind it.
type HealthStatus struct {
	Delta   int           `json:"delta"`
	Fault   bool          `json:"fault"`
	Pending bool          `json:"pending"`
	Reason  string        `json:"reason,omitempty"`
	Checks  []CheckStatus `json:"checks"`
}

// CheckStatus is one health check.
type CheckStatus struct {
	Name      string    `json:"name"`
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	Failures  int       `json:"failures"`
	LastError string    `json:"last_error,omitempty"`
}

// ReloadStatus is the outcome of a configuration reload.
type ReloadStatus struct {
	Time time.Time `json:"time"`
	OK   bool      `json:"ok"`
	// Error says why the reload was refused; the previous configuration
	// keeps running.
	Error string `json:"error,omitempty"`
}

// ClusterStatus is the answer of GET /v1/cluster/status (`kdcha cluster
// status`): this node's Raft view and every member's progress.
type ClusterStatus struct {
	Self RaftStatus `json:"self"`
	// Leader is the member that itself answered that it leads, in the
	// highest term any member answered with; "" while there is none (an
	// election, or too few members answering). Unlike Self.LeaderID, this
	// node's possibly stale view, it never names a member that did not
	// answer.
	Leader string `json:"leader"`
	// Term is the highest Raft term any member answered with.
	Term    uint64         `json:"term"`
	Members []MemberStatus `json:"members"`
}

// MemberStatus is one row of `kdcha cluster status`.
type MemberStatus struct {
	ID           string  `json:"id"`
	Address      string  `json:"address"`
	Voter        bool    `json:"voter"`
	State        db.Role `json:"state,omitempty"`
	AppliedIndex uint64  `json:"applied_index"`
	// Lag is how many committed entries the member has not applied yet.
	Lag uint64 `json:"lag"`
	// Term is the Raft term the member answered with.
	Term uint64 `json:"term,omitempty"`
	// Error says why the member could not be asked.
	Error string `json:"error,omitempty"`
}
