package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/kdc"
)

// fakeInjector records the changes it is asked for.
type fakeInjector struct {
	got []FaultChange
}

func (f *fakeInjector) InjectFaults(_ context.Context, c FaultChange) (FaultState, error) {
	f.got = append(f.got, c)
	st := FaultState{KDC: c.KDC, VRRPMute: c.VRRPMute != nil && *c.VRRPMute}
	if c.Delay > 0 {
		st.Delay = c.Delay.String()
	}
	return st, nil
}

func postFaults(t *testing.T, s *Server, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/debug/faults", strings.NewReader(body)))
	return rec
}

// A node started without fault injection refuses, saying how to enable it,
// and injects nothing.
func TestFaultsDisabledRefuses(t *testing.T) {
	s := NewServer(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rec := postFaults(t, s, `{"kdc":"hang"}`)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "node.fault_injection: true") {
		t.Fatalf("disabled: %d %s", rec.Code, rec.Body)
	}
}

func TestFaultsEnabled(t *testing.T) {
	s := NewServer(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	fi := &fakeInjector{}
	s.EnableFaults(fi)
	for _, tc := range []struct {
		body string
		code int
		want FaultChange
	}{
		{`{"kdc":"hang"}`, 200, FaultChange{KDC: kdc.FaultHang}},
		{`{"kdc":"slow","delay":"200ms"}`, 200, FaultChange{KDC: kdc.FaultSlow, Delay: 200 * time.Millisecond}},
		{`{"kdc":"slow","delay":"30s"}`, 200, FaultChange{KDC: kdc.FaultSlow, Delay: 30 * time.Second}},
		{`{"kdc":"none","vrrp_mute":false}`, 200, FaultChange{KDC: kdc.FaultNone, VRRPMute: new(false)}},
		{`{"vrrp_mute":true}`, 200, FaultChange{VRRPMute: new(true)}},
		{`{"kdc":"slow","delay":"30.001s"}`, 400, FaultChange{}},
		{`{"kdc":"slow"}`, 400, FaultChange{}},
		{`{"kdc":"hang","delay":"1s"}`, 400, FaultChange{}},
		{`{"delay":"1s","vrrp_mute":true}`, 400, FaultChange{}},
		{`{"kdc":"crash"}`, 400, FaultChange{}},
		{`{}`, 400, FaultChange{}},
		{`{"kdc":"hang","extra":1}`, 400, FaultChange{}},
		{`{"kdc":"hang"` + strings.Repeat(" ", maxFaultBody) + `}`, 400, FaultChange{}},
	} {
		n := len(fi.got)
		rec := postFaults(t, s, tc.body)
		if rec.Code != tc.code {
			t.Errorf("%.60s: %d %s, want %d", tc.body, rec.Code, rec.Body, tc.code)
			continue
		}
		if tc.code != 200 {
			if len(fi.got) != n {
				t.Errorf("%.60s: refused but injected", tc.body)
			}
			continue
		}
		got := fi.got[len(fi.got)-1]
		if got.KDC != tc.want.KDC || got.Delay != tc.want.Delay || (got.VRRPMute == nil) != (tc.want.VRRPMute == nil) ||
			(got.VRRPMute != nil && *got.VRRPMute != *tc.want.VRRPMute) {
			t.Errorf("%s: injected %+v, want %+v", tc.body, got, tc.want)
		}
	}
}

// FuzzParseFaultRequest: any body is refused or yields a change the KDC
// accepts.
func FuzzParseFaultRequest(f *testing.F) {
	for _, s := range []string{`{"kdc":"hang"}`, `{"kdc":"slow","delay":"200ms"}`, `{"vrrp_mute":true}`, `{"kdc":"none","vrrp_mute":false}`, `{"delay":"-1h"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseFaultRequest(body)
		if err != nil {
			return
		}
		if c.KDC == "" {
			if c.VRRPMute == nil || c.Delay != 0 {
				t.Fatalf("accepted an empty or delay-only change: %+v", c)
			}
			return
		}
		var fs kdc.Faults
		if err := fs.Set(c.KDC, c.Delay); err != nil {
			t.Fatalf("accepted %+v that the KDC refuses: %v", c, err)
		}
	})
}
