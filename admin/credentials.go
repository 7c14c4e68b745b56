package admin

import (
	"context"
	"net/http"
)

// CredentialsRotationInfo is the outcome of a cluster credentials
// rotation.
type CredentialsRotationInfo struct {
	// Generation numbers the rotation (1 for the cluster's first).
	Generation uint64 `json:"generation"`
	// Started is false when the call resumed an unfinished rotation.
	Started bool `json:"started"`
	// Members are the nodes that hold a certificate of the new CA.
	Members []string `json:"members,omitempty"`
}

func (s *Server) rotateCredentials(w http.ResponseWriter, r *http.Request) {
	rep, err := s.cluster.RotateCredentials(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	s.audit(r, "cluster.rotate_credentials", "generation", rep.Generation, "members", rep.Members)
	writeJSON(w, http.StatusOK, CredentialsRotationInfo{Generation: rep.Generation, Started: rep.Started, Members: rep.Members})
}

// RotateCredentials replaces the cluster CA and every node's certificate
// (or resumes an unfinished rotation).
func (c *Client) RotateCredentials(ctx context.Context) (CredentialsRotationInfo, error) {
	long := &Client{socket: c.socket, http: &http.Client{Transport: c.http.Transport, Timeout: rotationTimeout}}
	var out CredentialsRotationInfo
	return out, long.do(ctx, http.MethodPost, "/v1/cluster/rotate-credentials", nil, nil, &out)
}
