package kdc

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/messages"
)

// describeRequest decodes a captured request into the fields the manifest
// records, and classifies the reply it got.
func describeRequest(data, reply []byte) (goldenEntry, error) {
	var f messages.KDCReqFields
	switch {
	case len(data) > 0 && data[0] == tagASReq:
		var r messages.ASReq
		if err := r.Unmarshal(data); err != nil {
			return goldenEntry{}, fmt.Errorf("decode AS-REQ: %w", err)
		}
		f = r.KDCReqFields
	case len(data) > 0 && data[0] == tagTGSReq:
		var r messages.TGSReq
		if err := r.Unmarshal(data); err != nil {
			return goldenEntry{}, fmt.Errorf("decode TGS-REQ: %w", err)
		}
		f = r.KDCReqFields
	default:
		return goldenEntry{}, fmt.Errorf("first byte % x is neither AS-REQ nor TGS-REQ", data[:min(len(data), 1)])
	}
	e := goldenEntry{
		MsgType:    f.MsgType,
		SName:      f.ReqBody.SName.PrincipalNameString(),
		Realm:      f.ReqBody.Realm,
		ETypes:     f.ReqBody.EType,
		KDCOptions: hex.EncodeToString(f.ReqBody.KDCOptions.Bytes),
		PAData:     []int32{},
		Reply:      replyClass(reply),
	}
	if f.MsgType == 10 {
		e.CName = f.ReqBody.CName.PrincipalNameString()
	}
	for _, pa := range f.PAData {
		e.PAData = append(e.PAData, pa.PADataType)
	}
	return e, nil
}

// replyClass names what a KDC answered: AS-REP, TGS-REP, KRB-ERROR <code>
// or none.
func replyClass(reply []byte) string {
	switch {
	case len(reply) == 0:
		return "none"
	case reply[0] == 0x6b:
		return "AS-REP"
	case reply[0] == 0x6d:
		return "TGS-REP"
	}
	var e messages.KRBError
	if err := e.Unmarshal(reply); err != nil {
		return "garbage"
	}
	return fmt.Sprintf("KRB-ERROR %d", e.ErrorCode)
}

func loadGolden(t testing.TB) []goldenEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []goldenEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	return entries
}

// goldenRequests returns every captured request, for fuzz seeds.
func goldenRequests(t testing.TB) [][]byte {
	var out [][]byte
	for _, e := range loadGolden(t) {
		b, err := os.ReadFile(filepath.Join(goldenDir, e.File))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// goldenHandler is a fresh Handler (empty lookaside cache) on goldenDB at now.
func goldenHandler(t testing.TB, m *memDB, now time.Time) *Handler {
	return NewHandler(m, DefaultConfig().Policy(), WithClock(func() time.Time { return now }),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
}

// TestGoldenRequests decodes every request real clients sent (see
// testdata/requests/README.md), checks what it asks for, and replays it
// through the Handler at its capture time: the reply must be of the class
// the capture KDC gave, AS-REPs must decrypt with alice's key and echo the
// nonce, TGS-REPs must carry a ticket for the requested server naming
// alice. An hour later the same bytes must be refused as clock skew.
func TestGoldenRequests(t *testing.T) {
	entries := loadGolden(t)
	// Every client the issue names, over both transports, and the requests
	// the KDC rewrite must keep answering.
	want := map[string]bool{}
	for _, e := range entries {
		client, _, _ := strings.Cut(e.Client, " ")
		want[client+"/"+e.Transport] = true
	}
	for _, c := range []string{"MIT/udp", "MIT/tcp", "Java/udp", "Java/tcp", "gokrb5/udp", "gokrb5/tcp", "kinit.heimdal/udp", "kinit.heimdal/tcp"} {
		if !want[c] {
			t.Errorf("no golden request from %s", c)
		}
	}
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.bin"))
	if len(files) != len(entries) {
		t.Errorf("%d .bin files, %d in manifest.json", len(files), len(entries))
	}
	m := goldenDB(t)
	seen := map[string]int{}
	for _, e := range entries {
		t.Run(strings.TrimSuffix(e.File, ".bin"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(goldenDir, e.File))
			if err != nil {
				t.Fatal(err)
			}
			got, err := describeRequest(data, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantFields := e
			wantFields.File, wantFields.Client, wantFields.Command, wantFields.Transport, wantFields.Captured, wantFields.Reply = "", "", "", "", time.Time{}, "none"
			if !reflect.DeepEqual(got, wantFields) {
				t.Errorf("decoded\n %+v\nmanifest says\n %+v", got, wantFields)
			}
			if e.Realm != testRealm || len(e.ETypes) == 0 {
				t.Errorf("realm %q etypes %v", e.Realm, e.ETypes)
			}
			if e.MsgType == 12 && !slices.Contains(e.PAData, 1) {
				t.Errorf("TGS-REQ without PA-TGS-REQ: padata %v", e.PAData)
			}
			if e.MsgType == 10 && e.CName != "alice" {
				t.Errorf("AS-REQ for %q, want alice", e.CName)
			}

			reply := goldenHandler(t, m, e.Captured).Handle(Request{Data: data, From: netip.MustParseAddrPort("127.0.0.1:1"), Transport: e.Transport})
			if c := replyClass(reply); c != e.Reply {
				t.Fatalf("replayed at the capture time: %s, the capture KDC answered %s", c, e.Reply)
			}
			seen[e.Reply]++
			switch e.Reply {
			case "AS-REP":
				checkGoldenASRep(t, m, data, reply)
			case "TGS-REP":
				checkGoldenTGSRep(t, m, e, reply)
			default:
				return
			}
			late := goldenHandler(t, m, e.Captured.Add(time.Hour)).Handle(Request{Data: data, Transport: e.Transport})
			if c, want := replyClass(late), fmt.Sprintf("KRB-ERROR %d", errorcode.KRB_AP_ERR_SKEW); c != want {
				t.Errorf("replayed an hour late: %s, want %s", c, want)
			}
		})
	}
	// Each outcome class the rewrite must keep is present.
	for _, c := range []string{"AS-REP", "TGS-REP", fmt.Sprintf("KRB-ERROR %d", errorcode.KDC_ERR_PREAUTH_REQUIRED)} {
		if seen[c] == 0 {
			t.Errorf("no golden request answered %s (%v)", c, seen)
		}
	}
}

// checkGoldenASRep decrypts an AS-REP with the client's key from the
// database and checks it answers the request's nonce.
func checkGoldenASRep(t *testing.T, m *memDB, req, reply []byte) {
	t.Helper()
	var r messages.ASReq
	var rep messages.ASRep
	if err := r.Unmarshal(req); err != nil {
		t.Fatal(err)
	}
	if err := rep.Unmarshal(reply); err != nil {
		t.Fatal(err)
	}
	p, ok := m.Lookup(r.ReqBody.CName.PrincipalNameString() + "@" + r.ReqBody.Realm)
	if !ok {
		t.Fatalf("no principal %s", r.ReqBody.CName.PrincipalNameString())
	}
	key, ok := p.KeyFor(rep.EncPart.EType)
	if !ok {
		t.Fatalf("AS-REP enc-part enctype %d: client has no such key", rep.EncPart.EType)
	}
	plain, err := crypto.DecryptEncPart(rep.EncPart, encryptionKey(key), 3)
	if err != nil {
		t.Fatalf("AS-REP does not decrypt with the client key: %v", err)
	}
	var part messages.EncKDCRepPart
	if err := part.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	if part.Nonce != r.ReqBody.Nonce {
		t.Errorf("AS-REP nonce %d, request %d", part.Nonce, r.ReqBody.Nonce)
	}
}

// checkGoldenTGSRep opens the issued ticket with the server's key and checks
// it names alice.
func checkGoldenTGSRep(t *testing.T, m *memDB, e goldenEntry, reply []byte) {
	t.Helper()
	var rep messages.TGSRep
	if err := rep.Unmarshal(reply); err != nil {
		t.Fatal(err)
	}
	p, ok := m.Lookup(e.SName + "@" + e.Realm)
	if !ok {
		t.Fatalf("no principal %s", e.SName)
	}
	key, ok := p.KeyFor(rep.Ticket.EncPart.EType)
	if !ok {
		t.Fatalf("ticket enctype %d: %s has no such key", rep.Ticket.EncPart.EType, e.SName)
	}
	plain, err := crypto.DecryptEncPart(rep.Ticket.EncPart, encryptionKey(key), 2)
	if err != nil {
		t.Fatalf("ticket does not decrypt with %s's key: %v", e.SName, err)
	}
	var part messages.EncTicketPart
	if err := part.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	if got := part.CName.PrincipalNameString(); got != "alice" || part.CRealm != testRealm {
		t.Errorf("ticket for %s@%s, want alice@%s", got, part.CRealm, testRealm)
	}
}
