package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Client talks to a node's admin socket.
type Client struct {
	socket string
	http   *http.Client
	// Consistent makes reads (principal get and list, keytab export,
	// backup) fail when the node cannot confirm its replica with a quorum,
	// instead of answering from it marked as possibly stale.
	Consistent bool
	// OnStale, if set, is called when a read was answered from the node's
	// replica without a quorum, with the node's reason.
	OnStale func(reason string)
}

// NewClient returns a client for the admin socket at path. Before sending
// anything on a connection it checks who serves the socket (checkPeer), so
// a password never reaches another user's impostor.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "unix", path)
			if err != nil {
				return nil, err
			}
			if err := checkPeer(c, path); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		},
	}
	return &Client{socket: path, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// ErrUnreachable means no node answers on the admin socket.
var ErrUnreachable = errors.New("admin socket unreachable")

// ErrNoAnswer means the request reached the node but no answer came back.
var ErrNoAnswer = errors.New("no answer")

// APIError is a failure reported by the node, with its HTTP status.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := "http://kdcha" + path
	if c.Consistent {
		query = maps.Clone(query)
		if query == nil {
			query = url.Values{}
		}
		query.Set("consistent", "true")
	}
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var urlErr *url.Error
		if errors.Is(err, ErrUntrustedServer) && errors.As(err, &urlErr) {
			return fmt.Errorf("refusing to send the request: %w", urlErr.Err)
		}
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return fmt.Errorf("%w at %s (is the node running? set --admin-socket or KDCHA_ADMIN_SOCKET): %v", ErrUnreachable, c.socket, err)
		}
		return fmt.Errorf("%w from %s: the request was sent, so a change may or may not have been made; check before retrying: %v", ErrNoAnswer, c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var eb errorBody
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&eb); err != nil || eb.Error == "" {
			eb.Error = resp.Status
		}
		return &APIError{Status: resp.StatusCode, Message: eb.Error}
	}
	if resp.Header.Get(StaleHeader) == "true" && c.OnStale != nil {
		c.OnStale(resp.Header.Get(StaleReasonHeader))
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		return err
	default:
		return json.NewDecoder(resp.Body).Decode(out)
	}
}

func nameQuery(name string) url.Values { return url.Values{"name": {name}} }

// List returns every principal.
func (c *Client) List(ctx context.Context) ([]PrincipalInfo, error) { return c.ListGlob(ctx, "") }

// ListGlob returns the principals whose name matches an MIT-style glob
// (see db.CompileGlob); "" lists all.
func (c *Client) ListGlob(ctx context.Context, pattern string) ([]PrincipalInfo, error) {
	var out []PrincipalInfo
	var q url.Values
	if pattern != "" {
		q = url.Values{"glob": {pattern}}
	}
	return out, c.do(ctx, http.MethodGet, "/v1/principals", q, nil, &out)
}

// Get returns one principal by name or alias.
func (c *Client) Get(ctx context.Context, name string) (PrincipalInfo, error) {
	var out PrincipalInfo
	return out, c.do(ctx, http.MethodGet, "/v1/principal", nameQuery(name), nil, &out)
}

// Add creates a principal.
func (c *Client) Add(ctx context.Context, req AddRequest) (PrincipalInfo, error) {
	var out PrincipalInfo
	return out, c.do(ctx, http.MethodPost, "/v1/principal", nil, req, &out)
}

// Modify changes a principal's flags, limits or aliases.
func (c *Client) Modify(ctx context.Context, name string, req ModifyRequest) (PrincipalInfo, error) {
	var out PrincipalInfo
	return out, c.do(ctx, http.MethodPatch, "/v1/principal", nameQuery(name), req, &out)
}

// Delete removes a principal; force is needed for a protected one (the
// realm's krbtgt can never be deleted).
func (c *Client) Delete(ctx context.Context, name string, force bool) error {
	q := nameQuery(name)
	if force {
		q.Set("force", "true")
	}
	return c.do(ctx, http.MethodDelete, "/v1/principal", q, nil, nil)
}

// SetPassword derives new keys from a password (kvno+1).
func (c *Client) SetPassword(ctx context.Context, name, password string) (PrincipalInfo, error) {
	var out PrincipalInfo
	return out, c.do(ctx, http.MethodPost, "/v1/principal/password", nameQuery(name), PasswordRequest{Password: password}, &out)
}

// Rekey gives a principal new random keys (kvno+1).
func (c *Client) Rekey(ctx context.Context, name string) (PrincipalInfo, error) {
	var out PrincipalInfo
	return out, c.do(ctx, http.MethodPost, "/v1/principal/rekey", nameQuery(name), nil, &out)
}

// Keytab returns an MIT keytab holding the current keys of the principals.
func (c *Client) Keytab(ctx context.Context, names []string) ([]byte, error) {
	return c.KeytabWith(ctx, KeytabRequest{Names: names})
}

// KeytabWith returns an MIT keytab holding the keys req selects.
func (c *Client) KeytabWith(ctx context.Context, req KeytabRequest) ([]byte, error) {
	var out []byte
	return out, c.do(ctx, http.MethodPost, "/v1/keytab", nil, req, &out)
}

// NodeStatus decodes the node's status (KDC, cluster, VRRP, health) into out.
func (c *Client) NodeStatus(ctx context.Context, out any) error {
	return c.do(ctx, http.MethodGet, "/v1/status", nil, nil, out)
}

// ClusterStatus decodes the node's view of the cluster into out.
func (c *Client) ClusterStatus(ctx context.Context, out any) error {
	return c.do(ctx, http.MethodGet, "/v1/cluster/status", nil, nil, out)
}

// Leave removes the node from its cluster.
func (c *Client) Leave(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/cluster/leave", nil, nil, nil)
}

// Remove removes another node from the cluster.
func (c *Client) Remove(ctx context.Context, node string) error {
	return c.do(ctx, http.MethodPost, "/v1/cluster/remove", url.Values{"node": {node}}, nil, nil)
}

// JoinToken issues a single-use join token valid for ttl.
func (c *Client) JoinToken(ctx context.Context, ttl time.Duration) (string, error) {
	var out TokenResponse
	return out.Token, c.do(ctx, http.MethodPost, "/v1/cluster/token", nil, TokenRequest{TTL: Duration(ttl)}, &out)
}

// Backup returns a consistent backup of the database (sealed keys; the
// master key is not included).
func (c *Client) Backup(ctx context.Context) ([]byte, error) {
	var out []byte
	return out, c.do(ctx, http.MethodGet, "/v1/cluster/backup", nil, nil, &out)
}
