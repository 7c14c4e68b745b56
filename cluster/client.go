package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
)

// Client calls other members over ProtoRPC with this node's credentials.
// It is safe for concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client
}

// NewClient returns a Client using creds; cfg supplies the dial and
// request timeouts (zero values get the defaults).
func NewClient(creds *Credentials, cfg Config) *Client {
	cfg = cfg.WithDefaults()
	return &Client{cfg: cfg, hc: &http.Client{Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
			defer cancel()
			conn, err := creds.dial(ctx, addr, ProtoRPC)
			if err != nil {
				return nil, &dialError{err: err}
			}
			return conn, nil
		},
		// One connection per call: a pooled connection to a leader that
		// died fails after the request was written, which would make a
		// write's outcome unknown where a fresh dial fails cleanly and
		// can be retried. Forwarded writes are rare enough for the cost.
		DisableKeepAlives: true,
	}}}
}

// dialError marks failures before anything was sent, which are safe to
// retry against another member.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// Forward sends payload to the member at addr (its cluster address) and
// returns the reply of its Handler.Forward. A member that is not the
// leader answers with a *NotLeaderError. The call is bounded by the
// request timeout; when it expires after the request was sent, the write
// may or may not have been committed.
func (c *Client) Forward(ctx context.Context, addr string, payload []byte) ([]byte, error) {
	return c.call(ctx, http.MethodPost, addr, pathForward, payload)
}

// Status returns the status JSON of the member at addr.
func (c *Client) Status(ctx context.Context, addr string) ([]byte, error) {
	return c.call(ctx, http.MethodGet, addr, pathStatus, nil)
}

func (c *Client) call(ctx context.Context, method, addr, path string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "https://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: member address %q: %w", ErrInvalid, addr, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cluster %s %s: %w", path, addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, readError(addr, resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxForwardBytes))
	if err != nil {
		return nil, fmt.Errorf("cluster %s %s: read reply: %w", path, addr, err)
	}
	return b, nil
}

// isDialError reports whether err happened before the request was sent.
func isDialError(err error) bool {
	var d *dialError
	return errors.As(err, &d)
}
