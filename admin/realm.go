package admin

import (
	"context"
	"net/http"
	"time"
)

// RotationInfo is the outcome of a master key rotation.
type RotationInfo struct {
	// From is the oldest master key version active before, To the one
	// every key is sealed with now.
	From uint32 `json:"from"`
	To   uint32 `json:"to"`
	// Started is false when the call resumed an unfinished rotation.
	Started bool `json:"started"`
	// Resealed is how many principals were re-sealed.
	Resealed int `json:"resealed"`
	// Retired are the versions removed from every node's stash.
	Retired []uint32 `json:"retired,omitempty"`
}

func (s *Server) rotateMasterKey(w http.ResponseWriter, r *http.Request) {
	rep, err := s.store.RotateMasterKey(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	s.audit(r, "realm.rotate_master_key", "from", rep.From, "to", rep.To, "resealed", rep.Resealed, "retired", rep.Retired)
	writeJSON(w, http.StatusOK, RotationInfo{From: rep.From, To: rep.To, Started: rep.Started, Resealed: rep.Resealed, Retired: rep.Retired})
}

// rotationTimeout bounds a rotation request: re-sealing a large realm
// takes longer than the client's usual timeout. An interrupted rotation is
// resumed by asking again.
const rotationTimeout = 10 * time.Minute

// RotateMasterKey rotates the realm master key (or resumes an unfinished
// rotation).
func (c *Client) RotateMasterKey(ctx context.Context) (RotationInfo, error) {
	long := &Client{socket: c.socket, http: &http.Client{Transport: c.http.Transport, Timeout: rotationTimeout}}
	var out RotationInfo
	return out, long.do(ctx, http.MethodPost, "/v1/realm/rotate-master-key", nil, nil, &out)
}
