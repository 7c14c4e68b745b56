package vrrp

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus metrics of the VRRP instances:
//
//	kdcha_vrrp_state{instance,state}                  1 for the current state (INIT, BACKUP, MASTER, FAULT), else 0
//	kdcha_vrrp_priority{instance}                     effective priority
//	kdcha_vrrp_transitions_total{instance,state}      transitions into each state
//	kdcha_vrrp_adverts_sent_total{instance}           adverts sent (one per destination)
//	kdcha_vrrp_adverts_received_total{instance}       valid adverts for this VRID
//	kdcha_vrrp_adverts_discarded_total{instance,reason} adverts the state machine ignored
//	kdcha_vrrp_packets_invalid_total{interface,reason}  packets that failed validation
//	kdcha_vrrp_send_errors_total{instance}            adverts that could not be sent
//	kdcha_vrrp_master_conflicts_total{instance}       adverts from another master heard while MASTER (split brain)
//	kdcha_vrrp_announcements_total{instance}          GARP / NA bursts sent
//
// A nil *Metrics records nothing, so tests and tools can run instances
// without a registry.
type Metrics struct {
	state       *prometheus.GaugeVec
	priority    *prometheus.GaugeVec
	transitions *prometheus.CounterVec
	sent        *prometheus.CounterVec
	received    *prometheus.CounterVec
	discarded   *prometheus.CounterVec
	invalid     *prometheus.CounterVec
	sendErrors  *prometheus.CounterVec
	conflicts   *prometheus.CounterVec
	announce    *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &Metrics{
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kdcha_vrrp_state", Help: "1 for the VRRP instance's current state, else 0.",
		}, []string{"instance", "state"}),
		priority: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kdcha_vrrp_priority", Help: "Effective VRRP priority (base plus tracker weights, clamped).",
		}, []string{"instance"}),
		transitions: counter("kdcha_vrrp_transitions_total", "VRRP state transitions by state entered.", "instance", "state"),
		sent:        counter("kdcha_vrrp_adverts_sent_total", "VRRP advertisements sent, one per destination.", "instance"),
		received:    counter("kdcha_vrrp_adverts_received_total", "Valid VRRP advertisements received for the instance's VRID.", "instance"),
		discarded:   counter("kdcha_vrrp_adverts_discarded_total", "VRRP advertisements ignored by the state machine.", "instance", "reason"),
		invalid:     counter("kdcha_vrrp_packets_invalid_total", "Received VRRP packets that failed validation.", "interface", "reason"),
		sendErrors:  counter("kdcha_vrrp_send_errors_total", "VRRP advertisements that could not be sent.", "instance"),
		conflicts:   counter("kdcha_vrrp_master_conflicts_total", "Advertisements from another master heard while MASTER.", "instance"),
		announce:    counter("kdcha_vrrp_announcements_total", "Gratuitous ARP / unsolicited NA bursts sent.", "instance"),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.state, m.priority, m.transitions, m.sent, m.received,
		m.discarded, m.invalid, m.sendErrors, m.conflicts, m.announce} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register vrrp metrics: %w", err)
	}
	return m, nil
}

func (m *Metrics) setStatus(instance string, s Status) {
	if m == nil {
		return
	}
	for _, st := range []State{StateInitialize, StateBackup, StateMaster, StateFault} {
		v := 0.0
		if st == s.State {
			v = 1
		}
		m.state.WithLabelValues(instance, st.String()).Set(v)
	}
	m.priority.WithLabelValues(instance).Set(float64(s.Priority))
}

func (m *Metrics) transition(instance string, to State) {
	if m != nil {
		m.transitions.WithLabelValues(instance, to.String()).Inc()
	}
}

func (m *Metrics) advertSent(instance string, err error) {
	switch {
	case m == nil:
	case err != nil:
		m.sendErrors.WithLabelValues(instance).Inc()
	default:
		m.sent.WithLabelValues(instance).Inc()
	}
}

func (m *Metrics) advertReceived(instance string, conflict bool) {
	if m == nil {
		return
	}
	m.received.WithLabelValues(instance).Inc()
	if conflict {
		m.conflicts.WithLabelValues(instance).Inc()
	}
}

func (m *Metrics) advertDiscarded(instance string, err error) {
	if m != nil {
		m.discarded.WithLabelValues(instance, reasonLabel(err)).Inc()
	}
}

func (m *Metrics) packetInvalid(iface string, err error) {
	if m != nil {
		m.invalid.WithLabelValues(iface, reasonLabel(err)).Inc()
	}
}

func (m *Metrics) announced(instance string) {
	if m != nil {
		m.announce.WithLabelValues(instance).Inc()
	}
}

// reasonLabels name the sentinel errors in metric labels; anything else is
// "other" so the label set stays bounded.
var reasonLabels = []struct {
	err   error
	label string
}{
	{ErrShort, "short"}, {ErrLength, "length"}, {ErrVersion, "version"}, {ErrType, "type"},
	{ErrVRID, "vrid"}, {ErrAddrCount, "addr_count"}, {ErrAddrFamily, "addr_family"},
	{ErrInterval, "interval"}, {ErrAuthType, "auth_type"}, {ErrChecksum, "checksum"},
	{ErrTTL, "ttl"}, {ErrProtocol, "protocol"}, {ErrIntervalMismatch, "interval_mismatch"},
	{ErrOwnAdvert, "own_advert"}, {ErrNotMaster, "not_master"}, {ErrPreemptHeld, "preempt_held"},
}

func reasonLabel(err error) string {
	for _, r := range reasonLabels {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return "other"
}
