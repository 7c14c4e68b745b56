package admin

import (
	"context"
	"net/http"
	"net/url"

	"github.com/kdcha/kdcha/kdc"
)

// KDC request counters: `kdcha stats` reads the serving KDC's per-worker
// counters (kdc.Stats) through GET /v1/kdc/stats, twice or more, and prints
// rates from their differences. Reading them costs the KDC a sum over its
// workers and no lock on the request path, so polling every second is fine.

// KDCStatsSource is the KDC whose counters the API serves (*kdc.Server).
type KDCStatsSource interface {
	// Stats returns the counters; perWorker adds each worker's own.
	Stats(perWorker bool) kdc.Stats
}

// EnableKDCStats serves the counters of src; call it before Serve.
func (s *Server) EnableKDCStats(src KDCStatsSource) { s.kdcStats = src }

func (s *Server) registerKDCStats() {
	s.mux.HandleFunc("GET /v1/kdc/stats", s.getKDCStats)
}

// errNoKDCStats answers a Server that serves no KDC.
const errNoKDCStats = "this node serves no KDC counters"

func (s *Server) getKDCStats(w http.ResponseWriter, r *http.Request) {
	if s.kdcStats == nil {
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: errNoKDCStats})
		return
	}
	writeJSON(w, http.StatusOK, s.kdcStats.Stats(r.URL.Query().Get("workers") == "true"))
}

// KDCStats returns the node's KDC counters; perWorker adds each worker's.
func (c *Client) KDCStats(ctx context.Context, perWorker bool) (kdc.Stats, error) {
	var q url.Values
	if perWorker {
		q = url.Values{"workers": {"true"}}
	}
	var out kdc.Stats
	return out, c.do(ctx, http.MethodGet, "/v1/kdc/stats", q, nil, &out)
}
