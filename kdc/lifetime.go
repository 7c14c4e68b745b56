package kdc

import (
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
)

// ticketTimes are the validity times of a ticket being issued.
type ticketTimes struct {
	start     time.Time
	end       time.Time
	renewTill time.Time // zero unless renewable
	renewable bool
}

// lifetimeRequest is what a request asks for and what limits apply to it.
type lifetimeRequest struct {
	now          time.Time
	till         time.Time // requested end; zero or the epoch means "as long as allowed"
	rtime        time.Time // requested renew-till; same convention
	renewable    bool      // RENEWABLE option
	renewableOK  bool      // RENEWABLE-OK option
	maxLife      time.Duration
	maxRenew     time.Duration
	noRenew      bool         // a principal disallows renewable tickets
	parent       *ticketTimes // the TGT, for TGS requests: caps end and renew-till
	parentRenews bool         // the TGT is renewable
}

// isInfinite reports whether a KerberosTime means "no limit": absent, or the
// epoch (19700101000000Z), which MIT and Heimdal send for "maximum" and which
// is not time.Time's zero value.
func isInfinite(t time.Time) bool { return t.IsZero() || t.Unix() <= 0 }

// computeTimes applies MIT's rules (kdc_get_ticket_endtime and
// kdc_get_ticket_renewtime): end = min(till, parent end, start+max life);
// renewable if RENEWABLE was asked or RENEWABLE-OK was asked and till
// exceeded the allowed end; renew-till = min(rtime, parent renew-till,
// start+max renewable life), even when that is before the end time.
//
// When RENEWABLE is asked but a principal, the realm (max renewable life 0)
// or a non-renewable parent forbids renewing, MIT drops the flag. Java
// rejects such a reply as forged ("Message stream modified": KrbKdcRep
// requires RENEWABLE back whenever it asked), so kdcha sets the flag with
// renew-till no later than the end time: a ticket that can never be
// extended, which every client accepts and which grants nothing the policy
// forbids.
func computeTimes(r lifetimeRequest) (ticketTimes, *krbError) {
	start := r.now.Truncate(time.Second)
	end := start.Add(r.maxLife)
	if !isInfinite(r.till) && r.till.Before(end) {
		end = r.till.UTC().Truncate(time.Second)
	}
	if r.parent != nil && r.parent.end.Before(end) {
		end = r.parent.end
	}
	if !end.After(start) {
		return ticketTimes{}, newError(errorcode.KDC_ERR_NEVER_VALID, "requested end time %s is not after start %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	t := ticketTimes{start: start, end: end}

	var rtill time.Time
	switch {
	case r.renewable:
		rtill = r.rtime
	case r.renewableOK && (isInfinite(r.till) || r.till.After(end)):
		rtill = r.till
	default:
		return t, nil
	}
	limit := start.Add(r.maxRenew)
	if r.noRenew || r.maxRenew <= 0 || (r.parent != nil && !r.parentRenews) {
		if !r.renewable {
			return t, nil
		}
		limit = end
	}
	if r.parent != nil && r.parentRenews && r.parent.renewTill.Before(limit) {
		limit = r.parent.renewTill
	}
	if isInfinite(rtill) || rtill.After(limit) {
		rtill = limit
	}
	rtill = rtill.UTC().Truncate(time.Second)
	if !r.renewable && !rtill.After(end) {
		return t, nil
	}
	t.renewable = true
	t.renewTill = rtill
	return t, nil
}

// minLife combines the realm limit with optional per-principal caps
// (0 = no cap of its own).
func minLife(realm time.Duration, caps ...time.Duration) time.Duration {
	m := realm
	for _, c := range caps {
		if c > 0 && c < m {
			m = c
		}
	}
	return m
}
