package admin

import (
	"context"
	"net/http"
	"net/url"

	"github.com/kdcha/kdcha/kdc/db"
)

// Password policy endpoints. A policy refusal of a password on any
// principal endpoint is a 400 whose text names the policy and the rule.

// PolicyStore is what the policy endpoints need; a Store that also
// implements it gets them.
type PolicyStore interface {
	Policies() []db.PasswordPolicy
	Policy(name string) (db.PasswordPolicy, error)
	SetPolicy(ctx context.Context, p db.PasswordPolicy) error
	DeletePolicy(ctx context.Context, name string) error
}

func (s *Server) registerPolicies() {
	if _, ok := s.store.(PolicyStore); !ok {
		return
	}
	s.mux.HandleFunc("GET /v1/policies", s.listPolicies)
	s.mux.HandleFunc("GET /v1/policy", s.getPolicy)
	s.mux.HandleFunc("PUT /v1/policy", s.putPolicy)
	s.mux.HandleFunc("DELETE /v1/policy", s.deletePolicy)
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.store.(PolicyStore).Policies())
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := s.store.(PolicyStore).Policy(r.URL.Query().Get("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request) {
	var p db.PasswordPolicy
	if !readJSON(w, r, &p) {
		return
	}
	if err := s.store.(PolicyStore).SetPolicy(r.Context(), p); err != nil {
		writeError(w, err)
		return
	}
	s.log.Info("password policy set", "policy", p.Name)
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if err := s.store.(PolicyStore).DeletePolicy(r.Context(), name); err != nil {
		writeError(w, err)
		return
	}
	s.log.Info("password policy deleted", "policy", name)
	w.WriteHeader(http.StatusNoContent)
}

// Policies returns the stored password policies.
func (c *Client) Policies(ctx context.Context) ([]db.PasswordPolicy, error) {
	var out []db.PasswordPolicy
	return out, c.do(ctx, http.MethodGet, "/v1/policies", nil, nil, &out)
}

// Policy returns one policy ("default" is the realm default, stored or
// built in).
func (c *Client) Policy(ctx context.Context, name string) (db.PasswordPolicy, error) {
	var out db.PasswordPolicy
	return out, c.do(ctx, http.MethodGet, "/v1/policy", nameQuery(name), nil, &out)
}

// SetPolicy creates or replaces a policy.
func (c *Client) SetPolicy(ctx context.Context, p db.PasswordPolicy) error {
	return c.do(ctx, http.MethodPut, "/v1/policy", nil, p, nil)
}

// DeletePolicy deletes a policy no principal names.
func (c *Client) DeletePolicy(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/policy", url.Values{"name": {name}}, nil, nil)
}
