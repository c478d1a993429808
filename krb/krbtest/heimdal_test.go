package krbtest

import (
	"strings"
	"testing"
)

// TestHeimdalRealm: MIT's kinit logs in to the Heimdal realm with a
// password and a keytab, and logs how long the realm took to start from its template
// (BenchmarkStart* measures it).
func TestHeimdalRealm(t *testing.T) {
	h := NewHeimdalRealm(t)
	t.Logf("Heimdal realm started in %v", h.StartTime)
	if err := h.AddPrincipal("alice", "alice-pw", "requires-pre-auth"); err != nil {
		t.Fatal(err)
	}
	kinit := h.Command("kinit", "alice")
	kinit.Stdin = strings.NewReader("alice-pw\n")
	if out, err := kinit.CombinedOutput(); err != nil {
		t.Fatalf("MIT kinit: %v: %s\n%s", err, out, h.Logs())
	}
	kt, err := h.Keytab("alice")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := h.Command("kinit", "-k", "-t", kt, "alice").CombinedOutput(); err != nil {
		t.Fatalf("MIT kinit -k: %v: %s", err, out)
	}
}

// BenchmarkStartHeimdal measures a Heimdal realm's start from its template
// (database and PKI copy, kdc and kpasswdd answering) and its stop.
func BenchmarkStartHeimdal(b *testing.B) {
	if ok, reason := HeimdalAvailable(); !ok {
		SkipOrFail(b, reason)
	}
	for b.Loop() {
		h, err := StartHeimdal()
		if err != nil {
			b.Fatal(err)
		}
		h.Close()
	}
}
