package admin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/kdcha/kdcha/kdc"
	"github.com/kdcha/kdcha/kdc/db"
)

// fakeKDCStats returns fixed counters and records what was asked.
type fakeKDCStats struct{ perWorker []bool }

func (f *fakeKDCStats) Stats(perWorker bool) kdc.Stats {
	f.perWorker = append(f.perWorker, perWorker)
	st := kdc.Stats{At: time.Unix(1700000000, 0).UTC(), LatencyBounds: kdc.LatencyBounds(),
		Total: kdc.WorkerStats{Worker: "total", AS: kdc.ExchangeStats{Results: map[string]uint64{"ISSUE": 7}}, Shed: 3}}
	if perWorker {
		st.Workers = []kdc.WorkerStats{{Worker: "udp 127.0.0.1:88 #0", Shed: 3}}
	}
	return st
}

// TestKDCStatsEndpoint: GET /v1/kdc/stats serves the KDC's counters, per
// worker when asked, and 503 on a node that serves none.
func TestKDCStatsEndpoint(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := db.Open(db.Options{DataDir: filepath.Join(t.TempDir(), "db"), Realm: "ADMIN.TEST", CreateIfMissing: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	serve := func(src KDCStatsSource) *Client {
		sock := filepath.Join(t.TempDir(), "admin.sock")
		l, err := ListenUnix(sock)
		if err != nil {
			t.Fatal(err)
		}
		s := NewServer(d, nil, log)
		if src != nil {
			s.EnableKDCStats(src)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Serve(ctx, l); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		return NewClient(sock)
	}
	ctx := context.Background()
	src := &fakeKDCStats{}
	c := serve(src)
	st, err := c.KDCStats(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total.AS.Results["ISSUE"] != 7 || st.Total.Shed != 3 || len(st.Workers) != 0 || len(st.LatencyBounds) == 0 || !st.At.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("stats %+v", st)
	}
	if st, err = c.KDCStats(ctx, true); err != nil || len(st.Workers) != 1 || st.Workers[0].Shed != 3 {
		t.Errorf("per worker: %+v, %v", st, err)
	}
	if len(src.perWorker) != 2 || src.perWorker[0] || !src.perWorker[1] {
		t.Errorf("asked per worker %v, want [false true]", src.perWorker)
	}
	var apiErr *APIError
	if _, err := serve(nil).KDCStats(ctx, false); !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable {
		t.Errorf("without a KDC: %v, want 503", err)
	}
}
