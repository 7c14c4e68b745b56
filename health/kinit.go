package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
)

// KinitOptions describe a kinit probe.
type KinitOptions struct {
	// KDC is the host:port to probe.
	KDC string
	// Transport is TransportUDP or TransportTCP.
	Transport Transport
	// Principal is the probe client, "name[/instance]@REALM".
	Principal string
	// Keytab is the path of the keytab holding the principal's keys. It is
	// read on every run, so a rotated keytab is picked up without restart.
	Keytab string
	// Service, if set ("name[/instance]", same realm), adds a TGS exchange
	// for a ticket to that service after the AS exchange.
	Service string
}

// KinitProbe authenticates like a client: a real AS exchange with
// preauthentication using a keytab, and optionally a TGS exchange. The
// messages are built by hand on gokrb5's types so that the transport and
// the KDC address are exactly the configured ones and every step is bounded
// by the run's context; gokrb5's client picks KDCs and transports from
// krb5.conf and has no per-request deadline.
type KinitProbe struct {
	kdc        string
	transport  Transport
	principal  string
	cname      types.PrincipalName
	realm      string
	keytabPath string
	service    types.PrincipalName
	hasService bool
	// krbConf only feeds gokrb5's TGS-REQ builder (lifetime, enctypes,
	// no addresses).
	krbConf *config.Config
}

// NewKinitProbe validates o and returns the probe.
func NewKinitProbe(o KinitOptions) (*KinitProbe, error) {
	if o.KDC == "" {
		return nil, fmt.Errorf("kinit probe: no KDC address")
	}
	if o.Transport != TransportUDP && o.Transport != TransportTCP {
		return nil, fmt.Errorf("kinit probe: transport %q is not udp or tcp", o.Transport)
	}
	cname, realm, err := ParsePrincipal(o.Principal)
	if err != nil {
		return nil, fmt.Errorf("kinit probe: %w", err)
	}
	if o.Keytab == "" {
		return nil, fmt.Errorf("kinit probe: no keytab")
	}
	p := &KinitProbe{
		kdc:        o.KDC,
		transport:  o.Transport,
		principal:  o.Principal,
		cname:      cname,
		realm:      realm,
		keytabPath: o.Keytab,
		krbConf:    config.New(),
	}
	p.krbConf.LibDefaults.NoAddresses = true
	p.krbConf.LibDefaults.TicketLifetime = ticketLifetime
	p.krbConf.LibDefaults.DefaultTGSEnctypeIDs = []int32{
		etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA1_96,
		etypeID.AES256_CTS_HMAC_SHA384_192, etypeID.AES128_CTS_HMAC_SHA256_128,
	}
	if o.Service != "" {
		if strings.Contains(o.Service, "@") {
			return nil, fmt.Errorf("kinit probe: service %q must not name a realm (cross-realm is not probed)", o.Service)
		}
		p.service = types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, o.Service)
		p.hasService = true
	}
	return p, nil
}

// ParsePrincipal splits "a/b@REALM" into its name and realm. The realm is
// required: the probe must not guess it.
func ParsePrincipal(s string) (types.PrincipalName, string, error) {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return types.PrincipalName{}, "", fmt.Errorf("principal %q is not of the form name[/instance]@REALM", s)
	}
	name := s[:at]
	for _, c := range strings.Split(name, "/") {
		if c == "" {
			return types.PrincipalName{}, "", fmt.Errorf("principal %q has an empty component", s)
		}
	}
	return types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, name), s[at+1:], nil
}

// Run performs one probe. It returns by the time ctx is done.
func (p *KinitProbe) Run(ctx context.Context) (r Result) {
	r.Start = time.Now()
	defer func() {
		// gokrb5's decoders are not hardened against hostile input (e.g.
		// DecryptMessage panics on short ciphertext); whatever a KDC sends
		// must fail the run, not kill the agent.
		if v := recover(); v != nil {
			r.Err = failure(KindBadReply, "decode", fmt.Errorf("panic while decoding reply: %v", v))
		}
		r.Duration = time.Since(r.Start)
	}()
	r.Err = p.run(ctx)
	return r
}

func (p *KinitProbe) run(ctx context.Context) error {
	kt, err := keytab.Load(p.keytabPath)
	if err != nil {
		return failure(KindConfig, stepKeytab, fmt.Errorf("load %s: %w", p.keytabPath, err))
	}
	tgt, sessionKey, err := p.asExchange(ctx, keysFor(kt, p.cname, p.realm))
	if err != nil || !p.hasService {
		return err
	}
	return p.tgsExchange(ctx, tgt, sessionKey)
}

// String describes the probe for logs.
func (p *KinitProbe) String() string {
	s := fmt.Sprintf("kinit %s via %s/%s", p.principal, p.kdc, p.transport)
	if p.hasService {
		s += " + TGS " + p.service.PrincipalNameString()
	}
	return s
}
