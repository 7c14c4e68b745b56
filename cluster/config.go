package cluster

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Defaults applied by WithDefaults to keys left at zero.
const (
	DefaultDialTimeout    = 5 * time.Second
	DefaultRequestTimeout = 10 * time.Second
)

// Config is the `cluster:` section of the agent configuration:
//
//	cluster:
//	  listen: 192.0.2.1:7946      # TLS listener for Raft, RPC and joins
//	  advertise: 192.0.2.1:7946   # what peers dial; default listen
//	  dial_timeout: 5s
//	  request_timeout: 10s
type Config struct {
	// Listen is the host:port of the node's one cluster listener (Raft,
	// member RPC and joins, told apart by ALPN). Required. A wildcard host
	// is allowed only together with Advertise.
	Listen string `yaml:"listen"`
	// Advertise is the host:port other members dial to reach this node;
	// it is also the node's Raft address. Default: Listen. It must name a
	// specific host, not a wildcard.
	Advertise string `yaml:"advertise"`
	// DialTimeout bounds a TCP connect plus TLS handshake to a member;
	// default 5s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// RequestTimeout bounds one forwarded write, status or join call to a
	// member, including its commit on the leader; default 10s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
}

// WithDefaults returns c with zero values replaced by the defaults.
func (c Config) WithDefaults() Config {
	if c.Advertise == "" {
		c.Advertise = c.Listen
	}
	// Only zero means "unset": a negative value is a typo that Validate
	// reports rather than a default that hides it.
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	return c
}

// Validate checks c; each message starts with the key it concerns
// ("cluster.listen: ..."). Call it on the result of WithDefaults.
func (c Config) Validate() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("cluster.listen: required (host:port of the cluster TLS listener)"))
	} else if _, _, err := splitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("cluster.listen: %w", err))
	}
	if c.Advertise == "" && c.Listen != "" {
		errs = append(errs, errors.New("cluster.advertise: required"))
	} else if c.Advertise != "" {
		if err := checkAdvertise(c.Advertise); err != nil {
			errs = append(errs, fmt.Errorf("cluster.advertise: %w", err))
		}
	}
	if c.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("cluster.dial_timeout: %s is negative", c.DialTimeout))
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("cluster.request_timeout: %s is negative", c.RequestTimeout))
	}
	return errors.Join(errs...)
}

// checkAdvertise accepts a host:port that peers can dial: a specific host
// and a non-zero port.
func checkAdvertise(addr string) error {
	host, port, err := splitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return fmt.Errorf("%q is a wildcard; peers need a specific address (set cluster.advertise)", addr)
	}
	if port == 0 {
		return fmt.Errorf("%q: port 0 cannot be dialed", addr)
	}
	return nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("%q: port %q is not a number 0-65535", addr, p)
	}
	return host, int(port), nil
}
