package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/admin"
	"github.com/kdcha/kdcha/kdc"
)

func TestFaultRequestFromArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // the request, or "" for an error
	}{
		{[]string{"kdc-hang"}, `{hang  <nil>}`},
		{[]string{"kdc-slow", "200ms"}, `{slow 200ms <nil>}`},
		{[]string{"vrrp-mute"}, `{  true}`},
		{[]string{"clear"}, `{none  false}`},
		{[]string{"kdc-slow"}, ""},
		{[]string{"kdc-slow", "31s"}, ""},
		{[]string{"kdc-slow", "fast"}, ""},
		{[]string{"kdc-hang", "1s"}, ""},
		{[]string{"reboot"}, ""},
	} {
		req, err := faultRequestFromArgs(tc.args)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%v: accepted as %+v", tc.args, req)
			}
			continue
		}
		if err != nil || show(req) != tc.want {
			t.Errorf("%v: got %s, %v; want %s", tc.args, show(req), err, tc.want)
		}
	}
}

func show(r admin.FaultRequest) string {
	mute := "<nil>"
	if r.VRRPMute != nil {
		mute = map[bool]string{true: "true", false: "false"}[*r.VRRPMute]
	}
	return "{" + r.KDC + " " + r.Delay + " " + mute + "}"
}

// kdcFaultInjector applies the KDC part of a change to kdc.Faults, as the
// agent does.
type kdcFaultInjector struct{ faults kdc.Faults }

func (f *kdcFaultInjector) InjectFaults(_ context.Context, c admin.FaultChange) (admin.FaultState, error) {
	if c.KDC != "" {
		if err := f.faults.Set(c.KDC, c.Delay); err != nil {
			return admin.FaultState{}, err
		}
	}
	mode, delay := f.faults.State()
	st := admin.FaultState{KDC: mode}
	if delay > 0 {
		st.Delay = delay.String()
	}
	return st, nil
}

// The verb reaches the node's admin socket; a node without fault injection
// refuses with a message that says how to enable it.
func TestDebugFaultCommand(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		dir := t.TempDir()
		sock := filepath.Join(dir, "admin.sock")
		l, err := admin.ListenUnix(sock)
		if err != nil {
			t.Fatal(err)
		}
		srv := admin.NewServer(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		fi := &kdcFaultInjector{}
		if enabled {
			srv.EnableFaults(fi)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { srv.Serve(ctx, l); close(done) }()
		run := func(args ...string) (string, error) {
			root := newRootCommand()
			root.AddCommand(newDebugCommand())
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetArgs(append([]string{"--admin-socket", sock, "debug", "fault"}, args...))
			err := root.ExecuteContext(context.Background())
			return out.String(), err
		}
		out, err := run("kdc-slow", "250ms")
		switch {
		case !enabled:
			if err == nil || !strings.Contains(userMessage(err), "node.fault_injection: true") {
				t.Errorf("disabled node: %q, %v", out, err)
			}
		case err != nil || out != "faults in force: kdc slow 250ms, vrrp muted false\n":
			t.Errorf("enabled node: %q, %v", out, err)
		default:
			if m, d := fi.faults.State(); m != kdc.FaultSlow || d != 250*time.Millisecond {
				t.Errorf("KDC fault %s %s after kdc-slow 250ms", m, d)
			}
			if _, err := run("clear"); err != nil {
				t.Error(err)
			}
			if m, _ := fi.faults.State(); m != kdc.FaultNone {
				t.Errorf("KDC fault %s after clear", m)
			}
		}
		cancel()
		<-done
	}
}
