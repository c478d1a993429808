package krb

import "github.com/gokinit/gokinit/preauth/otp"

// OTP (RFC 6560) is built in: MIT's KDC offers it inside FAST to principals
// with an "otp" string attribute, and every login may need it.
func init() { builtinMechanisms = append(builtinMechanisms, otp.Mechanism) }
