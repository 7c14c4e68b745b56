package main

import (
	"path/filepath"
	"testing"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

// TestGokrb5Client checks that a second, independent client implementation
// (gokrb5, which also sends PA-REQ-ENC-PA-REP and verifies replies its own
// way) accepts the KDC: password login, a service ticket, keytab login.
func TestGokrb5Client(t *testing.T) {
	n := startDev(t, nil)
	n.kdcha("principal", "add", "HTTP/web.example.com", "--random-key")
	cfg, err := config.Load(filepath.Join(n.dir, "krb5.conf"))
	if err != nil {
		t.Fatal(err)
	}

	for _, tcp := range []bool{false, true} {
		if tcp {
			cfg.LibDefaults.UDPPreferenceLimit = 1
		}
		cl := client.NewWithPassword("user", "DEV.KDCHA.TEST", n.password, cfg, client.DisablePAFXFAST(true))
		if err := cl.Login(); err != nil {
			t.Fatalf("gokrb5 login (tcp=%v): %v", tcp, err)
		}
		tkt, key, err := cl.GetServiceTicket("HTTP/web.example.com")
		if err != nil {
			t.Fatalf("gokrb5 service ticket (tcp=%v): %v", tcp, err)
		}
		if tkt.SName.PrincipalNameString() != "HTTP/web.example.com" || key.KeyType != 18 {
			t.Fatalf("service ticket for %s with session enctype %d", tkt.SName.PrincipalNameString(), key.KeyType)
		}
		cl.Destroy()

		bad := client.NewWithPassword("user", "DEV.KDCHA.TEST", "wrong-password", cfg, client.DisablePAFXFAST(true))
		if err := bad.Login(); err == nil {
			t.Fatalf("gokrb5 login with a wrong password succeeded (tcp=%v)", tcp)
		}
	}

	ktPath := filepath.Join(t.TempDir(), "web.keytab")
	n.kdcha("keytab", "export", "HTTP/web.example.com", "-o", ktPath)
	kt, err := keytab.Load(ktPath)
	if err != nil {
		t.Fatal(err)
	}
	cl := client.NewWithKeytab("HTTP/web.example.com", "DEV.KDCHA.TEST", kt, cfg, client.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		t.Fatalf("gokrb5 keytab login: %v", err)
	}
}
