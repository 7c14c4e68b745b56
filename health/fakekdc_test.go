package health

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/iana/patype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// fakeKDC answers each UDP datagram on loopback with handler(request); a nil
// answer means silence, which is what a black-holed port looks like.
type fakeKDC struct {
	addr string
}

func startFakeKDC(t *testing.T, handler func(req []byte) []byte) *fakeKDC {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if reply := handler(append([]byte(nil), buf[:n]...)); reply != nil {
				_, _ = pc.WriteTo(reply, from)
			}
		}
	}()
	return &fakeKDC{addr: pc.LocalAddr().String()}
}

// testKeytab writes a keytab for principal@realm with an aes256 key derived
// from password and returns its path.
func testKeytab(t *testing.T, principal, realm, password string, kvno uint8) string {
	t.Helper()
	kt := keytab.New()
	if err := kt.AddEntry(principal, realm, password, time.Now(), kvno, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "test.keytab")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// krbError encodes a KRB-ERROR with optional e-data. Like etypeInfo2 it
// may run on the fake KDC's goroutine, so it reports with Errorf.
func krbError(t testing.TB, code int32, edata []byte) []byte {
	t.Helper()
	ke := messages.NewKRBError(types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", "TEST.REALM"}}, "TEST.REALM", code, "fake")
	ke.EData = edata
	b, err := ke.Marshal()
	if err != nil {
		// Errorf, not Fatal: this runs on the fake KDC's goroutine.
		t.Errorf("encode KRB-ERROR: %v", err)
	}
	return b
}

// etypeInfo2 encodes METHOD-DATA holding PA-ETYPE-INFO2 for the etypes.
func etypeInfo2(t testing.TB, etypes ...int32) []byte {
	t.Helper()
	var info types.ETypeInfo2
	for _, et := range etypes {
		info = append(info, types.ETypeInfo2Entry{EType: et, Salt: "TEST.REALMprobe"})
	}
	ib, err := asn1.Marshal(info)
	if err != nil {
		t.Errorf("encode ETYPE-INFO2: %v", err)
	}
	b, err := asn1.Marshal(types.PADataSequence{{PADataType: patype.PA_ETYPE_INFO2, PADataValue: ib}})
	if err != nil {
		t.Errorf("encode METHOD-DATA: %v", err)
	}
	return b
}

func runProbe(t *testing.T, o KinitOptions, timeout time.Duration) Result {
	t.Helper()
	p, err := NewKinitProbe(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Run(ctx)
}
