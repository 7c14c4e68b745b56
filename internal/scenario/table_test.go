package scenario

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/node"
)

// variants are the configurations the scenario table compares, by name
// (KDCHA_SCENARIO_VARIANTS).
var variants = map[string]Options{
	// The shipped defaults (v3 at 100 ms, kinit probe over TCP): no VRRP
	// or health keys at all.
	"defaults": {},
	// keepalived's defaults, for mixed clusters.
	"v2-1s": {Instance: "      version: 2\n      advert_interval: 1s\n"},
	// The defaults with the VRRP threads at SCHED_RR priority 50
	// (keepalived's vrrp_rt_priority), for loaded hosts.
	"defaults-rt": {VRRP: "  realtime_priority: 50\n"},
	// The defaults with the agent's kinit probe over UDP, the default
	// before: a busy KDC's socket may drop a probe datagram with its
	// clients', where a TCP probe's segments are retransmitted.
	"v3-100ms-udp": {Extra: probeOver("udp")},
}

// probeOver replaces the agent's own kinit probe with the same probe over
// transport.
func probeOver(transport string) string {
	return fmt.Sprintf(`health:
  checks:
    - {name: kinit, type: kinit, transport: %s, kdc: "127.0.0.1:88", principal: "%s@%s", keytab: "{data_dir}/health.keytab"}
`, transport, node.ProbePrincipal, Realm)
}

// tableScenario is one row of the table: prepare brings the cluster to the
// starting point (n1 master unless said otherwise), fault is measured for
// window after it returns, recover brings n1 back.
type tableScenario struct {
	name, target string
	window       time.Duration
	prepare      func(*Cluster)
	fault        func(*Cluster)
	recover      func(*Cluster)
}

// row is the figures of one scenario over the runs.
type row struct {
	name, target string
	runs         []Summary
}

var capacityRe = regexp.MustCompile(`requests/s\s+(\d+)`)

// capacity measures what the master serves in a closed loop (from bench's
// report), in requests/s.
func capacity(t *testing.T, c *Cluster) float64 {
	out, err := c.Load(t.Context(), c.Node("n1"), 0, 32, 3*time.Second)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := capacityRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no requests/s in bench's report:\n%s", out)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// tableScenarios are issue 9's targets; window covers the slowest failover
// of the variant (v2: 3 x 1 s + skew).
func tableScenarios(t *testing.T, window time.Duration) []tableScenario {
	n := func(c *Cluster, name string) *Node { return c.Node(name) }
	var capRate float64
	// rate is times the master's capacity, measured once (the storm rows
	// may run without the busy-master row: KDCHA_SCENARIO_ONLY).
	rate := func(c *Cluster, times float64) float64 {
		if capRate == 0 {
			capRate = capacity(t, c)
		}
		return times * capRate
	}
	// load runs bench against n1 in the background for d at rate (0:
	// closed loop), and returns when it has started; the test waits for
	// it before it ends.
	load := func(c *Cluster, rate float64, d time.Duration) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if out, err := c.Load(t.Context(), n(c, "n1"), rate, 256, d); err != nil {
				t.Logf("load: %v\n%s", err, out)
			}
		}()
		t.Cleanup(func() { <-done })
		time.Sleep(500 * time.Millisecond) // let it ramp up before the fault
	}
	return []tableScenario{
		{name: "KDC hung, agent alive", target: "outage < 1 s", window: window,
			fault:   func(c *Cluster) { n(c, "n1").Fault("kdc-hang") },
			recover: func(c *Cluster) { n(c, "n1").Fault("clear") }},
		{name: "agent SIGKILLed", target: "outage < 0.6 s", window: window,
			fault:   func(c *Cluster) { n(c, "n1").Kill() },
			recover: func(c *Cluster) { n(c, "n1").Start() }},
		{name: "host dead (frozen + link down)", target: "outage < 0.6 s", window: window,
			fault:   func(c *Cluster) { n(c, "n1").Freeze() },
			recover: func(c *Cluster) { n(c, "n1").Revive() }},
		{name: "master link down, agent alive", target: "-", window: window,
			fault:   func(c *Cluster) { n(c, "n1").LinkDown() },
			recover: func(c *Cluster) { n(c, "n1").LinkUp() }},
		{name: "graceful stop (SIGTERM)", target: "0 failed, slowest < 1 s", window: window,
			fault:   func(c *Cluster) { n(c, "n1").Stop() },
			recover: func(c *Cluster) { n(c, "n1").Start() }},
		{name: "rolling restart n3, n2, n1", target: "0 failed, slowest < 1 s", window: window,
			fault: func(c *Cluster) {
				for _, name := range []string{"n3", "n2", "n1"} {
					n(c, name).Stop()
					n(c, name).Start()
					if !n(c, name).WaitHealthy(30 * time.Second) {
						t.Fatalf("%s: not healthy after its restart", name)
					}
				}
				c.WaitHolder(n(c, "n1"), 30*time.Second)
			}},
		{name: "crashed master restarts", target: "<= 1 move, after its verdict", window: 2 * window,
			prepare: func(c *Cluster) { n(c, "n1").Kill(); c.WaitHolder(n(c, "n2"), 30*time.Second) },
			fault:   func(c *Cluster) { n(c, "n1").Start() }},
		{name: "busy master (closed loop at capacity, 10 s)", target: "0 moves", window: 10 * time.Second,
			prepare: func(c *Cluster) { rate(c, 1) },
			fault:   func(c *Cluster) { load(c, 0, 10*time.Second) }},
		{name: "storm at 2x capacity (10 s)", target: "0 moves", window: 10 * time.Second,
			prepare: func(c *Cluster) { rate(c, 1) },
			fault:   func(c *Cluster) { load(c, rate(c, 2), 10*time.Second) }},
		{name: "KDC hung during a 2x storm", target: "outage < 1 s", window: window,
			prepare: func(c *Cluster) { rate(c, 1) },
			fault:   func(c *Cluster) { load(c, rate(c, 2), window+time.Second); n(c, "n1").Fault("kdc-hang") },
			recover: func(c *Cluster) { n(c, "n1").Fault("clear") }},
	}
}

// TestScenarioTable runs every scenario of issue 9 KDCHA_SCENARIO_RUNS
// times (default 5) for each of KDCHA_SCENARIO_VARIANTS (default
// "defaults"; see variants) and prints medians with min-max. Long (about
// 10 minutes per variant): set KDCHA_SCENARIOS=1; deploy/scenarios.sh
// does.
func TestScenarioTable(t *testing.T) {
	if os.Getenv("KDCHA_SCENARIOS") != "1" {
		t.Skip("scenario table: set KDCHA_SCENARIOS=1 (deploy/scenarios.sh) to run it")
	}
	runs := 5
	if s := os.Getenv("KDCHA_SCENARIO_RUNS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 50 {
			t.Fatalf("KDCHA_SCENARIO_RUNS=%q: want 1..50", s)
		}
		runs = v
	}
	names := strings.Split(cmp.Or(os.Getenv("KDCHA_SCENARIO_VARIANTS"), "defaults"), ",")
	only := os.Getenv("KDCHA_SCENARIO_ONLY") // substring of scenario names
	var out strings.Builder
	for _, name := range names {
		o, ok := variants[name]
		if !ok {
			t.Fatalf("unknown variant %q (have %v)", name, slices.Sorted(maps.Keys(variants)))
		}
		o.Bin = kdchaBin
		// Longer than the slowest failover: 3 x advert + skew, plus slack.
		window := 3 * time.Second
		if strings.Contains(o.Instance, "version: 2") {
			window = 6 * time.Second
		}
		t.Run(name, func(t *testing.T) {
			c := Start(t, o)
			cl := c.StartClient(ClientTimeout)
			var rows []row
			for _, sc := range tableScenarios(t, window) {
				if only != "" && !strings.Contains(sc.name, only) {
					continue
				}
				r := row{name: sc.name, target: sc.target}
				for i := range runs {
					c.WaitHolder(c.Node("n1"), 60*time.Second)
					// A few settled seconds between runs, staggered so faults hit
					// every phase of the advert cycle.
					time.Sleep(2*time.Second + time.Duration(i)*time.Second/time.Duration(runs))
					if sc.prepare != nil {
						sc.prepare(c)
					}
					s := c.Measure(cl, sc.window, func() { sc.fault(c) })
					t.Logf("%s | %s run %d: %+v", name, sc.name, i, s)
					r.runs = append(r.runs, s)
					if sc.recover != nil {
						sc.recover(c)
					}
				}
				rows = append(rows, r)
			}
			writeTable(&out, name, runs, rows)
		})
	}
	t.Logf("\n%s", out.String())
	if path := os.Getenv("KDCHA_SCENARIO_OUT"); path != "" {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// writeTable prints a markdown table: median (min-max) of each figure.
func writeTable(b *strings.Builder, variant string, runs int, rows []row) {
	fmt.Fprintf(b, "\nvariant %s: median (min-max) of %d runs; outage = longest gap between successful kinits\n\n", variant, runs)
	fmt.Fprintf(b, "| scenario | target | took over | VIP move s | outage s | failed kinits | slowest s | VIP moves |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		sec := func(f func(Summary) time.Duration) string {
			return stat(r.runs, func(s Summary) float64 { return f(s).Seconds() }, "%.2f")
		}
		count := func(f func(Summary) int) string {
			return stat(r.runs, func(s Summary) float64 { return float64(f(s)) }, "%.0f")
		}
		took := map[string]int{}
		for _, s := range r.runs {
			took[cmp.Or(s.TookOver, "-")]++
		}
		var tk []string
		for _, k := range slices.Sorted(maps.Keys(took)) {
			tk = append(tk, fmt.Sprintf("%s x%d", k, took[k]))
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, r.target, strings.Join(tk, ", "),
			sec(func(s Summary) time.Duration { return s.VIPMove }), sec(func(s Summary) time.Duration { return s.Outage }),
			count(func(s Summary) int { return s.Failed }), sec(func(s Summary) time.Duration { return s.Slowest }),
			count(func(s Summary) int { return s.Moves }))
	}
}

// stat is "median (min-max)" of f over runs.
func stat(runs []Summary, f func(Summary) float64, format string) string {
	var v []float64
	for _, s := range runs {
		v = append(v, f(s))
	}
	slices.Sort(v)
	if len(v) == 0 {
		return "-"
	}
	return fmt.Sprintf(format+" ("+format+"-"+format+")", v[len(v)/2], v[0], v[len(v)-1])
}
