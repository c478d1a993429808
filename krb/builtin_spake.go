package krb

import "github.com/gokinit/gokinit/preauth/spake"

// SPAKE (RFC 9588) is built in, as in MIT's client, which uses it whenever
// the KDC offers it: it resists offline dictionary attacks without FAST.
// The KDC lists PA-SPAKE before encrypted challenge and encrypted
// timestamp, so the engine, keeping the KDC's order, tries it first.
func init() { builtinMechanisms = append(builtinMechanisms, spake.Mechanism) }
