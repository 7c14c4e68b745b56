package wire

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// gen draws values from fuzz input; when the input runs out it reads zeros,
// so every input makes some structure.
type gen struct{ data []byte }

func (g *gen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

func (g *gen) uint32() uint32 {
	var b [4]byte
	for i := range b {
		b[i] = g.byte()
	}
	return binary.BigEndian.Uint32(b[:])
}

// int64 favours the values around the length boundaries of INTEGER.
func (g *gen) int64() int64 {
	switch g.byte() % 6 {
	case 0:
		return 0
	case 1:
		return int64(int8(g.byte()))
	case 2:
		return int64(int16(g.uint32()))
	case 3:
		return int64(int32(g.uint32()))
	case 4:
		return int64(g.uint32())<<32 | int64(g.uint32())
	}
	return int64(g.byte()) + 120
}

func (g *gen) int32() int32 { return int32(g.int64()) }

// bytes is nil, empty, short, or long enough for a multi-byte length.
func (g *gen) bytes() []byte {
	switch g.byte() % 5 {
	case 0:
		return nil
	case 1:
		return []byte{}
	case 2:
		n := int(g.byte() % 16)
		b := make([]byte, n)
		for i := range b {
			b[i] = g.byte()
		}
		return b
	case 3:
		return bytes.Repeat([]byte{g.byte()}, 100+int(g.byte()))
	}
	return bytes.Repeat([]byte{g.byte()}, 250+int(g.uint32()%70000))
}

func (g *gen) string() string { return string(g.bytes()) }

func (g *gen) time() time.Time {
	switch g.byte() % 6 {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(int64(g.uint32()), int64(g.uint32()%1e9)).UTC()
	case 2:
		zone := time.FixedZone("z", (int(int8(g.byte()))*15*60)+int(g.byte()%3)*17)
		return time.Unix(int64(g.uint32()), 0).In(zone)
	case 3:
		return time.Date(10000+int(g.byte()), 1, 1, 0, 0, 0, 0, time.UTC)
	case 4:
		return time.Unix(0, 0).UTC()
	}
	return time.Unix(int64(g.uint32()), 0) // local zone, monotonic-free
}

func (g *gen) principalName() types.PrincipalName {
	pn := types.PrincipalName{NameType: g.int32()}
	switch g.byte() % 3 {
	case 0:
	case 1:
		pn.NameString = []string{}
	default:
		for n := g.byte() % 4; n > 0; n-- {
			pn.NameString = append(pn.NameString, g.string())
		}
	}
	return pn
}

func (g *gen) addresses() types.HostAddresses {
	if g.byte()%3 == 0 {
		return nil
	}
	a := types.HostAddresses{}
	for n := g.byte() % 4; n > 0; n-- {
		a = append(a, types.HostAddress{AddrType: g.int32(), Address: g.bytes()})
	}
	return a
}

func (g *gen) padata() []types.PAData {
	if g.byte()%3 == 0 {
		return nil
	}
	p := []types.PAData{}
	for n := g.byte() % 4; n > 0; n-- {
		p = append(p, types.PAData{PADataType: g.int32(), PADataValue: g.bytes()})
	}
	return p
}

func (g *gen) bitString() asn1.BitString {
	return asn1.BitString{Bytes: g.bytes(), BitLength: int(g.byte())}
}

func (g *gen) key() types.EncryptionKey {
	return types.EncryptionKey{KeyType: g.int32(), KeyValue: g.bytes()}
}

func (g *gen) encData() types.EncryptedData {
	return types.EncryptedData{EType: g.int32(), KVNO: int(g.int64()), Cipher: g.bytes()}
}

func (g *gen) ticket() messages.Ticket {
	return messages.Ticket{TktVNO: int(g.int64()), Realm: g.string(), SName: g.principalName(), EncPart: g.encData()}
}

func (g *gen) encTicketPart() messages.EncTicketPart {
	p := messages.EncTicketPart{
		Flags: g.bitString(), Key: g.key(), CRealm: g.string(), CName: g.principalName(),
		Transited: messages.TransitedEncoding{TRType: g.int32(), Contents: g.bytes()},
		AuthTime:  g.time(), StartTime: g.time(), EndTime: g.time(), RenewTill: g.time(),
		CAddr: g.addresses(),
	}
	if g.byte()%2 == 1 {
		p.AuthorizationData = types.AuthorizationData{}
		for n := g.byte() % 3; n > 0; n-- {
			p.AuthorizationData = append(p.AuthorizationData, types.AuthorizationDataEntry{ADType: g.int32(), ADData: g.bytes()})
		}
	}
	return p
}

func (g *gen) encKDCRepPart() messages.EncKDCRepPart {
	p := messages.EncKDCRepPart{Key: g.key(), Nonce: int(g.int64()), KeyExpiration: g.time(), Flags: g.bitString(),
		AuthTime: g.time(), StartTime: g.time(), EndTime: g.time(), RenewTill: g.time(),
		SRealm: g.string(), SName: g.principalName(), CAddr: g.addresses(), EncPAData: g.padata()}
	switch g.byte() % 3 {
	case 0:
	case 1:
		p.LastReqs = []messages.LastReq{}
	default:
		for n := g.byte() % 3; n > 0; n-- {
			p.LastReqs = append(p.LastReqs, messages.LastReq{LRType: g.int32(), LRValue: g.time()})
		}
	}
	return p
}

func (g *gen) kdcRep(msgType int) messages.KDCRepFields {
	return messages.KDCRepFields{PVNO: int(g.int64()), MsgType: msgType, PAData: g.padata(), CRealm: g.string(),
		CName: g.principalName(), Ticket: g.ticket(), EncPart: g.encData()}
}

func (g *gen) krbError() messages.KRBError {
	return messages.KRBError{PVNO: int(g.int64()), MsgType: int(g.int64()), CTime: g.time(), Cusec: int(g.int64()),
		STime: g.time(), Susec: int(g.int64()), ErrorCode: g.int32(), CRealm: g.string(), CName: g.principalName(),
		Realm: g.string(), SName: g.principalName(), EText: g.string(), EData: g.bytes()}
}

// same fails unless both encoders failed, or both succeeded with the same bytes.
func same(t *testing.T, what string, ours []byte, ourErr error, theirs []byte, theirErr error) {
	t.Helper()
	if (ourErr != nil) != (theirErr != nil) {
		t.Fatalf("%s: our error %v, reflection error %v", what, ourErr, theirErr)
	}
	if ourErr == nil && !bytes.Equal(ours, theirs) {
		t.Fatalf("%s differs:\n ours       %x\n reflection %x", what, ours, theirs)
	}
}

// checkAll encodes one structure of each kind, drawn from data, with both
// encoders.
func checkAll(t *testing.T, data []byte) {
	g := &gen{data: data}
	prefix := []byte{0xde, 0xad} // appending must keep what is there

	tkt := g.ticket()
	theirs, err := tkt.Marshal()
	same(t, "Ticket", AppendTicket(prefix, &tkt)[2:], nil, theirs, err)

	etp := g.encTicketPart()
	ours, ourErr := AppendEncTicketPart(prefix, &etp)
	theirs, err = asn1.Marshal(etp)
	same(t, "EncTicketPart", ours[min(2, len(ours)):], ourErr, asn1tools.AddASNAppTag(theirs, appEncTicketPart), err)

	part := g.encKDCRepPart()
	appTag := 25 + int(g.byte()%2)
	ours, ourErr = AppendEncKDCRepPart(prefix, &part, appTag)
	theirs, err = asn1.Marshal(part)
	same(t, "EncKDCRepPart", ours[min(2, len(ours)):], ourErr, asn1tools.AddASNAppTag(theirs, appTag), err)

	as := messages.ASRep{KDCRepFields: g.kdcRep(11)}
	theirs, err = as.Marshal()
	same(t, "AS-REP", AppendASRep(prefix, &as)[2:], nil, theirs, err)

	tgs := messages.TGSRep{KDCRepFields: g.kdcRep(13)}
	theirs, err = tgs.Marshal()
	same(t, "TGS-REP", AppendTGSRep(prefix, &tgs)[2:], nil, theirs, err)

	ke := g.krbError()
	ours, ourErr = AppendKRBError(prefix, &ke)
	theirs, err = ke.Marshal()
	same(t, "KRB-ERROR", ours[min(2, len(ours)):], ourErr, theirs, err)

	info := types.ETypeInfo2{}
	for n := g.byte() % 3; n > 0; n-- {
		info = append(info, types.ETypeInfo2Entry{EType: g.int32(), Salt: g.string(), S2KParams: g.bytes()})
	}
	theirs, err = asn1.Marshal(info)
	same(t, "ETYPE-INFO2", AppendETypeInfo2(prefix, info)[2:], nil, theirs, err)

	md := types.MethodData(g.padata())
	if md == nil {
		md = types.MethodData{}
	}
	theirs, err = asn1.Marshal(md)
	same(t, "METHOD-DATA", AppendMethodData(prefix, md)[2:], nil, theirs, err)
}

// FuzzMatchesReflection compares the hand-written encoder with gokrb5's
// reflection encoder on structures drawn from the fuzz input.
func FuzzMatchesReflection(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{1}, 64))
	f.Add(bytes.Repeat([]byte{2, 3, 4, 5, 6, 7}, 40))
	f.Add(bytes.Repeat([]byte{0xff}, 200))
	f.Fuzz(checkAll)
}

// TestMatchesReflectionRandom runs the comparison on a fixed set of random
// inputs so that plain `go test` covers it.
func TestMatchesReflectionRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		data := make([]byte, rng.IntN(400))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		checkAll(t, data)
	}
}
