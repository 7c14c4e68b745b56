package cluster

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none means valid
	}{
		{"specific listen", Config{Listen: "192.0.2.1:7946"}, nil},
		{"wildcard listen with advertise", Config{Listen: "0.0.0.0:7946", Advertise: "192.0.2.1:7946"}, nil},
		{"host name advertise", Config{Listen: ":7946", Advertise: "kdc1.example.com:7946"}, nil},
		{"missing listen", Config{}, []string{"cluster.listen: required"}},
		{"listen without port", Config{Listen: "192.0.2.1"}, []string{"cluster.listen:", "not host:port"}},
		{"bad port", Config{Listen: "192.0.2.1:http"}, []string{"cluster.listen:", "not a number"}},
		{"wildcard without advertise", Config{Listen: "0.0.0.0:7946"}, []string{"cluster.advertise:", "wildcard"}},
		{"empty host without advertise", Config{Listen: ":7946"}, []string{"cluster.advertise:", "wildcard"}},
		{"IPv6 wildcard advertise", Config{Listen: "[::]:7946", Advertise: "[::]:7946"}, []string{"cluster.advertise:", "wildcard"}},
		{"advertise port 0", Config{Listen: "192.0.2.1:0"}, []string{"cluster.advertise:", "port 0"}},
		{"negative timeouts", Config{Listen: "192.0.2.1:7946", DialTimeout: -time.Second, RequestTimeout: -time.Second},
			[]string{"cluster.dial_timeout:", "cluster.request_timeout:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.WithDefaults().Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", tt.cfg)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{Listen: "192.0.2.1:7946"}.WithDefaults()
	want := Config{Listen: "192.0.2.1:7946", Advertise: "192.0.2.1:7946", DialTimeout: DefaultDialTimeout, RequestTimeout: DefaultRequestTimeout}
	if got != want {
		t.Errorf("WithDefaults = %+v, want %+v", got, want)
	}
}
