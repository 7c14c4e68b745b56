package node

import (
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kdcha/kdcha/health"
	"github.com/kdcha/kdcha/vrrp"
)

// The agent's failover defaults where they differ from keepalived's (which
// vrrp.DefaultInstanceConfig keeps, for the keepalived import and for
// mixed clusters). Chosen from the scenario table (deploy/scenarios.sh;
// figures in the README's "Failover timing"): with keepalived's v2 and
// 1 s adverts the VIP leaves a crashed or unreachable master after ~3.1 s
// and a hung KDC after ~1.5 s (a backup preempts a lowered master only
// when its next advert is due); with v3 and 100 ms adverts after ~0.3 s
// and ~0.45 s. The cost: on a host starved of CPU, backups contend more
// (see vrrp.realtime_priority). Mode keepalived keeps keepalived's
// defaults: its peers are usually keepalived, which runs v2 at 1 s unless
// told otherwise, and a v3 node beside it would drop their adverts and be
// MASTER alongside them.
const (
	// DefaultVRRPVersion is an instance's VRRP version when the config
	// gives none. Set version: 2 to run beside keepalived's defaults.
	DefaultVRRPVersion = vrrp.Version3
	// DefaultProbeTransport is the transport of the agent's own kinit
	// probe: a KDC at capacity may drop a UDP probe datagram with its
	// clients' (busy, not hung), which moved the VIP off a busy master in
	// the scenario table, while a TCP probe's segments are retransmitted;
	// hangs are caught from inside by kdc-progress either way.
	DefaultProbeTransport = health.TransportTCP
)

// DefaultAdvertInterval is an instance's advert interval when the config
// gives none: 1 s for version 2 (whole seconds only; keepalived's
// default), 100 ms for version 3.
func DefaultAdvertInterval(v vrrp.Version) time.Duration {
	if v == vrrp.Version2 {
		return time.Second
	}
	return 100 * time.Millisecond
}

// applyVRRPDefaults gives every instance that does not set them the
// agent's version and advert interval (the decoder already filled
// keepalived's, so root, the parsed file, tells which keys were given). In
// mode keepalived the instances keep keepalived's.
func applyVRRPDefaults(root *yaml.Node, cfg *Config) {
	if len(root.Content) == 0 || !cfg.Mode.embedsKDC() {
		return
	}
	list := mappingValue(mappingValue(root.Content[0], "vrrp"), "instances")
	for i := range cfg.VRRP.Instances {
		var item *yaml.Node
		if list != nil && list.Kind == yaml.SequenceNode && i < len(list.Content) {
			item = list.Content[i]
		}
		in := &cfg.VRRP.Instances[i]
		if mappingValue(item, "version") == nil {
			in.Version = int(DefaultVRRPVersion)
		}
		if mappingValue(item, "advert_interval") == nil {
			in.AdvertInterval = DefaultAdvertInterval(vrrp.Version(in.Version))
		}
	}
}
