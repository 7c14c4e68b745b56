package vrrp

import (
	"errors"
	"fmt"

	"github.com/kdcha/kdcha/vrrp/vip"
)

// Open builds an Instance for cfg on this host, the way the agent runs it:
// the source address (unicast_src_ip or PrimaryAddress), a raw socket of the
// VIPs' family (joined to the multicast group unless unicast_peers are
// set) and a vip.Manager for the interface. Sockets are opened in the
// calling thread's network namespace. The Instance's Run closes them when
// it returns. deps.Transport and deps.Addresses must be unset.
func Open(cfg InstanceConfig, deps InstanceDeps) (*Instance, error) {
	if deps.Transport != nil || deps.Addresses != nil {
		return nil, fmt.Errorf("vrrp: instance %s: Open makes its own transport and addresses", cfg.Name)
	}
	vips, err := cfg.VIPs()
	if err != nil {
		return nil, fmt.Errorf("vrrp: instance %s: %w", cfg.Name, err)
	}
	ipv6 := vips[0].Addr().Is6()
	primary, err := PrimaryAddress(cfg.Interface, ipv6, vips)
	if err != nil && cfg.UnicastSrcIP == "" {
		return nil, fmt.Errorf("vrrp: instance %s: %w", cfg.Name, err)
	}
	listen := ListenIPv4
	if ipv6 {
		listen = ListenIPv6
	}
	conn, err := listen(cfg.Interface, len(cfg.UnicastPeers) == 0)
	if err != nil {
		return nil, fmt.Errorf("vrrp: instance %s: %w", cfg.Name, err)
	}
	mgr, err := vip.New(cfg.Interface, vips)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("vrrp: instance %s: %w", cfg.Name, err), conn.Close())
	}
	deps.Transport, deps.Addresses = conn, mgr
	in, err := NewInstance(cfg, primary, deps)
	if err != nil {
		return nil, errors.Join(err, conn.Close(), mgr.Close())
	}
	in.owned = mgr
	return in, nil
}
