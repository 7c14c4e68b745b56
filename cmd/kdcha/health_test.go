package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kdcha/kdcha/health"
)

// TestHealthProbeAgainstKdcha runs the kinit health probe against a real
// kdcha KDC: healthy, wrong keytab, frozen process.
func TestHealthProbeAgainstKdcha(t *testing.T) {
	n := startDev(t, nil)
	n.kdcha("principal", "add", "kdcha/health", "--random-key")
	// The probe exercises preauthentication, as the agent's own probe
	// principal does.
	n.kdcha("principal", "modify", "kdcha/health", "--requires-preauth")
	n.kdcha("principal", "add", "host/probe.example.com", "--random-key")
	kt := filepath.Join(t.TempDir(), "probe.keytab")
	n.kdcha("keytab", "export", "kdcha/health", "-o", kt)

	probe := func(tr health.Transport, service string) health.Result {
		p, err := health.NewKinitProbe(health.KinitOptions{KDC: n.addr, Transport: tr, Principal: "kdcha/health@DEV.KDCHA.TEST", Keytab: kt, Service: service})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return p.Run(ctx)
	}
	for _, tr := range []health.Transport{health.TransportUDP, health.TransportTCP} {
		for _, svc := range []string{"", "host/probe.example.com"} {
			if r := probe(tr, svc); !r.OK() {
				t.Fatalf("probe %s service=%q against a healthy KDC: %v", tr, svc, r.Err)
			}
		}
	}
	// The same probe from the command line, as an operator runs it.
	out := n.kdcha("probe", "--kdc", n.addr, "--principal", "kdcha/health@DEV.KDCHA.TEST", "--keytab", kt, "--count", "20", "--transport", "tcp")
	if !strings.Contains(out, "n=20 failed=0 p50=") {
		t.Fatalf("kdcha probe --count 20:\n%s", out)
	}
	if out, err := n.run("", kdchaBin, "probe", "--kdc", n.addr, "--principal", "nobody@DEV.KDCHA.TEST", "--keytab", kt); err == nil || !strings.Contains(out, "failed") {
		t.Fatalf("kdcha probe of an unknown principal: err=%v\n%s", err, out)
	}
	if r := probe(health.TransportUDP, "host/missing.example.com"); r.Kind() != health.KindKRBError {
		t.Fatalf("probe for an unknown service: kind %s (%v), want krb-error", r.Kind(), r.Err)
	}

	// After a rekey the exported keytab is stale: a KRB error, not a timeout.
	n.kdcha("principal", "rekey", "kdcha/health")
	r := probe(health.TransportUDP, "")
	var kerr *health.KRBError
	if r.Kind() != health.KindKRBError || !errors.As(r.Err, &kerr) || kerr.Code != 24 {
		t.Fatalf("probe with a stale keytab: kind %s (%v), want KRB error 24", r.Kind(), r.Err)
	}
	os.Remove(kt)
	n.kdcha("keytab", "export", "kdcha/health", "-o", kt)

	// A frozen KDC process (alive, not answering) is a timeout.
	pid := devPid(t, n)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	for _, tr := range []health.Transport{health.TransportUDP, health.TransportTCP} {
		if r := probe(tr, ""); r.Kind() != health.KindTimeout {
			t.Fatalf("probe %s of a frozen KDC: kind %s (%v), want timeout", tr, r.Kind(), r.Err)
		}
	}
	syscall.Kill(pid, syscall.SIGCONT)
	if r := probe(health.TransportUDP, ""); !r.OK() {
		t.Fatalf("probe after thaw: %v", r.Err)
	}
}

// devPid finds the kdcha dev process serving n's data dir.
func devPid(t *testing.T, n *devNode) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 2 && args[1] == "dev" && slices.Contains(args, n.dir) {
			return pid
		}
	}
	t.Fatal("kdcha dev process not found")
	return 0
}
