package bench

import (
	"errors"
	"fmt"
	"time"
)

// Mode is the kind of request sent.
type Mode string

// The modes: an AS-REQ without pre-authentication (answered with
// PREAUTH_REQUIRED or, for a client that does not need it, an AS-REP), an
// AS-REQ with a fresh PA-ENC-TIMESTAMP (a full AS exchange), and a TGS-REQ
// for Config.Service with a TGT obtained once at the start.
const (
	ModeAS        Mode = "as"
	ModeASPreauth Mode = "as-preauth"
	ModeTGS       Mode = "tgs"
)

// Config is one benchmark run.
type Config struct {
	// KDC is the host:port to load; only loopback and test addresses
	// belong here.
	KDC string
	// Transport is "udp" or "tcp" (a connection per request, as real
	// clients do).
	Transport string
	Mode      Mode
	Realm     string
	// Client is the client principal without realm (e.g. "user").
	Client string
	// Password is the client's; needed by as-preauth and tgs, and to
	// decrypt sampled AS-REPs in mode as.
	Password string
	// Service is the TGS mode's server principal without realm.
	Service string
	// ETypes are the enctypes requested, strongest first; default 18 17.
	ETypes []int32
	// Concurrency is the number of requests in flight in a closed loop,
	// and the most in flight in an open loop.
	Concurrency int
	// Rate, when positive, makes an open loop: requests are scheduled at
	// this many per second whatever the KDC does, and a latency counts from
	// the scheduled time (so queueing is not hidden).
	Rate float64
	// Duration is the measured window; Warmup runs before it, unmeasured.
	Duration time.Duration
	Warmup   time.Duration
	// Timeout is how long one request waits for its reply.
	Timeout time.Duration
	// SampleEvery: one reply in this many is fully decoded and decrypted.
	SampleEvery int
}

func (c *Config) fill() error {
	if c.Transport == "" {
		c.Transport = "udp"
	}
	if len(c.ETypes) == 0 {
		c.ETypes = []int32{18, 17}
	}
	if c.Concurrency == 0 {
		c.Concurrency = 16
	}
	if c.Timeout == 0 {
		c.Timeout = time.Second
	}
	if c.SampleEvery == 0 {
		c.SampleEvery = 100
	}
	var errs []error
	if c.KDC == "" {
		errs = append(errs, errors.New("bench: no KDC address"))
	}
	if c.Transport != "udp" && c.Transport != "tcp" {
		errs = append(errs, fmt.Errorf("bench: transport %q: want udp or tcp", c.Transport))
	}
	switch c.Mode {
	case ModeAS:
	case ModeASPreauth, ModeTGS:
		if c.Password == "" {
			errs = append(errs, fmt.Errorf("bench: mode %s needs the client's password", c.Mode))
		}
	default:
		errs = append(errs, fmt.Errorf("bench: mode %q: want as, as-preauth or tgs", c.Mode))
	}
	if c.Mode == ModeTGS && c.Service == "" {
		errs = append(errs, errors.New("bench: mode tgs needs a service principal"))
	}
	if c.Realm == "" || c.Client == "" {
		errs = append(errs, errors.New("bench: realm and client principal are required"))
	}
	if c.Concurrency < 1 || c.Concurrency > 10000 {
		errs = append(errs, fmt.Errorf("bench: concurrency %d: want 1 to 10000", c.Concurrency))
	}
	if c.Rate < 0 || c.Duration <= 0 || c.Warmup < 0 || c.Timeout <= 0 || c.SampleEvery < 1 {
		errs = append(errs, errors.New("bench: rate, warm-up must not be negative; duration, timeout, sample must be positive"))
	}
	return errors.Join(errs...)
}
