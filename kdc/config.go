package kdc

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// Config is the `kdc` section of the agent configuration.
type Config struct {
	// Listen lists host:port addresses served over both UDP and TCP.
	// A wildcard host (0.0.0.0 or [::]) serves every address of the host,
	// including a VIP added later; replies leave from the address the
	// request arrived on. Default: ["0.0.0.0:88"].
	Listen []string `yaml:"listen"`
	// MaxLife is the realm's maximum ticket lifetime. Default 10h. It,
	// MaxRenewableLife and Lockout only seed the realm settings of the
	// replicated database (the first node's, see db.RealmSettings); once
	// the realm has some, the KDC applies those, and a value here that
	// differs is reported, not used.
	MaxLife time.Duration `yaml:"max_life"`
	// MaxRenewableLife is the realm's maximum renewable lifetime; 0 with
	// an explicit key disables renewable tickets. Default 168h (7 days).
	MaxRenewableLife *time.Duration `yaml:"max_renewable_life"`
	// ClockSkew is the tolerated client clock offset. Default 5m.
	ClockSkew time.Duration `yaml:"clock_skew"`
	// MaxUDPReply is the largest reply sent over UDP; larger replies become
	// KRB_ERR_RESPONSE_TOO_BIG so the client retries over TCP (MIT: 4096).
	// Default 4096.
	MaxUDPReply int `yaml:"max_udp_reply"`
	// RequestMaxAge drops, unanswered and counted as shed
	// (kdcha_kdc_shed_requests_total), a UDP request that waited longer
	// than this in the socket before a worker read it: its client has
	// retransmitted by then (MIT after 1 s, Heimdal and Java later), so
	// answering it would only burn the CPU that fresh requests need when
	// the KDC is overloaded. 0 disables. Default 1s, the first retry of
	// MIT clients. Not applied to kpasswd (see Kpasswd).
	RequestMaxAge time.Duration `yaml:"request_max_age"`
	// TCPBacklog is the listen backlog. MIT's default of 5 drops
	// connections under a login storm; default 1024 (the kernel caps it at
	// net.core.somaxconn).
	TCPBacklog int `yaml:"tcp_backlog"`
	// TCPMaxRequest caps one TCP request; a longer length prefix is refused
	// before anything is allocated. Default 262144 (256 KiB).
	TCPMaxRequest int `yaml:"tcp_max_request"`
	// TCPIdleTimeout closes a TCP connection that starts no new request
	// for this long after its previous reply. Default 30s.
	TCPIdleTimeout time.Duration `yaml:"tcp_idle_timeout"`
	// TCPRequestTimeout is how long a client has to send a complete
	// request: a new connection its first one, a later request from its
	// first byte; it also bounds writing a reply. A connection that trickles
	// bytes (slow loris) is closed after it. Default 5s.
	TCPRequestTimeout time.Duration `yaml:"tcp_request_timeout"`
	// TCPMaxConnections caps concurrent TCP connections. At the cap a new
	// connection closes the least recently active one that is not handling
	// a request (as MIT does); it is refused only when all are. Default 1024.
	TCPMaxConnections int `yaml:"tcp_max_connections"`
	// TCPMaxConnectionsPerSource caps concurrent TCP connections from one
	// IP address (loopback included). At the cap a new one replaces the
	// address's least recently active idle connection; it is refused only
	// when all of them are handling requests. Default 64.
	TCPMaxConnectionsPerSource int `yaml:"tcp_max_connections_per_source"`
	// Lockout locks a principal requiring preauth after max_failures failed
	// preauthentications within window, counted per node (as MIT, FreeIPA
	// and AD do). Only the lock itself is replicated; an admin clears it
	// with `kdcha principal modify NAME --unlock`. Default: off.
	Lockout LockoutPolicy `yaml:"lockout"`
	// KpasswdListen lists the host:port addresses of the password-change
	// service (kpasswd, RFC 3244), served over UDP and TCP with the same
	// socket behaviour as the KDC. Default: the hosts of listen with port
	// 464 (port 0, a free one, where listen's port is 0).
	KpasswdListen []string `yaml:"kpasswd_listen"`
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	// The realm settings' defaults are the database's (one home for them).
	renew := db.DefaultRealmSettings.MaxRenewableLife
	return Config{
		Listen:                     []string{"0.0.0.0:88"},
		MaxLife:                    db.DefaultRealmSettings.MaxLife,
		MaxRenewableLife:           &renew,
		ClockSkew:                  5 * time.Minute,
		MaxUDPReply:                4096,
		RequestMaxAge:              time.Second,
		TCPBacklog:                 1024,
		TCPMaxRequest:              256 << 10,
		TCPIdleTimeout:             30 * time.Second,
		TCPRequestTimeout:          5 * time.Second,
		TCPMaxConnections:          1024,
		TCPMaxConnectionsPerSource: 64,
	}
}

// Validate checks the section; messages name the offending key.
func (c Config) Validate() error {
	var errs []error
	if len(c.Listen) == 0 {
		errs = append(errs, errors.New("kdc.listen: at least one address is required"))
	}
	for i, a := range c.Listen {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("kdc.listen[%d]: %q is not host:port: %w", i, a, err))
		}
	}
	for i, a := range c.KpasswdListen {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("kdc.kpasswd_listen[%d]: %q is not host:port: %w", i, a, err))
		}
	}
	if c.MaxLife <= 0 {
		errs = append(errs, fmt.Errorf("kdc.max_life: must be positive, got %s", c.MaxLife))
	}
	if c.MaxRenewableLife != nil && *c.MaxRenewableLife < 0 {
		errs = append(errs, fmt.Errorf("kdc.max_renewable_life: must not be negative, got %s", *c.MaxRenewableLife))
	}
	if c.ClockSkew <= 0 {
		errs = append(errs, fmt.Errorf("kdc.clock_skew: must be positive, got %s", c.ClockSkew))
	}
	if c.MaxUDPReply < 512 || c.MaxUDPReply > 65507 {
		errs = append(errs, fmt.Errorf("kdc.max_udp_reply: must be between 512 and 65507, got %d", c.MaxUDPReply))
	}
	if c.RequestMaxAge < 0 {
		errs = append(errs, fmt.Errorf("kdc.request_max_age: must not be negative, got %s", c.RequestMaxAge))
	}
	if c.TCPBacklog < 1 {
		errs = append(errs, fmt.Errorf("kdc.tcp_backlog: must be at least 1, got %d", c.TCPBacklog))
	}
	if c.TCPMaxRequest < 1024 || c.TCPMaxRequest > 16<<20 {
		errs = append(errs, fmt.Errorf("kdc.tcp_max_request: must be between 1024 and 16777216, got %d", c.TCPMaxRequest))
	}
	if c.TCPIdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("kdc.tcp_idle_timeout: must be positive, got %s", c.TCPIdleTimeout))
	}
	if c.TCPRequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("kdc.tcp_request_timeout: must be positive, got %s", c.TCPRequestTimeout))
	}
	if c.TCPMaxConnections < 1 {
		errs = append(errs, fmt.Errorf("kdc.tcp_max_connections: must be at least 1, got %d", c.TCPMaxConnections))
	}
	if c.TCPMaxConnectionsPerSource < 1 {
		errs = append(errs, fmt.Errorf("kdc.tcp_max_connections_per_source: must be at least 1, got %d", c.TCPMaxConnectionsPerSource))
	}
	if c.Lockout.MaxFailures < 0 {
		errs = append(errs, fmt.Errorf("kdc.lockout.max_failures: must not be negative, got %d", c.Lockout.MaxFailures))
	}
	if c.Lockout.Duration < 0 {
		errs = append(errs, fmt.Errorf("kdc.lockout.duration: must not be negative, got %s", c.Lockout.Duration))
	}
	if c.Lockout.Window < 0 {
		errs = append(errs, fmt.Errorf("kdc.lockout.window: must not be negative, got %s", c.Lockout.Window))
	}
	return errors.Join(errs...)
}

// Policy returns the realm ticket limits of this section.
func (c Config) Policy() Policy {
	p := Policy{MaxLife: c.MaxLife, ClockSkew: c.ClockSkew}
	if c.MaxRenewableLife != nil {
		p.MaxRenewableLife = *c.MaxRenewableLife
	}
	return p
}

// KpasswdPort is the well-known port of the password-change service.
const KpasswdPort = "464"

// Kpasswd returns the section with Listen replaced by the addresses of the
// password-change service (KpasswdListen or its default), for kdc.Listen.
// RequestMaxAge does not apply there: a password change waits on a Raft
// write, so one may well be queued behind another for a second, and its
// retransmission is answered from the replay cache anyway.
func (c Config) Kpasswd() Config {
	k := c
	k.RequestMaxAge = 0
	k.Listen = c.KpasswdListen
	if len(k.Listen) == 0 {
		k.Listen = nil
		for _, a := range c.Listen {
			host, port, err := net.SplitHostPort(a)
			if err != nil {
				continue // Validate reports it
			}
			if port != "0" {
				port = KpasswdPort
			}
			k.Listen = append(k.Listen, net.JoinHostPort(host, port))
		}
	}
	return k
}
