package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/kdcha/kdcha/kdc"
)

// Fault injection: an operator (a test, a demo) hangs or slows this node's
// KDC, or mutes its VRRP adverts, in a running agent, so that "KDC hung,
// agent alive" is produced without firewall tricks. The endpoint exists on
// every node but refuses with 403 unless the node was started with fault
// injection enabled (node.fault_injection: true), which gives the Server a
// FaultInjector (EnableFaults); like every admin endpoint it is reachable
// only through the 0600 admin socket.

// FaultRequest is the body of POST /v1/debug/faults. Fields left out are
// unchanged.
type FaultRequest struct {
	// KDC is "hang" (requests are read and held unanswered), "slow" (each
	// answer is delayed by Delay) or "none".
	KDC string `json:"kdc,omitempty"`
	// Delay is the added latency of "slow", as a Go duration ("200ms").
	Delay string `json:"delay,omitempty"`
	// VRRPMute stops (true) or resumes (false) this node's VRRP adverts.
	VRRPMute *bool `json:"vrrp_mute,omitempty"`
}

// FaultChange is a validated FaultRequest.
type FaultChange struct {
	// KDC is the KDC fault to set; empty leaves it unchanged.
	KDC kdc.FaultMode
	// Delay is FaultSlow's added latency (0 otherwise).
	Delay time.Duration
	// VRRPMute, when not nil, mutes or unmutes VRRP.
	VRRPMute *bool
}

// FaultState is the faults in force, the answer of POST /v1/debug/faults.
type FaultState struct {
	KDC      kdc.FaultMode `json:"kdc"`
	Delay    string        `json:"delay,omitempty"`
	VRRPMute bool          `json:"vrrp_mute"`
}

// FaultInjector applies faults to the running node (the agent implements
// it with kdc.Faults and the VRRP instances' mute switch).
type FaultInjector interface {
	// InjectFaults applies c and returns the faults now in force.
	InjectFaults(ctx context.Context, c FaultChange) (FaultState, error)
}

// EnableFaults serves fault injection through fi; call it before Serve,
// and only when the operator enabled fault injection.
func (s *Server) EnableFaults(fi FaultInjector) { s.faults = fi }

// errFaultsDisabled is the answer of a node started without fault injection.
const errFaultsDisabled = "fault injection is disabled on this node: set node.fault_injection: true in its configuration and restart it (never in production)"

func (s *Server) registerFaults() {
	s.mux.HandleFunc("POST /v1/debug/faults", s.injectFaults)
}

// maxFaultBody caps a fault request (a few dozen bytes).
const maxFaultBody = 1 << 10

func (s *Server) injectFaults(w http.ResponseWriter, r *http.Request) {
	if s.faults == nil {
		writeJSON(w, http.StatusForbidden, errorBody{Error: errFaultsDisabled})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFaultBody))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("fault request: %v", err)})
		return
	}
	c, err := ParseFaultRequest(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
		return
	}
	st, err := s.faults.InjectFaults(r.Context(), c)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: fmt.Sprintf("inject faults: %v", err)})
		return
	}
	s.log.Warn("faults injected on admin request", "kdc", st.KDC, "delay", st.Delay, "vrrp_mute", st.VRRPMute)
	writeJSON(w, http.StatusOK, st)
}

// ParseFaultRequest decodes and validates a POST /v1/debug/faults body.
func ParseFaultRequest(body []byte) (FaultChange, error) {
	var req FaultRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return FaultChange{}, fmt.Errorf("fault request: %w", err)
	}
	c := FaultChange{KDC: kdc.FaultMode(req.KDC), VRRPMute: req.VRRPMute}
	if req.Delay != "" {
		d, err := time.ParseDuration(req.Delay)
		if err != nil {
			return FaultChange{}, fmt.Errorf("fault request: delay: %w", err)
		}
		c.Delay = d
	}
	if c.KDC == "" {
		if c.Delay != 0 {
			return FaultChange{}, fmt.Errorf("fault request: delay needs kdc %q", kdc.FaultSlow)
		}
		if c.VRRPMute == nil {
			return FaultChange{}, errors.New("fault request: nothing to change (kdc or vrrp_mute)")
		}
	} else if err := kdc.ValidateFault(c.KDC, c.Delay); err != nil {
		return FaultChange{}, fmt.Errorf("fault request: %w", err)
	}
	return c, nil
}

// InjectFaults asks the node to apply req and returns the faults in force.
func (c *Client) InjectFaults(ctx context.Context, req FaultRequest) (FaultState, error) {
	var out FaultState
	return out, c.do(ctx, http.MethodPost, "/v1/debug/faults", nil, req, &out)
}
