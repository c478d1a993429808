package krbtest

import (
	"strings"
	"testing"
)

// TestHeimdalRealm: MIT's kinit logs in to the Heimdal realm with a
// password and a keytab, and the realm starts in under a second from its
// template.
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
	if h.StartTime.Seconds() >= 1 {
		t.Errorf("Heimdal realm took %v to start", h.StartTime)
	}
}
