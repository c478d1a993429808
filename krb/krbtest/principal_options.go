package krbtest

import (
	"fmt"
	"time"
)

// Typed principal options for what tests set most; Flags and Args remain
// the escape hatch for anything else kadmin's addprinc takes.

// MaxLife sets the principal's maximum ticket life (addprinc -maxlife),
// in whole seconds; the realm's max_life (24 h) still caps it.
func MaxLife(d time.Duration) PrincipalOption {
	return Args("-maxlife", fmt.Sprintf("%d seconds", int64(d/time.Second)))
}

// MaxRenewLife sets the principal's maximum renewable life (addprinc
// -maxrenewlife), in whole seconds; the realm's max_renewable_life (7 days)
// still caps it. Zero makes its tickets not renewable.
func MaxRenewLife(d time.Duration) PrincipalOption {
	return Args("-maxrenewlife", fmt.Sprintf("%d seconds", int64(d/time.Second)))
}

// PasswordExpires sets when the principal's password expires (addprinc
// -pwexpire); a time in the past makes the KDC answer KDC_ERR_KEY_EXPIRED.
func PasswordExpires(t time.Time) PrincipalOption {
	return Args("-pwexpire", t.UTC().Format("2006-01-02 15:04:05 UTC"))
}

// Disallow sets the principal's "-name" attributes by their kadmin names,
// such as Disallow("allow_tix") (the KDC refuses its tickets) or
// Disallow("allow_forwardable").
func Disallow(attrs ...string) PrincipalOption {
	flags := make([]string, len(attrs))
	for i, a := range attrs {
		flags[i] = "-" + a
	}
	return Flags(flags...)
}
