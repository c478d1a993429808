package krbtest

import (
	"strings"
	"testing"
	"time"
)

// TestTypedPrincipalOptions: kadmin's getprinc reports what the typed
// options set.
func TestTypedPrincipalOptions(t *testing.T) {
	r := NewRealm(t)
	if err := r.AddPrincipal("typed", "typed-pw", MaxLife(2*time.Hour), MaxRenewLife(3*time.Hour),
		PasswordExpires(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)), Disallow("allow_forwardable"), RequiresPreauth()); err != nil {
		t.Fatal(err)
	}
	info, err := r.GetPrincipal("typed")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Maximum ticket life: 0 days 02:00:00", "Maximum renewable life: 0 days 03:00:00", "Password expiration date: Wed Jan 02 03:04:05 UTC 2030"} {
		if !strings.Contains(info.Raw, want) {
			t.Errorf("getprinc lacks %q:\n%s", want, info.Raw)
		}
	}
	attrs := strings.Join(info.Attributes, " ")
	if !strings.Contains(attrs, "DISALLOW_FORWARDABLE") || !strings.Contains(attrs, "REQUIRES_PRE_AUTH") {
		t.Errorf("attributes %q", attrs)
	}
}
