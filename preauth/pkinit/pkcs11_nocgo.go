//go:build !cgo

package pkinit

import "fmt"

// PKCS11Available reports whether PKCS11: identities can be used: loading
// a PKCS#11 module needs cgo, and this program was built without it.
func PKCS11Available() bool { return false }

func probePKCS11(sp *idSpec) (secretNeed, error) {
	return secretNeed{}, fmt.Errorf("pkinit: %s: %w", sp.raw, ErrPKCS11Unavailable)
}

func loadPKCS11(sp *idSpec, _ *string) (*identity, error) {
	return nil, fmt.Errorf("pkinit: %s: %w", sp.raw, ErrPKCS11Unavailable)
}
