package admin

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/kdcha/kdcha/kdc/db"
)

// FuzzAdminRequests sends arbitrary requests (method, path, query, body) to
// the admin API of a real single-node database holding the realm's krbtgt.
// Whatever the API accepts, the invariant TGT security rests on holds: the
// realm's krbtgt exists under its own name, so only its own keys decrypt
// TGTs (a lookup of an alias would return the owner).
func FuzzAdminRequests(f *testing.F) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := db.Open(db.Options{DataDir: filepath.Join(f.TempDir(), "db"), Realm: "FUZZ.TEST", CreateIfMissing: true, Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { d.Close() })
	ctx := context.Background()
	tgs := db.RealmTGS("FUZZ.TEST")
	for _, name := range []string{tgs, "alice"} {
		if _, err := d.Create(ctx, db.CreateRequest{Name: name, RandomKey: true}); err != nil {
			f.Fatal(err)
		}
	}
	srv := NewServer(d, nil, log)
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete}
	paths := []string{"/v1/principals", "/v1/principal", "/v1/principal/password", "/v1/principal/rekey", "/v1/keytab", "/v1/realm/settings"}

	f.Add(uint8(3), uint8(1), "name=krbtgt/FUZZ.TEST&force=true", []byte(nil))
	f.Add(uint8(2), uint8(1), "name=alice", []byte(`{"aliases":["krbtgt/FUZZ.TEST"]}`))
	f.Add(uint8(2), uint8(1), "name=alice", []byte(`{"aliases":[]}`))
	f.Add(uint8(1), uint8(1), "", []byte(`{"name":"mallory","random_key":true,"aliases":["krbtgt/FUZZ.TEST@FUZZ.TEST"]}`))
	f.Add(uint8(1), uint8(3), "name=krbtgt/FUZZ.TEST", []byte(nil))
	f.Add(uint8(1), uint8(2), "name=alice", []byte(`{"password":"x"}`))
	f.Add(uint8(1), uint8(1), "", []byte(`{"name":"user\u202eevil","random_key":true}`))
	f.Add(uint8(1), uint8(1), "", []byte(`{"name":1}`))
	f.Add(uint8(2), uint8(5), "", []byte(`{"max_life":"-1h","lockout_max_failures":1073741825}`))
	f.Fuzz(func(t *testing.T, method, path uint8, query string, body []byte) {
		req := httptest.NewRequest(methods[int(method)%len(methods)], "/", bytes.NewReader(body))
		req.URL.Path = paths[int(path)%len(paths)]
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s?%s: status %d: %s", req.Method, req.URL.Path, query, rec.Code, rec.Body)
		}
		p, ok := d.Lookup(tgs)
		if !ok || p.Name != tgs {
			t.Fatalf("after %s %s?%s %q: lookup of the realm's krbtgt = %v, %v", req.Method, req.URL.Path, query, body, p, ok)
		}
	})
}
