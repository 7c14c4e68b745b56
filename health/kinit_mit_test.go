package health

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
)

func TestKinitProbeMITHealthy(t *testing.T) {
	k := startMITKDC(t)
	for _, tc := range []struct {
		name      string
		transport Transport
		service   string
	}{
		{"udp AS", TransportUDP, ""},
		{"tcp AS", TransportTCP, ""},
		{"udp AS+TGS", TransportUDP, k.service},
		{"tcp AS+TGS", TransportTCP, k.service},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			r := k.probe(t, tc.transport, tc.service).Run(ctx)
			if !r.OK() {
				t.Fatalf("probe failed: %v", r.Err)
			}
			if r.Duration <= 0 || r.Duration > time.Second {
				t.Errorf("duration %v out of (0, 1s]", r.Duration)
			}
		})
	}
	t.Run("udp AS without preauth", func(t *testing.T) {
		r := runProbe(t, KinitOptions{KDC: k.addr, Transport: TransportUDP, Principal: "nopreauth@" + mitRealm,
			Keytab: filepath.Join(k.dir, "nopreauth.keytab")}, time.Second)
		if !r.OK() {
			t.Fatalf("probe failed: %v", r.Err)
		}
	})
	// The KDC log proves the probe went through preauthentication and the
	// TGS, as a real kinit + kvno would.
	log, err := os.ReadFile(filepath.Join(k.dir, "kdc.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NEEDED_PREAUTH: probe@TEST.REALM", "ISSUE: authtime", "probe@TEST.REALM for host/kdc.test@TEST.REALM"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("kdc.log lacks %q:\n%s", want, log)
		}
	}
}

func TestKinitProbeMITFailures(t *testing.T) {
	k := startMITKDC(t)
	for _, tc := range []struct {
		name     string
		opts     KinitOptions
		wantCode int32
		wantStep string
	}{
		{"stale keytab", KinitOptions{Principal: k.principal, Keytab: k.staleKeytab},
			errorcode.KDC_ERR_PREAUTH_FAILED, stepASPreauth},
		{"unknown principal", KinitOptions{Principal: "nobody@" + mitRealm, Keytab: testKeytab(t, "nobody", mitRealm, "x", 1)},
			errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, stepAS},
		{"unknown service", KinitOptions{Principal: k.principal, Keytab: k.keytab, Service: "host/missing.test"},
			errorcode.KDC_ERR_S_PRINCIPAL_UNKNOWN, stepTGS},
	} {
		for _, tr := range []Transport{TransportUDP, TransportTCP} {
			t.Run(tc.name+" "+string(tr), func(t *testing.T) {
				o := tc.opts
				o.KDC, o.Transport = k.addr, tr
				r := runProbe(t, o, time.Second)
				var ke *KRBError
				if r.Kind() != KindKRBError || !errors.As(r.Err, &ke) || ke.Code != tc.wantCode {
					t.Fatalf("got %v (%v), want KRB error %d", r.Kind(), r.Err, tc.wantCode)
				}
				var ce *CheckError
				if errors.As(r.Err, &ce) && ce.Step != tc.wantStep {
					t.Errorf("step %q, want %q", ce.Step, tc.wantStep)
				}
			})
		}
	}
}

// TestKinitProbeMITFrozen freezes krb5kdc with SIGSTOP: the process is
// alive and its sockets are open (TCP handshakes still complete in the
// kernel) but nothing answers, the failure that defeats process-alive
// checks. Then it kills it: nothing listens any more.
func TestKinitProbeMITFrozen(t *testing.T) {
	k := startMITKDC(t)
	const timeout = 300 * time.Millisecond
	k.signal(t, syscall.SIGSTOP)
	for _, tr := range []Transport{TransportUDP, TransportTCP} {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		r := k.probe(t, tr, "").Run(ctx)
		cancel()
		if r.Kind() != KindTimeout || !errors.Is(r.Err, ErrNoReply) {
			t.Errorf("%s against a frozen KDC: %v (%v), want timeout", tr, r.Kind(), r.Err)
		}
		if r.Duration < timeout-10*time.Millisecond || r.Duration > timeout+200*time.Millisecond {
			t.Errorf("%s: run took %v, want about the %v timeout", tr, r.Duration, timeout)
		}
	}
	k.signal(t, syscall.SIGCONT)
	if r := runProbe(t, KinitOptions{KDC: k.addr, Transport: TransportUDP, Principal: k.principal, Keytab: k.keytab}, time.Second); !r.OK() {
		t.Fatalf("after SIGCONT: %v", r.Err)
	}

	if err := k.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = k.cmd.Wait()
	for _, tr := range []Transport{TransportUDP, TransportTCP} {
		r := runProbe(t, KinitOptions{KDC: k.addr, Transport: tr, Principal: k.principal, Keytab: k.keytab}, timeout)
		if r.Kind() != KindNetwork {
			t.Errorf("%s against a dead KDC: %v (%v), want a network failure (connection refused)", tr, r.Kind(), r.Err)
		}
	}
}

// TestRunnerMITFreezeDropsPriority runs the whole chain, kinit probe ->
// tracker -> aggregate -> OnChange, against a real KDC with fast settings:
// freezing the KDC must publish the negative weight with a timeout reason,
// thawing it must restore the priority.
func TestRunnerMITFreezeDropsPriority(t *testing.T) {
	k := startMITKDC(t)
	cfg := Config{Checks: []CheckConfig{{
		Type: CheckKinit, KDC: k.addr, Principal: k.principal, Keytab: k.keytab, Service: k.service,
		Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond,
	}}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	checks, err := NewChecks(cfg)
	if err != nil {
		t.Fatal(err)
	}
	verdicts := make(chan Verdict, 16)
	r := NewRunner(checks, RunnerOptions{Logger: quietLogger(), OnChange: func(v Verdict) { verdicts <- v }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)

	nextVerdict(t, verdicts) // initial, pending
	if v := nextVerdict(t, verdicts); v != (Verdict{}) {
		t.Fatalf("healthy KDC: verdict %+v, want all clear", v)
	}
	k.signal(t, syscall.SIGSTOP)
	frozen := time.Now()
	v := nextVerdict(t, verdicts)
	if v.Delta != DefaultKinitWeight || !strings.Contains(v.Reason, fmt.Sprintf("kinit failed %d times: timeout", DefaultKinitFall)) {
		t.Errorf("frozen KDC: verdict %+v, want delta %d with a timeout reason", v, DefaultKinitWeight)
	}
	// fall·interval + timeout, with slack for a loaded machine.
	if d := time.Since(frozen); d > time.Second {
		t.Errorf("priority dropped %v after the freeze, want about 400ms", d)
	}
	k.signal(t, syscall.SIGCONT)
	if v := nextVerdict(t, verdicts); v != (Verdict{}) {
		t.Errorf("thawed KDC: verdict %+v, want all clear", v)
	}
}
