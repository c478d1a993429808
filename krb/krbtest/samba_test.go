package krbtest

import (
	"strings"
	"testing"
)

// TestSambaRealm: MIT's kinit logs in to the Samba AD realm with a
// password and with the template's keytab, and the realm starts in under a
// second from its template.
func TestSambaRealm(t *testing.T) {
	s := NewSambaRealm(t)
	t.Logf("Samba realm started in %v", s.StartTime)
	kinit := s.Command("kinit", SambaUser)
	kinit.Stdin = strings.NewReader(SambaPassword + "\n")
	if out, err := kinit.CombinedOutput(); err != nil {
		t.Fatalf("MIT kinit: %v: %s", err, out)
	}
	if out, err := s.Command("kinit", "-k", "-t", s.Keytab(SambaUser), SambaUser).CombinedOutput(); err != nil {
		t.Fatalf("MIT kinit -k: %v: %s", err, out)
	}
	if s.StartTime.Seconds() >= 1 {
		t.Errorf("Samba realm took %v to start", s.StartTime)
	}
}
