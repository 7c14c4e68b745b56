package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
)

// Result is what one run measured, over its measured window only.
type Result struct {
	KDC         string  `json:"kdc"`
	Transport   string  `json:"transport"`
	Mode        Mode    `json:"mode"`
	Loop        string  `json:"loop"` // "closed" or "open"
	Concurrency int     `json:"concurrency"`
	TargetRate  float64 `json:"target_rate,omitempty"`
	Seconds     float64 `json:"seconds"`
	// Requests counts those sent in the window that got a reply or timed
	// out; OK those whose reply is of an expected class for the mode.
	Requests int64 `json:"requests"`
	OK       int64 `json:"ok"`
	// RequestsPerSecond is OK / Seconds: answered as the mode expects.
	RequestsPerSecond float64 `json:"requests_per_second"`
	// Replies counts every outcome by class: AS-REP, TGS-REP,
	// "KRB-ERROR <code>", timeout, network error, malformed reply.
	Replies map[string]int64 `json:"replies"`
	// Errors is the part of Replies that is not expected for the mode.
	Errors map[string]int64 `json:"errors"`
	// NotSent counts open-loop requests due while every worker was busy.
	NotSent int64   `json:"not_sent,omitempty"`
	Latency Latency `json:"latency_ms"`
	// Sampled replies were fully decoded (and decrypted when a reply
	// carries a ticket); BadSamples failed that.
	Sampled    int64  `json:"sampled"`
	BadSamples int64  `json:"bad_samples"`
	SampleErr  string `json:"sample_error,omitempty"`
	CPU        CPU    `json:"generator_cpu"`
}

// Latency percentiles of answered requests, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// CPU is the generator's own CPU use over the window.
type CPU struct {
	UserSeconds   float64 `json:"user_seconds"`
	SystemSeconds float64 `json:"system_seconds"`
	// Cores is CPU time over wall time: 1 means one core busy.
	Cores            float64 `json:"cores"`
	MicrosPerRequest float64 `json:"us_per_request"`
}

func (p *plan) result(stats []*workerStats, window time.Duration, notSent int64) *Result {
	c := p.cfg
	r := &Result{KDC: c.KDC, Transport: c.Transport, Mode: c.Mode, Loop: "closed", Concurrency: c.Concurrency,
		TargetRate: c.Rate, Seconds: window.Seconds(), Replies: map[string]int64{}, Errors: map[string]int64{}, NotSent: notSent}
	if c.Rate > 0 {
		r.Loop = "open"
	}
	var lat []time.Duration
	for _, s := range stats {
		for k, v := range s.replies {
			r.Replies[k] += v
			r.Requests += v
			if p.expected[k] {
				r.OK += v
			} else {
				r.Errors[k] += v
			}
		}
		lat = append(lat, s.latencies...)
		r.Sampled += s.sampled
		r.BadSamples += s.badSample
		if s.sampleErr != nil && r.SampleErr == "" {
			r.SampleErr = s.sampleErr.Error()
		}
	}
	r.RequestsPerSecond = float64(r.OK) / r.Seconds
	slices.Sort(lat)
	pct := func(q float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(math.Ceil(q*float64(len(lat)))) - 1
		return float64(lat[max(i, 0)]) / float64(time.Millisecond)
	}
	r.Latency = Latency{P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), P999: pct(0.999), Max: pct(1)}
	return r
}

// WriteJSON writes r as one JSON object.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r for a person.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	loop := fmt.Sprintf("closed loop, %d in flight", r.Concurrency)
	if r.Loop == "open" {
		loop = fmt.Sprintf("open loop at %.0f/s, at most %d in flight", r.TargetRate, r.Concurrency)
	}
	fmt.Fprintf(&b, "kdcha bench: %s over %s to %s, %s, %.1fs measured\n", r.Mode, r.Transport, r.KDC, loop, r.Seconds)
	fmt.Fprintf(&b, "  requests/s  %.0f  (%d ok of %d)\n", r.RequestsPerSecond, r.OK, r.Requests)
	fmt.Fprintf(&b, "  replies     %s\n", classes(r.Replies))
	if len(r.Errors) > 0 {
		fmt.Fprintf(&b, "  errors      %s\n", classes(r.Errors))
	}
	if r.NotSent > 0 {
		fmt.Fprintf(&b, "  not sent    %d (every worker busy: raise --concurrency)\n", r.NotSent)
	}
	fmt.Fprintf(&b, "  latency ms  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max)
	fmt.Fprintf(&b, "  sampled     %d decoded and checked, %d bad", r.Sampled, r.BadSamples)
	if r.SampleErr != "" {
		fmt.Fprintf(&b, " (%s)", r.SampleErr)
	}
	fmt.Fprintf(&b, "\n  generator   %.2f cores (user %.2fs sys %.2fs), %.1f us CPU per request\n", r.CPU.Cores, r.CPU.UserSeconds, r.CPU.SystemSeconds, r.CPU.MicrosPerRequest)
	_, err := io.WriteString(w, b.String())
	return err
}

// classes lists counts by class, KRB-ERRORs with their names.
func classes(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		name := k
		var code int32
		if _, err := fmt.Sscanf(k, "KRB-ERROR %d", &code); err == nil {
			if f := strings.Fields(errorcode.Lookup(code)); len(f) > 1 {
				name = fmt.Sprintf("%s %s", k, f[1])
			}
		}
		parts = append(parts, fmt.Sprintf("%s: %d", name, m[k]))
	}
	return strings.Join(parts, ", ")
}
