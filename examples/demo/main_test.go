package main

import (
	"strings"
	"testing"

	"github.com/gokinit/gokinit/krb/krbtest"
)

func TestDemo(t *testing.T) {
	if ok, reason := krbtest.Available(); !ok {
		krbtest.SkipOrFail(t, reason)
	}
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		`Responder asked "password" (challenge "")`,
		"Logged in as demo@" + krbtest.DefaultRealmName,
		"2 round trips, 1 string-to-key run(s)",
		"Default principal: demo@" + krbtest.DefaultRealmName,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
