package krb

import (
	"slices"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/preauth/encchal"
	"github.com/gokinit/gokinit/preauth/encts"
	"github.com/gokinit/gokinit/preauth/otp"
	"github.com/gokinit/gokinit/preauth/pkinit"
	"github.com/gokinit/gokinit/preauth/spake"
)

// builtinMechanisms are the mechanisms every login may use, in this order,
// before those added with preauth.Register; users need no blank imports.
// preauth.Builtins lists the same names and PA types (a test keeps them
// equal). The order matters only between mechanisms offered in one round:
// the engine processes the KDC's offer in preferred_preauth_types order,
// then the KDC's (MIT's KDC lists SPAKE before encrypted challenge and
// encrypted timestamp).
var builtinMechanisms = []preauth.Mechanism{
	encts.Mechanism,   // encrypted timestamp (RFC 4120 §5.2.7.2)
	encchal.Mechanism, // encrypted challenge, inside FAST (RFC 6113 §5.4.6)
	otp.Mechanism,     // OTP, inside FAST (RFC 6560)
	pkinit.Mechanism,  // PKINIT (RFC 4556, 8062)
	spake.Mechanism,   // SPAKE (RFC 9588)
}

// BuiltinMechanisms returns the built-in mechanisms, in the engine's order.
// An application may list them, with its own, in WithMechanisms to choose
// the order or leave some out.
func BuiltinMechanisms() []preauth.Mechanism { return slices.Clone(builtinMechanisms) }

// DefaultMechanisms returns what a login without WithMechanisms uses: the
// built-in mechanisms, each in its place replaced by the mechanism
// registered with preauth.Replacing it, then the other registered
// mechanisms in registration order.
func DefaultMechanisms() []preauth.Mechanism {
	out := make([]preauth.Mechanism, 0, len(builtinMechanisms))
	placed := make(map[string]bool) // by name: registered names are unique
	for _, b := range builtinMechanisms {
		if r, ok := preauth.Replacement(b.Name()); ok {
			if !placed[r.Name()] {
				out = append(out, r)
				placed[r.Name()] = true
			}
			continue
		}
		out = append(out, b)
	}
	for _, r := range preauth.Registered() {
		if !placed[r.Name()] {
			out = append(out, r)
			placed[r.Name()] = true
		}
	}
	return out
}
