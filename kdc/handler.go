package kdc

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/db"
)

// ASN.1 identifier octets of the two requests a KDC serves (constructed
// APPLICATION 10 and 12). Anything else is dropped without a reply: answering
// a KRB-ERROR or a reply with an error would let two KDCs bounce errors at
// each other forever. A request with one of these tags that does not decode
// (truncated, wrong pvno or msg-type, not DER) is dropped too, as MIT's
// krb5kdc does: a KRB-ERROR of ~100 bytes for a 1-byte datagram with a
// spoofable source would make the KDC a UDP amplifier.
const (
	tagASReq  = 0x6a
	tagTGSReq = 0x6c
)

// Policy holds the realm-wide ticket limits.
type Policy struct {
	// MaxLife caps every ticket's lifetime (MIT max_life).
	MaxLife time.Duration
	// MaxRenewableLife caps renew-till (MIT max_renewable_life); 0 disables
	// renewable tickets.
	MaxRenewableLife time.Duration
	// ClockSkew is the tolerated difference between client and KDC clocks.
	ClockSkew time.Duration
}

// Handler is the protocol engine: it turns one request into one reply, or
// none for what must be dropped. It is safe for concurrent use; it holds no
// lock while doing crypto.
type Handler struct {
	db      db.Reader
	policy  Policy
	now     func() time.Time
	rand    io.Reader
	log     *slog.Logger
	metrics *handlerMetrics
	lockout *failureCounter
	replies *lookaside
	// similarBudget bounds the "closest names" searches: a client asking
	// for unknown names in a loop must not turn each request into one.
	similarBudget rateBudget
	// warnBudget bounds the per-request WARN lines: a flood of bad
	// requests must not become a flood of log lines (the metrics still
	// count every request).
	warnBudget rateBudget
	// probeClient is the health probe's principal (WithProbeClient).
	probeClient string
	// settings, when the reader holds them, override policy's lifetimes
	// (settings.go).
	settings SettingsSource
}

// HandlerOption customises a Handler, mostly for tests.
type HandlerOption func(*Handler)

// WithClock replaces the wall clock.
func WithClock(now func() time.Time) HandlerOption { return func(h *Handler) { h.now = now } }

// WithRand replaces crypto/rand as the source of session keys.
func WithRand(r io.Reader) HandlerOption { return func(h *Handler) { h.rand = r } }

// WithLockout locks principals after repeated preauthentication failures,
// counted on this node; locker replicates the lock.
func WithLockout(p LockoutPolicy, locker Locker) HandlerOption {
	return func(h *Handler) { h.lockout = newFailureCounter(p, locker) }
}

// WithLogger sets the logger for the per-request lines.
func WithLogger(l *slog.Logger) HandlerOption { return func(h *Handler) { h.log = l } }

// WithProbeClient names the agent's own health probe principal
// ("kdcha/health@REALM"): its requests from this host are counted in
// kdcha_kdc_probe_requests_total instead of the client request metrics.
func WithProbeClient(principal string) HandlerOption {
	return func(h *Handler) { h.probeClient = principal }
}

// NewHandler returns a Handler serving the realm of r. When r holds
// replicated realm settings (SettingsSource), they take precedence over p
// and the lockout policy once the realm has some.
func NewHandler(r db.Reader, p Policy, opts ...HandlerOption) *Handler {
	h := &Handler{db: r, policy: p, now: time.Now, rand: rand.Reader, log: slog.Default(), replies: newLookaside(lookasideTTL, lookasideMaxBytes),
		similarBudget: rateBudget{limit: similarPerSecond}, warnBudget: rateBudget{limit: warnPerSecond}}
	for _, o := range opts {
		o(h)
	}
	if ps, ok := r.(PolicySource); ok && h.lockout != nil {
		h.lockout.policies = ps
	}
	if ss, ok := r.(SettingsSource); ok {
		h.settings = ss
		if h.lockout != nil {
			h.lockout.settings = ss
		}
	}
	return h
}

// Request is one datagram or one TCP frame.
type Request struct {
	// Data is the encoded AS-REQ or TGS-REQ.
	Data []byte
	// From is the client's address, for logs.
	From netip.AddrPort
	// To is the local address the request arrived on, when known (the
	// kpasswd reply names it as the KRB-PRIV sender address).
	To netip.Addr
	// Transport is "udp" or "tcp", for logs.
	Transport string
	// MaxReplySize, when positive, is the largest reply the transport can
	// carry; a larger reply is replaced by KRB_ERR_RESPONSE_TOO_BIG so the
	// client retries over TCP.
	MaxReplySize int
	// counters are the serving worker's (nil outside a Server: the
	// Handler's own metrics count the request).
	counters *counters
}

// Handle processes one request and returns the reply to send, or nil when
// the request must be dropped: not a Kerberos request at all, or one that
// does not decode.
func (h *Handler) Handle(req Request) []byte {
	now := h.now().UTC()
	if len(req.Data) == 0 || (req.Data[0] != tagASReq && req.Data[0] != tagTGSReq) {
		h.metrics.dropped(dropNotKDC)
		h.log.Debug("dropped non-KDC request", "from", req.From, "len", len(req.Data))
		return nil
	}
	started := time.Now()
	key := requestKey(req.Data)
	reply, repeated := h.replies.get(key, now)
	var out *outcome
	switch {
	case repeated:
		out = &outcome{exchange: exchangeName(req.Data[0]), status: "REPEAT", client: "-", server: "-",
			detail: "repeated (retransmitted?) request, resending previous response"}
	case req.Data[0] == tagASReq:
		reply, out = h.handleAS(req, now)
	default:
		reply, out = h.handleTGS(req, now)
	}
	out.from = req.From
	out.transport = req.Transport
	if out.undecodable {
		h.metrics.dropped(dropUndecodable)
		h.logOutcome(out, now)
		return nil
	}
	if !repeated {
		h.replies.put(key, reply, now)
	}
	if req.MaxReplySize > 0 && len(reply) > req.MaxReplySize {
		out.status = errorName(errorcode.KRB_ERR_RESPONSE_TOO_BIG)
		out.detail = fmt.Sprintf("reply of %d bytes exceeds %d, client should retry over TCP", len(reply), req.MaxReplySize)
		reply = h.errorReply(newError(errorcode.KRB_ERR_RESPONSE_TOO_BIG, "%s", out.detail), types.PrincipalName{}, "", types.PrincipalName{}, now)
	}
	out.probe = h.isProbe(req, out)
	h.logOutcome(out, now)
	h.metrics.observe(req.counters, out, time.Since(started))
	return reply
}

// isProbe reports whether req is the agent's own health probe: the probe
// principal, sent from this host (source address = destination address, or
// loopback). The kernel drops packets from outside that claim a local
// source, so a remote client naming the probe principal is still counted
// as a client. Cheap: a string comparison that differs at the length for
// nearly every request.
func (h *Handler) isProbe(req Request, o *outcome) bool {
	if h.probeClient == "" || o.client != h.probeClient {
		return false
	}
	from := req.From.Addr().Unmap()
	return from.IsLoopback() || from == req.To
}

// logOutcome writes the request's line, within the warning budget.
func (h *Handler) logOutcome(o *outcome, now time.Time) {
	if o.level() >= slog.LevelWarn && !h.warnAllowed(now) {
		return
	}
	o.logTo(h.log)
}

// warnAllowed spends one of the warnPerSecond WARN lines of now's second
// (requests and listeners share them). A warning refused is counted
// instead; the first line after such a second says how many were left out.
func (h *Handler) warnAllowed(now time.Time) bool {
	ok, suppressed := h.warnBudget.take(now)
	if suppressed > 0 {
		h.log.Warn("kdc warnings suppressed", "count", suppressed, "limit_per_second", warnPerSecond)
	}
	if !ok {
		h.metrics.suppressedWarning()
	}
	return ok
}

func exchangeName(tag byte) string {
	if tag == tagASReq {
		return "AS_REQ"
	}
	return "TGS_REQ"
}

// ErrorReply encodes a bare KRB-ERROR for the transports' own failures
// (for example an over-long TCP frame).
func (h *Handler) ErrorReply(code int32, detail string) []byte {
	return h.errorReply(newError(code, "%s", detail), types.PrincipalName{}, "", types.PrincipalName{}, h.now())
}

// errorReply marshals e; if even that fails (it cannot for well-formed
// values), the request is dropped rather than answered with garbage.
func (h *Handler) errorReply(e *krbError, cname types.PrincipalName, crealm string, sname types.PrincipalName, now time.Time) []byte {
	b, err := marshalError(e, h.db.Realm(), cname, crealm, sname, now)
	if err != nil {
		h.log.Error("cannot encode KRB-ERROR", "err", err)
		return nil
	}
	return b
}

// outcome collects what the per-request log line says, in MIT krb5kdc's
// shape ("AS_REQ (2 etypes {18 17}) 10.0.0.1: ISSUE: ...") so operators can
// keep their grep habits, with structured attributes for machines.
type outcome struct {
	exchange  string
	etypes    []int32
	from      netip.AddrPort
	transport string
	client    string
	server    string
	status    string
	detail    string
	authtime  time.Time
	repEType  int32
	tktEType  int32
	sesEType  int32
	// undecodable marks a request dropped without a reply because it is
	// not a well-formed AS-REQ or TGS-REQ.
	undecodable bool
	// probe marks the agent's own health probe (Handler.isProbe).
	probe bool
}

func (o *outcome) fail(e *krbError) {
	o.status = errorName(e.code)
	if e.code == errorcode.KDC_ERR_PREAUTH_REQUIRED {
		o.status = "NEEDED_PREAUTH"
	}
	o.detail = e.detail
}

// drop marks the request undecodable, to be dropped without a reply.
func (o *outcome) drop(format string, args ...any) {
	o.undecodable = true
	o.status = "DROPPED"
	o.detail = fmt.Sprintf(format, args...)
}

// level is the log level of o's line: failures are warnings.
func (o *outcome) level() slog.Level {
	switch {
	case o.status != "ISSUE" && o.status != "NEEDED_PREAUTH":
		return slog.LevelWarn
	case o.probe:
		// The agent's own probe succeeds every second on every node:
		// at info it would drown the clients' lines.
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// A request's line shows at most this many enctypes and bytes of a name:
// a request may carry 60 KB of either, and a log line is no place for them.
const (
	maxLoggedETypes   = 16
	maxLoggedNameSize = 256
)

// clip shortens a name for the log, saying how long it was.
func clip(name string) string {
	if len(name) <= maxLoggedNameSize {
		return name
	}
	return fmt.Sprintf("%s...(%d bytes)", strings.ToValidUTF8(name[:maxLoggedNameSize], ""), len(name))
}

func (o *outcome) logTo(l *slog.Logger) {
	level := o.level()
	ctx := context.Background()
	if !l.Enabled(ctx, level) {
		return // the line is built only for a logger that writes it
	}
	// Appended by hand rather than with fmt: this runs for every request.
	b := make([]byte, 0, 256)
	b = append(b, o.exchange...)
	b = append(b, " ("...)
	b = strconv.AppendInt(b, int64(len(o.etypes)), 10)
	b = append(b, " etypes {"...)
	for i, e := range o.etypes[:min(len(o.etypes), maxLoggedETypes)] {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(e), 10)
	}
	if len(o.etypes) > maxLoggedETypes {
		b = append(b, " ..."...)
	}
	b = append(b, "}) "...)
	if a := o.from.Addr(); a.IsValid() {
		b = a.AppendTo(b)
	} else {
		b = append(b, a.String()...) // "invalid IP", as before
	}
	b = append(b, ": "...)
	b = append(b, o.status...)
	b = append(b, ": "...)
	if o.status == "ISSUE" {
		b = append(b, "authtime "...)
		b = strconv.AppendInt(b, o.authtime.Unix(), 10)
		b = append(b, ", etypes {rep="...)
		b = strconv.AppendInt(b, int64(o.repEType), 10)
		b = append(b, " tkt="...)
		b = strconv.AppendInt(b, int64(o.tktEType), 10)
		b = append(b, " ses="...)
		b = strconv.AppendInt(b, int64(o.sesEType), 10)
		b = append(b, "}, "...)
	}
	client, server := clip(o.client), clip(o.server)
	b = append(b, client...)
	b = append(b, " for "...)
	b = append(b, server...)
	if o.detail != "" {
		b = append(b, ", "...)
		b = append(b, o.detail...)
	}
	l.LogAttrs(ctx, level, string(b), slog.String("exchange", o.exchange), slog.String("result", o.status), slog.String("client", client), slog.String("server", server), slog.String("from", o.from.String()), slog.String("transport", o.transport))
}
