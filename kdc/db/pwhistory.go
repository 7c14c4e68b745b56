package db

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Password history, minimum and maximum life: the policy rules that need a
// principal's past. The FSM applies them to every password set (commands
// with Password), so every node reaches the same verdict from the same
// log, and a node with a stale view cannot let a reused password through.

// keyHash identifies a password key without holding it: SHA-256 over the
// enctype, salt and key. It stands in the history (which is replicated in
// the clear, unlike sealed keys) for a password the principal once had; a
// guess at it costs the string-to-key derivation, as a guess at an AS
// exchange captured off the wire does.
type keyHash struct {
	EType int32  `json:"etype"`
	Hash  []byte `json:"hash"`
}

func hashKey(k Key) keyHash {
	h := sha256.New()
	h.Write([]byte("kdcha password history\x00"))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(k.EType)))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(k.Salt))))
	h.Write([]byte(k.Salt))
	h.Write(k.Value)
	return keyHash{EType: k.EType, Hash: h.Sum(nil)}
}

func hashKeys(keys []Key) []keyHash {
	out := make([]keyHash, 0, len(keys))
	for _, k := range keys {
		out = append(out, hashKey(k))
	}
	return out
}

// sameKeys reports whether two key sets share a key (same enctype and salt
// derive the same key from the same password).
func sameKeys(a, b []keyHash) bool {
	for _, x := range a {
		for _, y := range b {
			if x.EType == y.EType && string(x.Hash) == string(y.Hash) {
				return true
			}
		}
	}
	return false
}

// applyPasswordRules checks a password set of old's principal to the keys
// of c against its policy and fills rec (the record after the change) with
// the new history, change time and password expiration. f.mu is held.
func (f *fsm) applyPasswordRules(c *command, old, rec *record) error {
	pol := effectivePolicy(f.st.policies, old.Policy)
	if c.SelfService && pol.MinLife > 0 && !old.PasswordChanged.IsZero() {
		if next := old.PasswordChanged.Add(pol.MinLife); c.Time.Before(next) {
			return pol.refuse("minlife", "changed %s ago, it may change again from %s (min life %s)",
				c.Time.Sub(old.PasswordChanged).Round(time.Second), next.Format(time.RFC3339), pol.MinLife)
		}
	}
	rec.History = nil
	if pol.History > 0 {
		newKeys, err := f.openKeys(rec.Name, c.KVNO, c.Keys)
		if err != nil {
			return err
		}
		cur, err := f.openKeys(old.Name, old.KVNO, old.Keys)
		if err != nil {
			return err
		}
		fresh, curHash := hashKeys(newKeys), hashKeys(cur)
		past := append([][]keyHash{curHash}, old.History...)
		past = past[:min(len(past), pol.History)]
		for _, h := range past {
			if sameKeys(fresh, h) {
				return pol.refuse("history", "the password is one of the last %d passwords of %s", pol.History, old.Name)
			}
		}
		// The current password joins the history; it holds History-1
		// entries, since the current password is checked anyway.
		rec.History = past[:min(len(past), pol.History-1)]
	}
	setPasswordTimes(rec, pol, c.Time)
	return nil
}

// setPasswordTimes records a password set at t: its time and, under a
// policy with a max life, when it expires.
func setPasswordTimes(rec *record, pol PasswordPolicy, t time.Time) {
	rec.PasswordChanged = t
	rec.PasswordExpires, _ = passwordExpiry(t, pol)
}

// maxHistory bounds a policy's history, and so what one record carries
// (MIT has no bound; real policies keep 5 to 24).
const maxHistory = 100
