package db

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Password expiry follows the policy. A principal's password expiration is
// its last password change plus the max life of the policy that governs
// it (never when that is 0), and the FSM keeps it so:
//
//   - on every password set (setPasswordTimes);
//   - when a principal's policy is assigned, changed or cleared, unless
//     the same command sets the expiration explicitly (as MIT's
//     kadm5_modify_principal does);
//   - when a policy is stored or deleted and that changes the max life
//     governing principals, for every one of them whose expiration still
//     is what the old max life made it: one an administrator set
//     (`--password-expires`, a forced change) is theirs and stays.
//
// An MIT import is the exception: it brings its principals' expirations
// with their policies and recomputes nothing, not even for principals it
// does not carry whose policy it replaces (overwrite); their next password
// change, or the next change of that policy, brings them in line.
//
// The last case departs from MIT, which recomputes nothing on `modpol
// -maxlife` and leaves every principal with the expiry of its old policy
// until its next password change: tightening a policy after an incident
// then protects nobody for months, and loosening it still expires
// passwords that are meant to be valid. Doing it in the FSM, from the
// command's time and the replicated state only, keeps every replica in
// agreement. A principal whose password change time is unknown (random
// keys, or set before kdcha recorded it) has no password to age: its
// expiration is left as it is.

// passwordExpiry is when a password set at changed expires under pol;
// ok is false when changed is unknown.
func passwordExpiry(changed time.Time, pol PasswordPolicy) (exp time.Time, ok bool) {
	if changed.IsZero() {
		return time.Time{}, false
	}
	if pol.MaxLife == 0 {
		return time.Time{}, true
	}
	return changed.Add(pol.MaxLife), true
}

// followPolicy recomputes rec's password expiration from its policy (in
// policies) after an assignment; f.mu is held.
func followPolicy(rec *record, policies map[string]PasswordPolicy) {
	if exp, ok := passwordExpiry(rec.PasswordChanged, effectivePolicy(policies, rec.Policy)); ok {
		rec.PasswordExpires = exp
	}
}

// replacePolicies makes after the policies, recomputing the password
// expiration of every principal whose governing max life differs from
// before. Records change in name order, so every replica numbers their
// revisions alike; nothing changes if one of them cannot be stored. f.mu
// is held.
func (f *fsm) replacePolicies(after map[string]PasswordPolicy, t time.Time) error {
	before := f.st.policies
	var names []string
	for name, r := range f.st.records {
		if effectivePolicy(before, r.Policy).MaxLife != effectivePolicy(after, r.Policy).MaxLife {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var recs []*record
	var ps []*Principal
	for _, name := range names {
		old := f.st.records[name]
		if derived, ok := passwordExpiry(old.PasswordChanged, effectivePolicy(before, old.Policy)); !ok || !derived.Equal(old.PasswordExpires) {
			continue // no password to age, or an expiration set by hand
		}
		exp, _ := passwordExpiry(old.PasswordChanged, effectivePolicy(after, old.Policy))
		if exp.Equal(old.PasswordExpires) {
			continue
		}
		cur, ok := f.index.Lookup(name)
		if !ok {
			return fmt.Errorf("policy change: %s is stored but not indexed", name)
		}
		rec := *old
		rec.PasswordExpires = exp
		rec.Modified = t
		rec.Revision = f.st.revision + uint64(len(recs)) + 1
		// Only these fields change: the indexed principal is copied, not
		// unsealed again (a default policy's change can touch the whole
		// realm, under the FSM's lock).
		p := *cur
		p.PasswordExpires, p.Modified, p.Revision = rec.PasswordExpires, rec.Modified, rec.Revision
		recs, ps = append(recs, &rec), append(ps, &p)
	}
	for i, rec := range recs {
		f.st.revision = rec.Revision
		f.st.records[rec.Name] = rec
		f.index.put(ps[i], rec.Aliases)
	}
	if len(recs) > 0 {
		f.log.Info("password expirations follow the policy change", "principals", len(recs))
	}
	f.st.policies = after
	return nil
}

// withPolicy returns a copy of policies with p stored.
func withPolicy(policies map[string]PasswordPolicy, p PasswordPolicy) map[string]PasswordPolicy {
	out := maps.Clone(policies)
	out[p.Name] = p
	return out
}
