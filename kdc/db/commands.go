package db

import (
	"encoding/json"
	"fmt"
	"time"
)

// commandVersion is the version of the command encoding written to the
// Raft log. The FSM rejects (and logs at error level) versions it does not
// know instead of guessing at them. Rejecting is deterministic only among
// nodes of the same build, so a new version must not be proposed until
// every node understands it. Nothing enforces that yet: upgrade every node
// before using a change that needs a new version.
const commandVersion = 1

// op names one kind of replicated change.
type op string

const (
	opCreate  op = "create"
	opModify  op = "modify"
	opSetKeys op = "set_keys"
	opDelete  op = "delete"
	opSetLock op = "set_lock"
	// Cluster state rather than principals (tokens.go, cakey.go).
	opAddToken op = "add_token"
	opUseToken op = "use_token"
	opSetCAKey op = "set_ca_key"
	opImport   op = "import"
	// Password policies (policy.go).
	opSetPolicy    op = "set_policy"
	opDeletePolicy op = "delete_policy"
)

// command is one entry of the Raft log. It carries only sealed key
// material; everything a node needs to apply it deterministically (the
// time, the kvno the keys were sealed for) is decided by the proposer.
type command struct {
	Version int       `json:"v"`
	Op      op        `json:"op"`
	Time    time.Time `json:"time"`
	Name    string    `json:"name"`
	// IfRevision, when non-zero, makes the command fail with ErrConflict
	// unless the principal's revision is still this value.
	IfRevision uint64 `json:"if_revision,omitempty"`

	// KVNO is the version the Keys were sealed for (create, set_keys). The
	// FSM checks it is the next one rather than trusting it.
	KVNO uint32      `json:"kvno,omitempty"`
	Keys []sealedKey `json:"keys,omitempty"`

	Attributes       *Attributes    `json:"attributes,omitempty"`
	MaxLife          *time.Duration `json:"max_life,omitempty"`
	MaxRenewableLife *time.Duration `json:"max_renewable_life,omitempty"`
	Aliases          *[]string      `json:"aliases,omitempty"`
	Locked           *bool          `json:"locked,omitempty"`
	// Expires, PasswordExpires and Policy replace the principal's (a zero
	// time clears an expiration, "" the policy).
	Expires         *time.Time `json:"expires,omitempty"`
	PasswordExpires *time.Time `json:"password_expires,omitempty"`
	Policy          *string    `json:"policy,omitempty"`
	// EncTypes replaces the principal's enctype set (empty: the realm's).
	// A node built before this field ignores it, so upgrade every node
	// before using per-principal enctypes (see commandVersion).
	EncTypes *[]int32 `json:"enctypes,omitempty"`
	// Password marks keys derived from a password (create, set_keys): the
	// policy's history and max life apply. SelfService marks a principal
	// changing its own password, to which min life applies too.
	Password    bool `json:"password,omitempty"`
	SelfService bool `json:"self_service,omitempty"`
	// PasswordPolicy is the policy of set_policy (its name alone for
	// delete_policy).
	PasswordPolicy *PasswordPolicy `json:"password_policy,omitempty"`
	// Force lets delete remove a protected principal other than the
	// realm's krbtgt (which can never be deleted).
	Force bool `json:"force,omitempty"`

	// MasterKey is the payload of the master key rotation commands.
	MasterKey *masterKeyChange `json:"master_key,omitempty"`

	// Token is the join token of add_token and use_token.
	Token *joinTokenCmd `json:"token,omitempty"`
	// CAKey is the sealed cluster CA key of set_ca_key and cluster_ca_add.
	CAKey []byte `json:"ca_key,omitempty"`
	// ClusterCA is the payload of the credentials rotation commands.
	ClusterCA *caChange `json:"cluster_ca,omitempty"`
	// Import carries a whole import run (op import, see import.go).
	Import *importData `json:"import,omitempty"`
}

// sealedKey is a key as stored in the log and in snapshots.
type sealedKey struct {
	EType  int32  `json:"etype"`
	Salt   string `json:"salt"`
	Sealed []byte `json:"sealed"`
}

func encodeCommand(c *command) ([]byte, error) {
	c.Version = commandVersion
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %s command for %s: %w", c.Op, c.Name, err)
	}
	return b, nil
}

func decodeCommand(b []byte) (*command, error) {
	var c command
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("decode command: %w", err)
	}
	if c.Version != commandVersion {
		return nil, fmt.Errorf("decode command: version %d not supported (want %d)", c.Version, commandVersion)
	}
	return &c, nil
}

// applyResult is what FSM.Apply returns for every command; the proposer
// gets it back from the Raft future and type-checks it.
type applyResult struct {
	// Principal is the principal after the change (nil after delete).
	Principal *Principal
	// Err is the reason the command was rejected; nothing changed then.
	Err error
}
