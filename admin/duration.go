package admin

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration that the API writes as Go's duration text
// ("10h0m0s"), which people and scripts read without knowing the unit. It
// reads that text, or a number of nanoseconds (what the API wrote before).
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads duration text ("90m", "1h30m") or nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var ns int64
		if err := json.Unmarshal(b, &ns); err != nil {
			return fmt.Errorf("duration: want text like \"10h\" or nanoseconds, got %s", b)
		}
		*d = Duration(ns)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}
