package kdc

import "testing"

// TestErrorNamesTable: the precomputed names and texts are what
// splitErrorLookup gives, inside the table and past both of its ends.
func TestErrorNamesTable(t *testing.T) {
	for code := int32(-2); code < int32(len(errorNames))+3; code++ {
		name, text := splitErrorLookup(code)
		if errorName(code) != name || errorText(code) != text {
			t.Errorf("code %d: %q %q, want %q %q", code, errorName(code), errorText(code), name, text)
		}
	}
	if errorName(24) != "KDC_ERR_PREAUTH_FAILED" || errorName(25) != "KDC_ERR_PREAUTH_REQUIRED" {
		t.Errorf("24, 25: %s, %s", errorName(24), errorName(25))
	}
}
