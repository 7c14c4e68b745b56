package kdc

import (
	"slices"
	"testing"
)

func TestKpasswdAddresses(t *testing.T) {
	for _, tc := range []struct {
		listen, kpasswd, want []string
	}{
		{[]string{"0.0.0.0:88", "[::]:88"}, nil, []string{"0.0.0.0:464", "[::]:464"}},
		{[]string{"127.0.0.1:0"}, nil, []string{"127.0.0.1:0"}}, // tests: a free port too
		{[]string{"0.0.0.0:88"}, []string{"192.0.2.1:1464"}, []string{"192.0.2.1:1464"}},
	} {
		c := DefaultConfig()
		c.Listen, c.KpasswdListen = tc.listen, tc.kpasswd
		if got := c.Kpasswd().Listen; !slices.Equal(got, tc.want) {
			t.Errorf("listen %v kpasswd_listen %v: got %v, want %v", tc.listen, tc.kpasswd, got, tc.want)
		}
		if age := c.Kpasswd().RequestMaxAge; age != 0 {
			t.Errorf("kpasswd request_max_age %v, want 0 (a password change may wait on a Raft write)", age)
		}
	}
}
