package notify

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// statusError is a response whose status is not 2xx.
type statusError struct {
	code       int
	retryAfter time.Duration // from a Retry-After header in seconds, else 0
	body       string        // the start of the response body, for the log
}

func (e *statusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("status %d", e.code)
	}
	return fmt.Sprintf("status %d: %q", e.code, e.body)
}

// retryable reports whether another attempt may succeed: server errors,
// request timeout and rate limiting may pass; any other client error will
// fail the same way again.
func (e *statusError) retryable() bool {
	return e.code >= 500 || e.code == http.StatusRequestTimeout || e.code == http.StatusTooManyRequests
}

// parseRetryAfter reads a Retry-After header given in seconds; the HTTP-date
// form is ignored (the backoff then applies).
func parseRetryAfter(h string) time.Duration {
	secs, err := strconv.Atoi(h)
	if err != nil || secs < 0 {
		return 0
	}
	return time.Duration(secs) * time.Second
}

// backoff is the wait after failed attempt n (1-based): base doubled n-1
// times, at least what the receiver asked for, never above limit. No jitter:
// a handful of KDC nodes cannot stampede a receiver.
func backoff(n int, base, limit, asked time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(max(d, asked), limit)
}
