package krb

import (
	"testing"

	"github.com/gokinit/gokinit/responder"
)

// FuzzPAConfigData: a cache's pa_config_data (from disk, possibly written
// by another program) decodes to string values or nothing, never a panic,
// and what we encode decodes back.
func FuzzPAConfigData(f *testing.F) {
	f.Add([]byte(`{"logins":"II"}`))
	f.Add([]byte(`{"a":1,"b":["x"],"c":"y"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := decodePAConfigData(b)
		if m == nil {
			return
		}
		again := decodePAConfigData(encodePAConfigData(m))
		if len(again) != len(m) {
			t.Fatalf("round trip lost values: %v != %v", again, m)
		}
	})
}

// FuzzNewPasswordChallenge: the new_password challenge parser takes any
// text without panicking.
func FuzzNewPasswordChallenge(f *testing.F) {
	f.Add(responder.NewPasswordChallenge{Banner: "Password expired.  You must change it now.", TriesLeft: 3}.Encode())
	f.Add(`{"banner":1}`)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = responder.ParseNewPasswordChallenge(s)
	})
}
