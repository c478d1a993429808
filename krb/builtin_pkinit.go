package krb

import "github.com/gokinit/gokinit/preauth/pkinit"

// PKINIT (RFC 4556, 5349, 8062, 8636) is built in, as in MIT's client: it
// is used when the KDC offers PA-PK-AS-REQ and an identity is configured
// (X509_user_identity, pkinit_identities), or for anonymous logins.
func init() { builtinMechanisms = append(builtinMechanisms, pkinit.Mechanism) }
