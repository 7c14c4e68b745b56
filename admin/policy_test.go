package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kdcha/kdcha/kdc/db"
)

// TestAPIPolicies checks the policy endpoints and that every policy rule
// refuses a password on the admin path with a 400 naming the rule.
func TestAPIPolicies(t *testing.T) {
	c, _ := startAPI(t)
	ctx := context.Background()
	def, err := c.Policy(ctx, db.DefaultPolicyName)
	if err != nil || def != db.BuiltinDefaultPolicy {
		t.Fatalf("built-in default: %+v %v", def, err)
	}
	staff := db.PasswordPolicy{Name: "staff", MinLength: 10, MinClasses: 3, History: 2, MaxLife: 48 * time.Hour}
	if err := c.SetPolicy(ctx, staff); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPolicy(ctx, db.PasswordPolicy{Name: "bad", MinClasses: 9}); apiStatus(err) != http.StatusBadRequest {
		t.Fatalf("impossible policy: %v", err)
	}
	if ps, err := c.Policies(ctx); err != nil || len(ps) != 1 || ps[0] != staff {
		t.Fatalf("policies: %+v %v", ps, err)
	}
	refused := func(err error, want string) {
		t.Helper()
		if apiStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want a 400 mentioning %q", err, want)
		}
	}
	pw := func(s string) *string { return &s }
	_, err = c.Add(ctx, AddRequest{Name: "carol", Password: pw("abc"), Policy: "staff"})
	refused(err, "password refused by policy staff: minlength: 3 characters, at least 10 required")
	_, err = c.Add(ctx, AddRequest{Name: "carol", Password: pw("abcdefghijk"), Policy: "staff"})
	refused(err, "staff: minclasses")
	_, err = c.Add(ctx, AddRequest{Name: "carol", Password: pw("Carol-1234-x"), Policy: "staff"})
	refused(err, "staff: princ: contains the principal name")
	_, err = c.Add(ctx, AddRequest{Name: "dave", Password: pw("iloveyou")})
	refused(err, "default: dict")
	p, err := c.Add(ctx, AddRequest{Name: "carol", Password: pw("Tulip-Garden-7"), Policy: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Policy != "staff" || p.PasswordExpires.Sub(p.PasswordChanged) != 48*time.Hour {
		t.Fatalf("carol: %+v", p)
	}
	_, err = c.SetPassword(ctx, "carol", "Tulip-Garden-7")
	refused(err, "staff: history")
	if err := c.DeletePolicy(ctx, "staff"); apiStatus(err) != http.StatusConflict {
		t.Fatalf("delete policy in use: %v", err)
	}

	// Expirations and the policy are set by modify; the zero time clears.
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	none := ""
	p, err = c.Modify(ctx, "carol", ModifyRequest{Expires: &exp, PasswordExpires: &time.Time{}, Policy: &none})
	if err != nil || !p.Expires.Equal(exp) || !p.PasswordExpires.IsZero() || p.Policy != "" {
		t.Fatalf("modify: %+v %v", p, err)
	}
	missing := "missing"
	if _, err := c.Modify(ctx, "carol", ModifyRequest{Policy: &missing}); apiStatus(err) != http.StatusBadRequest {
		t.Fatalf("modify to an unknown policy: %v", err)
	}
	if err := c.DeletePolicy(ctx, "staff"); err != nil {
		t.Fatal(err)
	}
}

// TestAPIListGlob checks listing with an MIT-style glob.
func TestAPIListGlob(t *testing.T) {
	c, _ := startAPI(t)
	ctx := context.Background()
	for _, n := range []string{"host/a.example.com", "host/b.example.com", "HTTP/a.example.com", "hostess"} {
		if _, err := c.Add(ctx, AddRequest{Name: n, RandomKey: true}); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := c.ListGlob(ctx, "host/*")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	if strings.Join(names, " ") != "host/a.example.com@ADMIN.TEST host/b.example.com@ADMIN.TEST" {
		t.Fatalf("host/*: %v", names)
	}
	if _, err := c.ListGlob(ctx, "host/[a"); apiStatus(err) != http.StatusBadRequest {
		t.Fatalf("bad glob: %v", err)
	}
}
