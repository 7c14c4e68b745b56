package admin

import (
	"context"
	"net/http"
	"net/url"
	"time"

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
	out := []PolicyJSON{}
	for _, p := range s.store.(PolicyStore).Policies() {
		out = append(out, PolicyToJSON(p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := s.store.(PolicyStore).Policy(r.URL.Query().Get("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, PolicyToJSON(p))
}

func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request) {
	var j PolicyJSON
	if !readJSON(w, r, &j) {
		return
	}
	p := j.Policy()
	if err := s.store.(PolicyStore).SetPolicy(r.Context(), p); err != nil {
		writeError(w, err)
		return
	}
	s.log.Info("password policy set", "policy", p.Name)
	writeJSON(w, http.StatusOK, PolicyToJSON(p))
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
	var js []PolicyJSON
	if err := c.do(ctx, http.MethodGet, "/v1/policies", nil, nil, &js); err != nil {
		return nil, err
	}
	out := make([]db.PasswordPolicy, len(js))
	for i, j := range js {
		out[i] = j.Policy()
	}
	return out, nil
}

// Policy returns one policy ("default" is the realm default, stored or
// built in).
func (c *Client) Policy(ctx context.Context, name string) (db.PasswordPolicy, error) {
	var j PolicyJSON
	err := c.do(ctx, http.MethodGet, "/v1/policy", nameQuery(name), nil, &j)
	return j.Policy(), err
}

// SetPolicy creates or replaces a policy.
func (c *Client) SetPolicy(ctx context.Context, p db.PasswordPolicy) error {
	return c.do(ctx, http.MethodPut, "/v1/policy", nil, PolicyToJSON(p), nil)
}

// DeletePolicy deletes a policy no principal names.
func (c *Client) DeletePolicy(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/policy", url.Values{"name": {name}}, nil, nil)
}

// PolicyJSON is the API's form of a password policy: db.PasswordPolicy
// with its durations as text (Duration), the stored form unchanged.
type PolicyJSON struct {
	db.PasswordPolicy
	MinLife         Duration `json:"min_life,omitempty"`
	MaxLife         Duration `json:"max_life,omitempty"`
	FailureInterval Duration `json:"failure_interval,omitempty"`
	LockoutDuration Duration `json:"lockout_duration,omitempty"`
}

// PolicyToJSON is p in its API form.
func PolicyToJSON(p db.PasswordPolicy) PolicyJSON {
	return PolicyJSON{PasswordPolicy: p, MinLife: Duration(p.MinLife), MaxLife: Duration(p.MaxLife),
		FailureInterval: Duration(p.FailureInterval), LockoutDuration: Duration(p.LockoutDuration)}
}

// Policy is the policy the API form carries.
func (j PolicyJSON) Policy() db.PasswordPolicy {
	p := j.PasswordPolicy
	p.MinLife, p.MaxLife = time.Duration(j.MinLife), time.Duration(j.MaxLife)
	p.FailureInterval, p.LockoutDuration = time.Duration(j.FailureInterval), time.Duration(j.LockoutDuration)
	return p
}
