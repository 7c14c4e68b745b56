package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// advert handles a received advertisement (RFC 5798 sections 6.4.2 and
// 6.4.3, with keepalived's additions noted inline). It returns the reason
// the advertisement was discarded, if it was.
func (m *Machine) advert(now time.Time, a AdvertReceived, out *Output) error {
	if m.state != StateBackup && m.state != StateMaster {
		return nil // Initialize and Fault ignore advertisements.
	}
	if a.Src == m.p.PrimaryIP {
		return fmt.Errorf("%w: from %v", ErrOwnAdvert, a.Src)
	}
	if m.p.Version == Version2 && a.Interval != m.p.AdvertInterval {
		return fmt.Errorf("%w: %v from %v, configured %v", ErrIntervalMismatch, a.Interval, a.Src, m.p.AdvertInterval)
	}
	if m.state == StateBackup {
		return m.backupAdvert(now, a, out)
	}
	m.masterAdvert(now, a, out)
	return nil
}

func (m *Machine) backupAdvert(now time.Time, a AdvertReceived, out *Output) error {
	local := m.Priority()
	if a.Priority == 0 {
		// The master resigned: take over after the skew only, so the best
		// backup goes first without waiting three intervals.
		m.armMasterDown(now, skewTime(m.p.Version, local, m.masterAdverInterval), ReasonMasterResigned)
		m.master = netip.Addr{}
		return nil
	}
	m.master = a.Src
	if a.Priority > local {
		// As keepalived: a better master cancels the preempt delay, which
		// starts again with the next lower-priority master.
		m.preemptAt = time.Time{}
	}
	if a.Priority < local && m.mayPreempt(now) {
		// RFC 5798 discards the advertisement and lets the down timer run
		// out (3 intervals + skew) before this backup takes over. For a KDC
		// every second of that is clients timing out on a master the health
		// checks already judged worse, so take over now: the old master
		// yields as soon as it hears this router's higher priority, as any
		// RFC router (keepalived included) does.
		m.becomeMaster(now, out, ReasonPreempt)
		return nil
	}
	if m.p.Version == Version3 {
		m.masterAdverInterval = a.Interval
	}
	m.armMasterDown(now, m.MasterDownInterval(), ReasonMasterDown)
	return nil
}

// mayPreempt reports whether a backup may take over from a lower-priority
// master now, starting the preempt delay if it is not running. The owner
// always may (RFC 5798 section 6.1).
func (m *Machine) mayPreempt(now time.Time) bool {
	switch {
	case m.p.Priority == OwnerPriority:
		return true
	case m.p.NoPreempt:
		return false
	case m.p.PreemptDelay == 0:
		return true
	case m.preemptAt.IsZero():
		m.preemptAt = now.Add(m.p.PreemptDelay)
		return false
	}
	return !now.Before(m.preemptAt)
}

func (m *Machine) masterAdvert(now time.Time, a AdvertReceived, out *Output) {
	local := m.Priority()
	switch {
	case a.Priority == 0:
		// Another master resigned: assert mastership at once so backups
		// do not take over after their skew.
		m.sendAdvertNow(now, out)
	case a.Priority > local, a.Priority == local && a.Src.Compare(m.p.PrimaryIP) > 0:
		reason := ReasonHigherPriority
		if a.Priority == local {
			reason = ReasonTieBreak
		}
		if m.p.Version == Version3 {
			m.masterAdverInterval = a.Interval
		}
		m.preemptAt = time.Time{}
		// keepalived's higher_prio_send_advert, always on: the winner
		// hears a lower priority and re-announces the addresses, which
		// heals ARP caches after a split brain.
		out.Actions = append(out.Actions, SendAdvert{local})
		m.becomeBackup(now, out, reason)
		m.master = a.Src
	default:
		// Two masters, and this one wins: re-advertise and re-announce the
		// addresses at once (keepalived "forcing new election" plus
		// garp_lower_prio_repeat), so the loser steps down and caches
		// that followed it come back.
		m.sendAdvertNow(now, out)
		out.Actions = append(out.Actions, SendGARP{m.p.GARPRepeat})
	}
}

func (m *Machine) sendAdvertNow(now time.Time, out *Output) {
	out.Actions = append(out.Actions, SendAdvert{m.Priority()})
	m.advertAt = now.Add(m.p.AdvertInterval)
}
