package admin

import (
	"context"
	"log/slog"
	"net/http"
)

// StatusReporter is what a status-only API serves.
type StatusReporter interface {
	// NodeStatus returns the whole node at a glance.
	NodeStatus(ctx context.Context) (NodeStatus, error)
}

// NewStatusServer returns an API that serves only GET /v1/status (`kdcha
// status`), for a node without a principal database (mode keepalived):
// there is nothing else to administer. Every other request is answered
// 404 with why, so `kdcha principal list` says what is wrong instead of
// "not found".
func NewStatusServer(src StatusReporter, why string, log *slog.Logger) *Server {
	s := &Server{log: log, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		st, err := src.NodeStatus(r.Context())
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: why})
	})
	return s
}
