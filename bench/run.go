package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/types"
)

// builder makes one worker's requests.
type builder interface {
	build(nonce uint32, now time.Time) ([]byte, error)
}

// plan is what every worker shares, read-only.
type plan struct {
	cfg        Config
	newBuilder func() builder
	replyKey   types.EncryptionKey // decrypts sampled replies
	expected   map[string]bool     // reply classes that count as success
}

// workerStats are one worker's counts, merged at the end.
type workerStats struct {
	replies   map[string]int64
	latencies []time.Duration
	sampled   int64
	badSample int64
	sampleErr error
}

// Run benchmarks the KDC of c and returns the measured window's figures.
// It stops by itself after Warmup + Duration (plus at most Timeout for the
// last replies), or earlier when ctx is cancelled.
func Run(ctx context.Context, c Config) (*Result, error) {
	if err := c.fill(); err != nil {
		return nil, err
	}
	p, err := prepare(&c)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	measureFrom := start.Add(c.Warmup)
	end := measureFrom.Add(c.Duration)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()

	var tokens chan time.Time
	var notSent int64
	var dispatcher sync.WaitGroup
	if c.Rate > 0 {
		tokens = make(chan time.Time, c.Concurrency)
		dispatcher.Go(func() { notSent = dispatch(ctx, tokens, c.Rate, start, measureFrom) })
	}
	stats := make([]*workerStats, c.Concurrency)
	var workers sync.WaitGroup
	var ruFrom, ruTo syscall.Rusage
	for i := range stats {
		stats[i] = &workerStats{replies: map[string]int64{}}
		workers.Go(func() { p.work(ctx, stats[i], tokens, measureFrom, end) })
	}
	// The generator's own CPU time over the measured window.
	select {
	case <-time.After(time.Until(measureFrom)):
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ruFrom)
	case <-ctx.Done():
	}
	<-ctx.Done()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ruTo)
	window := time.Since(measureFrom)
	dispatcher.Wait()
	workers.Wait()
	if window < c.Duration/2 {
		return nil, fmt.Errorf("bench: interrupted after %s of %s", window.Round(time.Millisecond), c.Duration)
	}
	r := p.result(stats, window, notSent)
	r.CPU = cpuUse(ruFrom, ruTo, window, r.Requests)
	return r, nil
}

// prepare derives the keys, fetches the TGT for the TGS mode and builds the
// template.
func prepare(c *Config) (*plan, error) {
	p := &plan{cfg: *c}
	till := time.Now().Add(24 * time.Hour)
	var key types.EncryptionKey
	if c.Password != "" {
		var err error
		if key, err = clientKey(c); err != nil {
			return nil, err
		}
	}
	switch c.Mode {
	case ModeAS, ModeASPreauth:
		var preauth *types.EncryptionKey
		p.expected = map[string]bool{"AS-REP": true}
		if c.Mode == ModeAS {
			p.expected[errorClass(errorcode.KDC_ERR_PREAUTH_REQUIRED)] = true
		} else {
			preauth = &key
		}
		t, err := newASTemplate(c.Realm, c.Client, c.ETypes, till, preauth)
		if err != nil {
			return nil, err
		}
		p.newBuilder = func() builder { return t.builder() }
		p.replyKey = key
	case ModeTGS:
		tgt, sk, err := getTGT(c, key)
		if err != nil {
			return nil, err
		}
		t, err := newTGSTemplate(c.Realm, c.Client, c.Service, c.ETypes, till, tgt, sk)
		if err != nil {
			return nil, err
		}
		p.newBuilder = func() builder { return t.builder() }
		p.replyKey = sk
		p.expected = map[string]bool{"TGS-REP": true}
	}
	return p, nil
}

// dispatch schedules requests at rate until ctx ends; a request that finds
// every worker busy is counted (when in the measured window) and not sent:
// the generator never slows the schedule down to the KDC's pace.
func dispatch(ctx context.Context, tokens chan<- time.Time, rate float64, start, measureFrom time.Time) (notSent int64) {
	defer close(tokens)
	interval := time.Duration(float64(time.Second) / rate)
	next := start
	for {
		now := time.Now()
		for ; !next.After(now); next = next.Add(interval) {
			select {
			case tokens <- next:
			default:
				if !next.Before(measureFrom) {
					notSent++
				}
			}
		}
		select {
		case <-ctx.Done():
			return notSent
		case <-time.After(next.Sub(now)):
		}
	}
}

func (p *plan) work(ctx context.Context, s *workerStats, tokens <-chan time.Time, measureFrom, end time.Time) {
	b := p.newBuilder()
	var seed [4]byte
	_, _ = rand.Read(seed[:])
	nonce := binary.BigEndian.Uint32(seed[:])
	var rt roundTripper
	defer func() {
		if rt != nil {
			rt.close()
		}
	}()
	for n := 0; ; n++ {
		var scheduled time.Time
		if tokens != nil {
			t, ok := <-tokens
			if !ok {
				return
			}
			scheduled = t
		} else if ctx.Err() != nil {
			return
		}
		nonce++
		reqNonce := nonceBase | nonce&nonceMask
		req, err := b.build(reqNonce, time.Now())
		if err != nil {
			s.replies["build error"]++
			s.sampleErr = err
			return
		}
		if tokens == nil {
			// Closed loop: the latency is the round trip alone.
			scheduled = time.Now()
		}
		if !scheduled.Before(end) {
			return
		}
		if rt == nil {
			if rt, err = dial(p.cfg.Transport, p.cfg.KDC); err != nil {
				s.replies["network error"]++
				return
			}
		}
		reply, err := rt.roundTrip(req, time.Now().Add(p.cfg.Timeout))
		done := time.Now()
		measured := !scheduled.Before(measureFrom)
		if err != nil {
			// A fresh socket next time: a late reply must not answer the
			// next request.
			rt.close()
			rt = nil
			if measured {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
					s.replies["timeout"]++
				} else {
					s.replies["network error"]++
				}
			}
			continue
		}
		tag, code, err := checkReply(reply)
		class := "malformed reply"
		if err == nil {
			class = replyClassName(tag, code)
		}
		if !measured {
			continue
		}
		s.replies[class]++
		s.latencies = append(s.latencies, done.Sub(scheduled))
		if err == nil && n%p.cfg.SampleEvery == 0 {
			s.sampled++
			key := p.replyKey
			if tag == tagKRBError {
				key = types.EncryptionKey{}
			}
			if err := verifyReply(reply, tag, key, reqNonce); err != nil {
				s.badSample++
				s.sampleErr = err
			}
		}
	}
}

func errorClass(code int32) string {
	return fmt.Sprintf("KRB-ERROR %d", code)
}

func replyClassName(tag byte, code int32) string {
	switch tag {
	case tagASRep:
		return "AS-REP"
	case tagTGSRep:
		return "TGS-REP"
	}
	return errorClass(code)
}

func cpuUse(from, to syscall.Rusage, window time.Duration, requests int64) CPU {
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	u, s := tv(to.Utime)-tv(from.Utime), tv(to.Stime)-tv(from.Stime)
	c := CPU{UserSeconds: u.Seconds(), SystemSeconds: s.Seconds(), Cores: (u + s).Seconds() / window.Seconds()}
	if requests > 0 {
		c.MicrosPerRequest = float64((u + s).Microseconds()) / float64(requests)
	}
	return c
}
