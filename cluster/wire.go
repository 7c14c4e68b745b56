package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// HTTP paths of the member RPC (ProtoRPC) and join (ProtoJoin) servers.
const (
	pathForward = "/v1/forward"
	pathStatus  = "/v1/status"
	pathJoin    = "/v1/join"
)

// Body limits: forwarded writes are admin commands (a few KiB; a bulk
// import stays far below this), join requests hold a token and a CSR.
const (
	maxForwardBytes = 32 << 20
	maxJoinBytes    = 64 << 10
)

// Error codes on the wire; the client maps them back to sentinels.
const (
	codeNotLeader    = "not_leader"
	codeTokenInvalid = "token_invalid"
	codeBadRequest   = "bad_request"
	codeNotMember    = "not_member"
	codeInternal     = "internal"
)

// JoinRequest is what a joining node sends over ProtoJoin.
type JoinRequest struct {
	// Token is the join token issued by the member being contacted.
	Token string `json:"token"`
	// NodeID is the joiner's node ID: its certificate CN and Raft ID.
	NodeID string `json:"node_id"`
	// Advertise is the joiner's cluster address, its Raft address.
	Advertise string `json:"advertise"`
	// CSR is a DER PKCS#10 request for the joiner's P-256 key.
	CSR []byte `json:"csr"`
}

// JoinResponse is the member's answer: everything a node needs to be a
// member. It carries the master key, so it only ever travels inside the
// TLS connection the joiner verified against the pinned CA. It does not
// carry the CA key: that stays sealed in the replicated database.
type JoinResponse struct {
	// NodeCert is the joiner's certificate, DER.
	NodeCert []byte `json:"node_cert"`
	// CACert is the cluster CA certificate, DER.
	CACert []byte `json:"ca_cert"`
	// Realm and MasterKey come from Handler.Admit.
	Realm     string `json:"realm"`
	MasterKey []byte `json:"master_key"`
}

// errorBody is every non-200 answer.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Leader is set with codeNotLeader.
	Leader string `json:"leader,omitempty"`
}

// writeError answers err with its code and HTTP status.
func writeError(w http.ResponseWriter, err error) {
	body := errorBody{Code: codeInternal, Message: err.Error()}
	status := http.StatusInternalServerError
	var nl *NotLeaderError
	switch {
	case errors.As(err, &nl):
		body.Code, body.Leader, status = codeNotLeader, nl.Leader, http.StatusMisdirectedRequest
	case errors.Is(err, ErrInvalidToken):
		body.Code, status = codeTokenInvalid, http.StatusForbidden
	case errors.Is(err, ErrNotMember):
		body.Code, status = codeNotMember, http.StatusForbidden
	case errors.Is(err, ErrInvalid):
		body.Code, status = codeBadRequest, http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// A failed write means the peer is gone; there is no one to tell.
	_ = json.NewEncoder(w).Encode(body)
}

// readError turns a non-200 answer from addr back into an error.
func readError(addr string, resp *http.Response) error {
	var body errorBody
	// A body cut short still makes the best message there is.
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(b, &body); err != nil || body.Code == "" {
		return &RemoteError{Addr: addr, Code: resp.Status, Message: string(b)}
	}
	switch body.Code {
	case codeNotLeader:
		return &NotLeaderError{Leader: body.Leader}
	case codeTokenInvalid:
		return fmt.Errorf("%w: %s answered: %s", ErrInvalidToken, addr, body.Message)
	case codeNotMember:
		return fmt.Errorf("%w: %s answered: %s", ErrNotMember, addr, body.Message)
	}
	return &RemoteError{Addr: addr, Code: body.Code, Message: body.Message}
}
