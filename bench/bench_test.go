package bench

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/kdcha/kdcha/kdc"
	"github.com/kdcha/kdcha/kdc/db"
)

const (
	testRealm    = "BENCH.TEST"
	testPassword = "bench-Password-42"
)

// startKDC serves kdcha's own KDC in-process on a loopback port with krbtgt,
// user (requires preauth) and host/bench (random key).
func startKDC(t *testing.T) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := db.Open(db.Options{DataDir: filepath.Join(t.TempDir(), "db"), Realm: testRealm, CreateIfMissing: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx := context.Background()
	pw := testPassword
	for _, req := range []db.CreateRequest{
		{Name: "krbtgt/" + testRealm, RandomKey: true},
		{Name: "user", Password: &pw},
		{Name: "host/bench", RandomKey: true},
	} {
		if _, err := d.Create(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	cfg := kdc.DefaultConfig()
	cfg.Listen = []string{"127.0.0.1:0"}
	s, err := kdc.Listen(cfg, kdc.NewHandler(d, cfg.Policy(), kdc.WithLogger(log)), log)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = s.Serve(sctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s.Addrs()[0].String()
}

func testConfig(addr string, mode Mode, transport string) Config {
	return Config{KDC: addr, Transport: transport, Mode: mode, Realm: testRealm, Client: "user", Password: testPassword,
		Service: "host/bench", Concurrency: 4, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, SampleEvery: 1}
}

// TestTemplatesDecode checks that requests built by patching templates
// decode with gokrb5, carry the nonce and time asked for, decrypt, and are
// all different.
func TestTemplatesDecode(t *testing.T) {
	key := types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{7}, 32)}
	till := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	now := time.Date(2026, 12, 5, 9, 8, 7, 1234000, time.UTC) // usec below 2^15: raised
	at, err := newASTemplate(testRealm, "user", []int32{18, 17}, till, &key)
	if err != nil {
		t.Fatal(err)
	}
	b := at.builder()
	seen := map[string]bool{}
	for i, nonce := range []uint32{nonceBase, nonceBase | nonceMask, nonceBase | 12345, nonceBase | 12345} {
		req, err := b.build(nonce, now)
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(req)] {
			t.Errorf("request %d repeats an earlier one byte for byte", i)
		}
		seen[string(req)] = true
		var r messages.ASReq
		if err := r.Unmarshal(req); err != nil {
			t.Fatalf("AS-REQ does not decode: %v", err)
		}
		if r.ReqBody.Nonce != int(nonce) || r.ReqBody.CName.PrincipalNameString() != "user" || !r.ReqBody.Till.Equal(till) {
			t.Errorf("AS-REQ body: nonce %d cname %s till %s", r.ReqBody.Nonce, r.ReqBody.CName.PrincipalNameString(), r.ReqBody.Till)
		}
		if len(r.PAData) != 1 || r.PAData[0].PADataType != 2 {
			t.Fatalf("padata %+v, want one PA-ENC-TIMESTAMP", r.PAData)
		}
		var ed types.EncryptedData
		if err := ed.Unmarshal(r.PAData[0].PADataValue); err != nil {
			t.Fatal(err)
		}
		plain, err := crypto.DecryptEncPart(ed, key, keyusage.AS_REQ_PA_ENC_TIMESTAMP)
		if err != nil {
			t.Fatalf("PA-ENC-TIMESTAMP does not decrypt: %v", err)
		}
		var ts types.PAEncTSEnc
		if err := ts.Unmarshal(plain); err != nil {
			t.Fatal(err)
		}
		if !ts.PATimestamp.Equal(now.Truncate(time.Second)) || ts.PAUSec != 1234+usecFloor {
			t.Errorf("PA-ENC-TS-ENC %s usec %d, want %s usec %d", ts.PATimestamp, ts.PAUSec, now.Truncate(time.Second), 1234+usecFloor)
		}
	}

	tgt := messages.Ticket{TktVNO: 5, Realm: testRealm, SName: tgsPrincipal(testRealm),
		EncPart: types.EncryptedData{EType: 18, KVNO: 1, Cipher: bytes.Repeat([]byte{1}, 100)}}
	tt, err := newTGSTemplate(testRealm, "user", "host/bench", []int32{18}, till, tgt, key)
	if err != nil {
		t.Fatal(err)
	}
	tb := tt.builder()
	for _, nonce := range []uint32{nonceBase | 1, nonceBase | 2} {
		req, err := tb.build(nonce, now.Add(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		var r messages.TGSReq
		if err := r.Unmarshal(req); err != nil {
			t.Fatalf("TGS-REQ does not decode: %v", err)
		}
		if r.ReqBody.Nonce != int(nonce) || r.ReqBody.SName.PrincipalNameString() != "host/bench" {
			t.Errorf("TGS-REQ body: nonce %d sname %s", r.ReqBody.Nonce, r.ReqBody.SName.PrincipalNameString())
		}
		var ap messages.APReq
		if err := ap.Unmarshal(r.PAData[0].PADataValue); err != nil {
			t.Fatal(err)
		}
		plain, err := crypto.DecryptEncPart(ap.EncryptedAuthenticator, key, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR)
		if err != nil {
			t.Fatalf("authenticator does not decrypt: %v", err)
		}
		var auth types.Authenticator
		if err := auth.Unmarshal(plain); err != nil {
			t.Fatal(err)
		}
		body, err := r.ReqBody.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		et, _ := crypto.GetEtype(18)
		if !et.VerifyChecksum(key.KeyValue, body, auth.Cksum.Checksum, keyusage.TGS_REQ_PA_TGS_REQ_AP_REQ_AUTHENTICATOR_CHKSUM) {
			t.Error("authenticator checksum does not cover the patched body")
		}
		if !auth.CTime.Equal(now.Truncate(time.Second)) || auth.Cusec != 501234 {
			t.Errorf("authenticator time %s usec %d", auth.CTime, auth.Cusec)
		}
	}
}

// TestCheckReply checks the cheap reply check on real KDC replies and on
// broken ones.
func TestCheckReply(t *testing.T) {
	addr := startKDC(t)
	c := testConfig(addr, ModeAS, "udp")
	if err := c.fill(); err != nil {
		t.Fatal(err)
	}
	at, err := newASTemplate(testRealm, "user", c.ETypes, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := at.builder().build(nonceBase|5, time.Now())
	reply, err := exchange(&c, req)
	if err != nil {
		t.Fatal(err)
	}
	tag, code, err := checkReply(reply)
	if err != nil || tag != tagKRBError || code != 25 {
		t.Fatalf("PREAUTH_REQUIRED reply: tag %#x code %d err %v", tag, code, err)
	}
	if err := verifyReply(reply, tag, types.EncryptionKey{}, 0); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, reply[:len(reply)-1], append(bytes.Clone(reply), 0), {0x6b, 0x00}, {0x30, 0x00}} {
		if _, _, err := checkReply(bad); err == nil {
			t.Errorf("checkReply accepted % x", bad[:min(len(bad), 8)])
		}
	}
}

// TestRunAgainstKDC runs every mode over both transports, closed and open
// loop, briefly against kdcha's KDC: every reply must be of the expected
// class and every (sampled: all) reply must decrypt and echo its nonce.
func TestRunAgainstKDC(t *testing.T) {
	addr := startKDC(t)
	for _, mode := range []Mode{ModeAS, ModeASPreauth, ModeTGS} {
		for _, tr := range []string{"udp", "tcp"} {
			for _, rate := range []float64{0, 200} {
				c := testConfig(addr, mode, tr)
				c.Rate = rate
				r, err := Run(context.Background(), c)
				if err != nil {
					t.Fatalf("%s/%s rate %v: %v", mode, tr, rate, err)
				}
				var out strings.Builder
				_ = r.WriteText(&out)
				if r.OK == 0 || len(r.Errors) > 0 || r.BadSamples > 0 || r.Sampled != r.OK {
					t.Errorf("%s/%s rate %v:\n%s", mode, tr, rate, out.String())
				}
				want := map[Mode]string{ModeAS: "KRB-ERROR 25", ModeASPreauth: "AS-REP", ModeTGS: "TGS-REP"}[mode]
				if r.Replies[want] != r.OK {
					t.Errorf("%s/%s: replies %v, want all %s", mode, tr, r.Replies, want)
				}
				if rate > 0 && (r.OK < 30 || r.OK > 70) {
					t.Errorf("open loop at 200/s for 0.3 s: %d replies", r.OK)
				}
			}
		}
	}
}

// TestRunWrongPassword: preauth with a wrong password is reported by
// Kerberos code, not as a success.
func TestRunWrongPassword(t *testing.T) {
	addr := startKDC(t)
	c := testConfig(addr, ModeASPreauth, "udp")
	c.Password = "wrong"
	r, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK != 0 || r.Errors["KRB-ERROR 24"] == 0 {
		t.Errorf("wrong password: ok %d errors %v, want only KRB-ERROR 24 (PREAUTH_FAILED)", r.OK, r.Errors)
	}
}

// TestRunTimeouts: a KDC that never answers yields timeouts, not hangs.
func TestRunTimeouts(t *testing.T) {
	addr := startKDC(t)
	c := testConfig(addr, ModeAS, "udp")
	if err := c.fill(); err != nil {
		t.Fatal(err)
	}
	p, err := prepare(&c) // against the real KDC, then aim at a silent port
	if err != nil {
		t.Fatal(err)
	}
	silent := newSilentUDP(t)
	p.cfg.KDC, p.cfg.Timeout = silent, 50*time.Millisecond
	s := &workerStats{replies: map[string]int64{}}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	p.work(ctx, s, nil, time.Now(), time.Now().Add(time.Hour))
	if s.replies["timeout"] < 2 || len(s.replies) != 1 {
		t.Errorf("silent KDC: %v, want only timeouts", s.replies)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{KDC: "x:1", Mode: "bogus", Realm: "R", Client: "u", Duration: time.Second},
		{KDC: "x:1", Mode: ModeASPreauth, Realm: "R", Client: "u", Duration: time.Second},
		{KDC: "x:1", Mode: ModeTGS, Realm: "R", Client: "u", Password: "p", Duration: time.Second},
		{KDC: "x:1", Mode: ModeAS, Realm: "R", Client: "u", Transport: "sctp", Duration: time.Second},
		{KDC: "x:1", Mode: ModeAS, Realm: "R", Client: "u"},
	} {
		if err := c.fill(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// FuzzCheckReply: the reply check must not panic and must agree with
// gokrb5 on what it accepts as a KRB-ERROR code.
func FuzzCheckReply(f *testing.F) {
	f.Add([]byte{0x7e, 0x03, 0x30, 0x01, 0x00})
	f.Add([]byte{0x6b, 0x84, 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{0x7e, 0x0d, 0x30, 0x0b, 0xa1, 0x03, 0x02, 0x01, 0x1e, 0xa6, 0x04, 0x02, 0x02, 0x00, 0x19})
	f.Fuzz(func(t *testing.T, b []byte) {
		tag, code, err := checkReply(b)
		if err != nil {
			return
		}
		if tag != tagASRep && tag != tagTGSRep && tag != tagKRBError {
			t.Fatalf("accepted tag %#x", tag)
		}
		var e messages.KRBError
		if tag == tagKRBError && e.Unmarshal(b) == nil && e.ErrorCode != code {
			t.Fatalf("code %d, gokrb5 reads %d", code, e.ErrorCode)
		}
	})
}

// newSilentUDP binds a loopback UDP socket that reads and never answers.
func newSilentUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.LocalAddr().String()
}
