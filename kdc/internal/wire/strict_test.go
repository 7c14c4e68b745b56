package wire

import (
	"bytes"
	"errors"
	"sort"
	"testing"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc/internal/der"
)

// A tiny DER builder for requests gokrb5's encoder cannot produce.

func tlv(id byte, content ...[]byte) []byte {
	b, m := der.Open(nil, id)
	for _, c := range content {
		b = append(b, c...)
	}
	return der.Close(b, m)
}

func ctx(n int, inner []byte) []byte { return tlv(der.Context(n), inner) }
func seq(elems ...[]byte) []byte     { return tlv(der.TagSequence, elems...) }
func integ(v int64) []byte           { return der.AppendInteger(nil, v) }
func gstr(s string) []byte           { return der.AppendGeneralString(nil, s) }
func gtime(s string) []byte          { return tlv(der.TagGeneralizedTime, []byte(s)) }
func octs(b []byte) []byte           { return der.AppendOctetString(nil, b) }
func kflags(b ...byte) []byte        { return der.AppendBitString(nil, b, 8*len(b)) }

func repeat(n int, e []byte) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = e
	}
	return out
}

func name(parts ...string) []byte {
	var ss [][]byte
	for _, p := range parts {
		ss = append(ss, gstr(p))
	}
	return seq(ctx(0, integ(1)), ctx(1, seq(ss...)))
}

// kdcReq holds the fields of an AS-REQ or TGS-REQ as encoded elements (the
// contents of each explicit tag), for tests to replace.
type kdcReq struct {
	app      int
	top      map[int][]byte // [1] pvno, [2] msg-type, [3] padata
	body     map[int][]byte // KDC-REQ-BODY fields
	trailing []byte
}

func newASReq() *kdcReq {
	return &kdcReq{
		app: appASReq,
		top: map[int][]byte{1: integ(5), 2: integ(appASReq),
			3: seq(seq(ctx(1, integ(2)), ctx(2, octs([]byte{1, 2}))))},
		body: map[int][]byte{
			0: kflags(0x40, 0x81, 0, 0x10),
			1: name("alice"),
			2: gstr("TEST.REALM"),
			3: name("krbtgt", "TEST.REALM"),
			5: gtime("20261205101712Z"),
			7: integ(12345),
			8: seq(integ(18), integ(17)),
		},
	}
}

func fieldsOf(m map[int][]byte) []byte {
	var tags []int
	for t := range m {
		tags = append(tags, t)
	}
	sort.Ints(tags)
	var out []byte
	for _, t := range tags {
		out = append(out, ctx(t, m[t])...)
	}
	return out
}

func (r *kdcReq) bytes() []byte {
	top := map[int][]byte{4: seq(fieldsOf(r.body))}
	for t, v := range r.top {
		top[t] = v
	}
	return append(tlv(der.Application(r.app), seq(fieldsOf(top))), r.trailing...)
}

// TestDecodeStrictness: each request is refused by our decoder (without
// panicking, as gokrb5 does on one of them). Those marked lax are accepted
// by gokrb5, which the test confirms so the list
// in decode.go stays true, and refused with ErrStricter.
func TestDecodeStrictness(t *testing.T) {
	cases := []struct {
		name string
		mod  func(r *kdcReq)
		lax  bool // gokrb5 accepts it
	}{
		{"time with an offset", func(r *kdcReq) { r.body[5] = gtime("20261205101712+0100") }, true},
		{"UTCTime", func(r *kdcReq) { r.body[5] = tlv(23, []byte("261205101712Z")) }, true},
		{"time with a fraction", func(r *kdcReq) { r.body[5] = gtime("20261205101712.5Z") }, false},
		{"30 February", func(r *kdcReq) { r.body[5] = gtime("20260230101712Z") }, false},
		{"second 60", func(r *kdcReq) { r.body[5] = gtime("20261205101760Z") }, false},
		{"realm as UTF8String", func(r *kdcReq) { r.body[2] = tlv(12, []byte("TEST.REALM")) }, true},
		{"realm as IA5String", func(r *kdcReq) { r.body[2] = tlv(22, []byte("TEST.REALM")) }, true},
		{"a byte after the message", func(r *kdcReq) { r.trailing = []byte{0} }, true},
		{"unknown body field [12]", func(r *kdcReq) { r.body[12] = integ(1) }, false},
		{"unknown body field [12] after additional-tickets", func(r *kdcReq) {
			r.body[11] = seq()
			r.body[12] = integ(1)
		}, true},
		{"nonce 2^32", func(r *kdcReq) { r.body[7] = integ(1 << 32) }, true},
		{"nonce below -2^31", func(r *kdcReq) { r.body[7] = integ(-1<<31 - 1) }, true},
		{"pvno 2^31", func(r *kdcReq) { r.top[1] = integ(1 << 31) }, true},
		{"non-minimal integer", func(r *kdcReq) { r.body[7] = tlv(der.TagInteger, []byte{0, 1}) }, false},
		{"kdc-options of 8 bits", func(r *kdcReq) { r.body[0] = kflags(0x40) }, true},
		{"kdc-options with padding bits set", func(r *kdcReq) { r.body[0] = tlv(der.TagBitString, []byte{1, 0, 0, 0, 1}) }, false},
		{"msg-type 12 in APPLICATION 10", func(r *kdcReq) { r.top[2] = integ(12) }, false},
		{"APPLICATION 11", func(r *kdcReq) { r.app = 11 }, false},
		{"till missing", func(r *kdcReq) { delete(r.body, 5) }, false},
		{"etype missing", func(r *kdcReq) { delete(r.body, 8) }, false},
		{"additional-tickets one byte long", func(r *kdcReq) { r.body[11] = []byte{0x30} }, false},
		{"more than MaxETypes etypes", func(r *kdcReq) { r.body[8] = seq(repeat(MaxETypes+1, integ(18))...) }, true},
		{"more than MaxNameComponents", func(r *kdcReq) {
			r.body[3] = seq(ctx(0, integ(1)), ctx(1, seq(repeat(MaxNameComponents+1, gstr("a"))...)))
		}, true},
		{"more than MaxPAData", func(r *kdcReq) {
			r.top[3] = seq(repeat(MaxPAData+1, seq(ctx(1, integ(2)), ctx(2, octs(nil))))...)
		}, true},
		{"more than MaxAddresses", func(r *kdcReq) {
			r.body[9] = seq(repeat(MaxAddresses+1, seq(ctx(0, integ(2)), ctx(1, octs([]byte{192, 0, 2, 1}))))...)
		}, true},
	}
	if _, err := decodeBoth(t, newASReq().bytes()); err != nil {
		t.Fatalf("the unmodified request: %v", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newASReq()
			c.mod(r)
			b := r.bytes()
			var ours messages.ASReq
			err := DecodeASReq(b, &ours)
			if err == nil {
				t.Fatalf("accepted: %+v", ours)
			}
			_, theirErr := gokrb5Decode(decoderPairs[0].gokrb5, b) // a panic counts as refusal
			if c.lax != (theirErr == nil) {
				t.Fatalf("gokrb5 error %v, want lax=%v", theirErr, c.lax)
			}
			if c.lax && !errors.Is(err, ErrStricter) {
				t.Fatalf("refused without ErrStricter: %v", err)
			}
		})
	}
}

// decodeBoth decodes an AS-REQ with both decoders and requires them to
// agree.
func decodeBoth(t *testing.T, b []byte) (messages.ASReq, error) {
	t.Helper()
	var ours messages.ASReq
	if err := DecodeASReq(b, &ours); err != nil {
		return ours, err
	}
	compareDecoders(t, b)
	return ours, nil
}

// TestDecodeLimitsAndRanges: the largest lists and the extreme integers
// the decoder takes are taken, with the values gokrb5 decodes.
func TestDecodeLimitsAndRanges(t *testing.T) {
	cases := []struct {
		name  string
		mod   func(r *kdcReq)
		check func(r messages.ASReq) bool
	}{
		{"MaxETypes etypes", func(r *kdcReq) { r.body[8] = seq(repeat(MaxETypes, integ(18))...) },
			func(r messages.ASReq) bool { return len(r.ReqBody.EType) == MaxETypes }},
		{"MaxNameComponents", func(r *kdcReq) {
			r.body[3] = seq(ctx(0, integ(1)), ctx(1, seq(repeat(MaxNameComponents, gstr("a"))...)))
		}, func(r messages.ASReq) bool { return len(r.ReqBody.SName.NameString) == MaxNameComponents }},
		{"MaxPAData", func(r *kdcReq) {
			r.top[3] = seq(repeat(MaxPAData, seq(ctx(1, integ(2)), ctx(2, octs(nil))))...)
		}, func(r messages.ASReq) bool { return len(r.PAData) == MaxPAData }},
		{"MaxAddresses", func(r *kdcReq) {
			r.body[9] = seq(repeat(MaxAddresses, seq(ctx(0, integ(2)), ctx(1, octs([]byte{192, 0, 2, 1}))))...)
		}, func(r messages.ASReq) bool { return len(r.ReqBody.Addresses) == MaxAddresses }},
		{"nonce 2^32-1", func(r *kdcReq) { r.body[7] = integ(1<<32 - 1) },
			func(r messages.ASReq) bool { return r.ReqBody.Nonce == 1<<32-1 }},
		{"negative nonce (old implementations)", func(r *kdcReq) { r.body[7] = integ(-1 << 31) },
			func(r messages.ASReq) bool { return r.ReqBody.Nonce == -1<<31 }},
		{"kdc-options of 64 bits", func(r *kdcReq) { r.body[0] = kflags(0x40, 0, 0, 0, 0, 0, 0, 1) },
			func(r messages.ASReq) bool { return r.ReqBody.KDCOptions.BitLength == 64 }},
		{"leap day", func(r *kdcReq) { r.body[5] = gtime("20280229235959Z") },
			func(r messages.ASReq) bool { return r.ReqBody.Till.Day() == 29 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newASReq()
			c.mod(r)
			got, err := decodeBoth(t, r.bytes())
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(got) {
				t.Fatalf("decoded %+v", got)
			}
		})
	}
}

// TestDecodeInnerLimitsAndTags covers the limits and APPLICATION tags of
// the messages inside a request: AP-REQ 14, Ticket 1, EncTicketPart 3,
// Authenticator 2, MaxAuthzEntries, MaxTickets.
func TestDecodeInnerLimitsAndTags(t *testing.T) {
	samples := sampleMessages(t)
	var apReq, ticket, etp, auth []byte
	for _, b := range samples {
		switch b[0] {
		case 0x6e:
			apReq = b
		case 0x61:
			ticket = b
		case 0x63:
			etp = b
		case 0x62:
			auth = b
		}
	}
	retag := func(b []byte, id byte) []byte { c := bytes.Clone(b); c[0] = id; return c }
	var ap messages.APReq
	var tk messages.Ticket
	var ep messages.EncTicketPart
	var au types.Authenticator
	for _, c := range []struct {
		name string
		err  error
	}{
		{"AP-REQ as APPLICATION 15", DecodeAPReq(retag(apReq, 0x6f), &ap)},
		{"Ticket as APPLICATION 2", DecodeTicket(retag(ticket, 0x62), &tk)},
		{"EncTicketPart as APPLICATION 4", DecodeEncTicketPart(retag(etp, 0x64), &ep)},
		{"Authenticator as APPLICATION 3", DecodeAuthenticator(retag(auth, 0x63), &au)},
	} {
		if c.err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	for _, c := range []struct {
		name string
		b    []byte
	}{{"AP-REQ", apReq}, {"Ticket", ticket}, {"EncTicketPart", etp}, {"Authenticator", auth}} {
		compareOne(t, c.name, c.b)
	}

	entry := seq(ctx(0, integ(1)), ctx(1, octs([]byte{0})))
	for n, wantOK := range map[int]bool{MaxAuthzEntries: true, MaxAuthzEntries + 1: false} {
		ad, err := DecodeAuthorizationData(seq(repeat(n, entry)...))
		if (err == nil) != wantOK || err == nil && len(ad) != n {
			t.Errorf("%d authorization data entries: %d decoded, error %v", n, len(ad), err)
		}
	}
	for n, wantOK := range map[int]bool{MaxTickets: true, MaxTickets + 1: false} {
		r := newASReq()
		r.body[11] = seq(repeat(n, ticket)...)
		var got messages.ASReq
		err := DecodeASReq(r.bytes(), &got)
		if (err == nil) != wantOK || err == nil && len(got.ReqBody.AdditionalTickets) != n {
			t.Errorf("%d additional tickets: %d decoded, error %v", n, len(got.ReqBody.AdditionalTickets), err)
		}
	}
}
