package readiness

import (
	"encoding/json"
	"net/http"
)

// Healthz serves liveness: 200 while every loop beats within its budget,
// 503 otherwise. A monitor restarting on /healthz failures restarts only a
// hung process, never one that is still starting.
func (s *Set) Healthz() http.Handler {
	return s.handler(func(r Report) bool { return r.Alive })
}

// Readyz serves readiness: 200 when alive and every condition is met, 503
// otherwise; a load balancer sends traffic only on 200.
func (s *Set) Readyz() http.Handler {
	return s.handler(func(r Report) bool { return r.Ready })
}

// Register adds /healthz and /readyz to mux.
func (s *Set) Register(mux *http.ServeMux) {
	mux.Handle("/healthz", s.Healthz())
	mux.Handle("/readyz", s.Readyz())
}

// handler writes the whole Report either way, so the 503 says why.
func (s *Set) handler(ok func(Report) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r := s.Report()
		body, _ := json.Marshal(r) // plain strings, bools, numbers and times: cannot fail
		w.Header().Set("Content-Type", "application/json")
		// A cached 200 would hide a failure from the next probe.
		w.Header().Set("Cache-Control", "no-store")
		code := http.StatusOK
		if !ok(r) {
			code = http.StatusServiceUnavailable
		}
		w.WriteHeader(code)
		if req.Method == http.MethodGet {
			w.Write(append(body, '\n'))
		}
	})
}
