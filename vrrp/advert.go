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
		if m.state == StateMaster && !m.resigning {
			// kdcha never hears its own adverts (multicast loopback is
			// off, unicast goes to the peers), so this one was forged in
			// this master's name, most likely a lower priority or a
			// resignation meant to make a backup take over. Re-advertise
			// the real priority at once: the backups wait their skew time
			// before such a takeover, and this advert cancels it.
			m.assert(now, out, false)
		}
		return fmt.Errorf("%w: from %v", ErrOwnAdvert, a.Src)
	}
	if m.p.Version == Version2 && a.Interval != m.p.AdvertInterval {
		return fmt.Errorf("%w: %v from %v, configured %v", ErrIntervalMismatch, a.Interval, a.Src, m.p.AdvertInterval)
	}
	switch {
	case m.state == StateBackup:
		return m.backupAdvert(now, a, out)
	case m.resigning:
		if a.Priority > 0 {
			// Only a master advertises: the successor has the addresses.
			m.endResign(out, ReasonSuccessor)
		}
		return nil
	}
	m.masterAdvert(now, a, out)
	return nil
}

func (m *Machine) backupAdvert(now time.Time, a AdvertReceived, out *Output) error {
	local := m.Priority()
	// Any host on the LAN can forge an advertisement. Takeovers that an
	// advert triggers early (below) follow only the master this backup
	// hears, wait until the master's next advert is due (which contradicts
	// a forged one, see earlyWait), and are held off for a while after a
	// forgery shows (see flapHold). The down timer, which
	// forged adverts never reset, and a real higher-priority master are not
	// affected.
	fromMaster := !m.master.IsValid() || a.Src == m.master
	held := now.Before(m.holdUntil)
	pending := m.takeoverPendingFrom(a.Src)
	if a.Priority == 0 {
		switch {
		case !fromMaster:
			return fmt.Errorf("%w: resignation from %v while %v is master", ErrNotMaster, a.Src, m.master)
		case pending:
			return nil // a resigning master repeats itself: keep the deadline
		}
		// The master resigned: take over after the skew only, so the best
		// backup goes first without waiting three intervals. After a
		// forgery the resignation may be forged too: wait the whole down
		// interval, which the real master's next advert resets.
		wait := m.earlyWait(now, local)
		if held {
			wait = m.MasterDownInterval()
		}
		m.armTakeover(now, wait, ReasonMasterResigned, a.Src)
		m.master = netip.Addr{}
		return nil
	}
	mayPreempt := m.p.Priority == OwnerPriority || !m.p.NoPreempt
	if a.Priority < local && mayPreempt {
		// RFC 5798 discards a lower-priority advertisement and lets the down
		// timer decide; kdcha may take over early, but only from the master.
		switch {
		case !fromMaster:
			return fmt.Errorf("%w: priority %d from %v while %v is master", ErrNotMaster, a.Priority, a.Src, m.master)
		case held:
			return fmt.Errorf("%w: priority %d from %v until %v", ErrPreemptHeld, a.Priority, a.Src, m.holdUntil.Format(time.RFC3339))
		case pending && m.downReason == ReasonPreempt:
			return nil // the lowered master repeats itself: keep the deadline
		}
	}
	if pending && a.Priority >= local {
		// The router whose lower priority or resignation armed a takeover
		// now says the opposite: one of the two adverts was forged (a
		// kdcha master answers adverts forged in its name at once). Stay
		// backup, and distrust such adverts for a while.
		m.holdUntil = now.Add(flapHold)
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
		// checks already judged worse, so take over after the skew time
		// only: as after a resignation, the backup with the highest
		// priority goes first and its advert stops the others, and the old
		// master yields as soon as it hears this router's higher priority,
		// as any RFC router (keepalived included) does.
		m.armTakeover(now, m.earlyWait(now, local), ReasonPreempt, a.Src)
		return nil
	}
	if m.p.Version == Version3 {
		m.masterAdverInterval = a.Interval
	}
	m.heardAt = now
	m.armMasterDown(now, m.MasterDownInterval(), ReasonMasterDown)
	return nil
}

// earlyWait is how long a backup waits before a takeover that a lowered
// priority or a resignation from its master triggers: until the master's
// next periodic advert is due, plus the skew time. Ordered by the skew,
// the backup with the highest priority goes first and its advert stops the
// others. And a forger cannot stop the real master's next advert, which
// contradicts a forged one in time (a kdcha master contradicts adverts
// forged in its name at once, when it hears them); a real lowered or
// resigning master sends no such advert. Costs a real priority drop on
// average half an advert interval.
func (m *Machine) earlyWait(now time.Time, local uint8) time.Duration {
	wait := skewTime(m.p.Version, local, m.masterAdverInterval)
	if !m.heardAt.IsZero() {
		wait += max(0, m.heardAt.Add(m.masterAdverInterval).Sub(now))
	}
	return wait
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
	case !m.preemptAt.IsZero():
		return !now.Before(m.preemptAt)
	case m.p.PreemptDelay == 0:
		return true
	default:
		m.preemptAt = now.Add(m.p.PreemptDelay)
		return false
	}
}

func (m *Machine) masterAdvert(now time.Time, a AdvertReceived, out *Output) {
	local := m.Priority()
	switch {
	case a.Priority == 0:
		// Another master resigned: assert mastership at once so backups
		// do not take over after their skew.
		m.assert(now, out, false)
	case a.Priority > local, a.Priority == local && a.Src.Compare(m.p.PrimaryIP) > 0:
		reason := ReasonHigherPriority
		if a.Priority == local {
			reason = ReasonTieBreak
		}
		if m.p.Version == Version3 {
			m.masterAdverInterval = a.Interval
		}
		m.preemptAt = time.Time{}
		if !m.advertMasterAt.IsZero() && now.Sub(m.advertMasterAt) < m.MasterDownInterval() {
			// An advert made this router master and a better one took it
			// back at once: a flap, as forged adverts cause. Hold off
			// advert-triggered takeovers for a while.
			m.holdUntil = now.Add(flapHold)
		}
		// keepalived's higher_prio_send_advert, always on: the winner
		// hears a lower priority and re-announces the addresses, which
		// heals ARP caches after a split brain.
		out.Actions = append(out.Actions, SendAdvert{local})
		m.becomeBackup(now, out, reason)
		m.master = a.Src
		m.heardAt = now
	default:
		// Two masters, and this one wins: re-advertise and re-announce the
		// addresses at once (keepalived "forcing new election" plus
		// garp_lower_prio_repeat), so the loser steps down and caches
		// that followed it come back.
		m.assert(now, out, true)
	}
}

// assert answers another master (or a resignation) with an advert at once,
// and a GARP burst if garp, at most once per advert interval: a real peer
// sends one advert per interval, a forger can send thousands.
func (m *Machine) assert(now time.Time, out *Output, garp bool) {
	if now.Before(m.assertAt) {
		return
	}
	m.assertAt = now.Add(m.p.AdvertInterval)
	m.sendAdvertNow(now, out)
	if garp {
		out.Actions = append(out.Actions, SendGARP{m.p.GARPRepeat})
	}
}

func (m *Machine) sendAdvertNow(now time.Time, out *Output) {
	out.Actions = append(out.Actions, SendAdvert{m.Priority()})
	m.advertAt = now.Add(m.p.AdvertInterval)
}
