package krbtest

import (
	"strings"
	"testing"
)

// TestSambaRealm: MIT's kinit logs in to the Samba AD realm with a
// password and with the template's keytab, and logs how long the realm
// took to start from its template (BenchmarkStart* measures it).
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
}

// BenchmarkStartSamba measures a Samba AD realm's start from its template
// (domain copy, samba's KDC answering) and its stop.
func BenchmarkStartSamba(b *testing.B) {
	if ok, reason := SambaAvailable(); !ok {
		SkipOrFail(b, reason)
	}
	for b.Loop() {
		s, err := StartSamba()
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
