package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/kdcha/kdcha/kdc/db"
)

// Migration endpoints: importing a whole realm (decrypted by the CLI from
// an MIT dump) and exporting one, keys included, for an MIT dump. They
// carry key material like the keytab endpoint, over the same 0600 socket.

// Migrator is what the migration endpoints need; a Store that also
// implements it gets them.
type Migrator interface {
	Import(ctx context.Context, req db.ImportRequest) (*db.ImportResult, error)
	Policies() []db.PasswordPolicy
}

// maxImportBody caps an import request (keys in the clear, JSON): the
// database's own bound on one import plus the JSON overhead.
const maxImportBody = 2 * db.MaxImportBytes

// Export is the whole database with keys, for an MIT dump.
type Export struct {
	Realm      string              `json:"realm"`
	Principals []*db.Principal     `json:"principals"`
	Policies   []db.PasswordPolicy `json:"policies"`
}

func (s *Server) registerMigration() {
	if _, ok := s.store.(Migrator); !ok {
		return
	}
	s.mux.HandleFunc("POST /v1/import", s.importRealm)
	s.mux.HandleFunc("GET /v1/export", s.exportRealm)
}

func (s *Server) importRealm(w http.ResponseWriter, r *http.Request) {
	var req db.ImportRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxImportBody)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("bad import request: %v", err)})
		return
	}
	res, err := s.store.(Migrator).Import(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	s.audit(r, "realm.import", "created", len(res.Created), "replaced", len(res.Replaced), "policies", res.Policies, "dry_run", res.DryRun)
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) exportRealm(w http.ResponseWriter, r *http.Request) {
	// An export feeds a migration: it must be complete, never stale.
	if _, err := s.store.SyncRead(r.Context(), true); err != nil {
		writeError(w, err)
		return
	}
	ps := s.store.List()
	s.audit(r, "realm.export", "principals", len(ps))
	writeJSON(w, http.StatusOK, Export{Realm: s.store.Realm(), Principals: ps, Policies: s.store.(Migrator).Policies()})
}

// Import runs an import on the node.
func (c *Client) Import(ctx context.Context, req db.ImportRequest) (*db.ImportResult, error) {
	var out db.ImportResult
	return &out, c.do(ctx, http.MethodPost, "/v1/import", nil, req, &out)
}

// Export fetches the whole database with keys.
func (c *Client) Export(ctx context.Context) (*Export, error) {
	var out Export
	return &out, c.do(ctx, http.MethodGet, "/v1/export", nil, nil, &out)
}
