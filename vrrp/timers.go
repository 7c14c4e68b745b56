package vrrp

import "time"

// downTimerAdverts is how many advertisement intervals a backup waits
// before declaring the master down (RFC 5798 section 6.1; keepalived's
// down_timer_adverts default).
const downTimerAdverts = 3

// skewTime is how much longer a lower-priority backup waits than a
// higher-priority one, so the best backup takes over first. It is computed
// in microseconds with integer division, exactly as keepalived does
// (include/vrrp.h), so both implementations agree on who goes first:
// v3: (256 - prio) * masterAdverInterval / 256; v2: (256 - prio) / 256 s.
func skewTime(v Version, prio uint8, masterAdverInterval time.Duration) time.Duration {
	base := time.Second
	if v == Version3 {
		base = masterAdverInterval
	}
	us := (256 - int64(prio)) * base.Microseconds() / 256
	return time.Duration(us) * time.Microsecond
}

// masterDownInterval is how long a backup waits without advertisements
// before becoming master: 3 x Master_Adver_Interval + Skew_Time.
func masterDownInterval(v Version, prio uint8, masterAdverInterval time.Duration) time.Duration {
	return downTimerAdverts*masterAdverInterval + skewTime(v, prio, masterAdverInterval)
}
