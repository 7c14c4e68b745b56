package admin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// TestJSONDurationsAreText: what `principal get --json` and `policy get
// --json` print gives durations as text a person can read, and the API
// still reads the nanoseconds older clients sent.
func TestJSONDurationsAreText(t *testing.T) {
	b, err := json.Marshal(PrincipalInfo{Name: "a", MaxLife: Duration(10 * time.Hour)})
	if err != nil || !strings.Contains(string(b), `"max_life":"10h0m0s"`) {
		t.Fatalf("principal JSON %s, %v", b, err)
	}
	b, err = json.Marshal(PolicyToJSON(db.PasswordPolicy{Name: "p", MaxLife: 90 * 24 * time.Hour, LockoutDuration: 30 * time.Minute}))
	if err != nil || !strings.Contains(string(b), `"max_life":"2160h0m0s"`) || !strings.Contains(string(b), `"lockout_duration":"30m0s"`) {
		t.Fatalf("policy JSON %s, %v", b, err)
	}
	var j PolicyJSON
	if err := json.Unmarshal(b, &j); err != nil || j.Policy().MaxLife != 90*24*time.Hour || j.Policy().Name != "p" {
		t.Fatalf("policy round trip %+v, %v", j.Policy(), err)
	}
	for in, want := range map[string]time.Duration{`"90m"`: 90 * time.Minute, `3600000000000`: time.Hour} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || time.Duration(d) != want {
			t.Errorf("%s -> %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, bad := range []string{`"ten hours"`, `true`, `{}`} {
		var d Duration
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s accepted as %v", bad, time.Duration(d))
		}
	}
}
