package spake

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"strings"
	"sync"
)

// Group numbers of the IANA "Kerberos SPAKE Groups" registry (RFC 9588, IANA Considerations).
const (
	GroupEdwards25519 int32 = 1
	GroupP256         int32 = 2
	GroupP384         int32 = 3
	GroupP521         int32 = 4
)

// group is one SPAKE group with its parameters (RFC 9588 §5): the lengths
// of a multiplier (w or a private scalar) and of an encoded element, the
// hash of the transcript and of the key derivation, and the curve.
type group struct {
	id      int32
	name    string
	multLen int
	elemLen int
	hash    func() hash.Hash
	// curve builds the arithmetic on first use: decoding the M and N
	// constants costs P-521 a point decompression, and most logins use
	// one group, so a process does not pay for all four at start-up.
	curve func() curve
}

// curve is the arithmetic of a group. A private scalar is kept as MIT
// keeps it, in the group's multiplier encoding: little-endian and a
// multiple of the cofactor for edwards25519, big-endian below the order
// for the NIST curves.
type curve interface {
	// randomScalar returns a fresh private scalar x or y.
	randomScalar() ([]byte, error)
	// public returns priv·G + w·C, where C is the constant M when useM
	// (the KDC's T), else N (the client's S).
	public(w, priv []byte, useM bool) ([]byte, error)
	// shared returns priv·(pub − w·C), C being M when useM (the client's
	// K, from the KDC's T), else N. It validates pub first and refuses an
	// identity result.
	shared(w, priv, pub []byte, useM bool) ([]byte, error)
	// check validates an encoded element without using it.
	check(pub []byte) error
}

// groups lists the implemented groups in registry order.
var groups = []*group{
	{GroupEdwards25519, "edwards25519", 32, 32, sha256.New, sync.OnceValue(newEdwards25519)},
	{GroupP256, "P-256", 32, 33, sha256.New, sync.OnceValue(newP256)},
	{GroupP384, "P-384", 48, 49, sha512.New384, sync.OnceValue(newP384)},
	{GroupP521, "P-521", 66, 67, sha512.New, sync.OnceValue(newP521)},
}

// defaultGroups is MIT's client default for spake_preauth_groups.
const defaultGroups = "edwards25519"

// findGroup returns the group numbered id, or nil.
func findGroup(id int32) *group {
	for _, g := range groups {
		if g.id == id {
			return g
		}
	}
	return nil
}

// hashLen is the length of the group's hash output.
func (g *group) hashLen() int { return g.hash().Size() }

// parseGroups reads a spake_preauth_groups value as MIT does: names
// separated by spaces, tabs or commas, matched without regard to case;
// unknown names are skipped and repeated ones kept once.
func parseGroups(value string) []*group {
	var out []*group
	for _, name := range strings.FieldsFunc(value, func(r rune) bool { return strings.ContainsRune(" \t\r\n,", r) }) {
		for _, g := range groups {
			if strings.EqualFold(name, g.name) && !contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out
}

func contains(list []*group, g *group) bool {
	for _, x := range list {
		if x == g {
			return true
		}
	}
	return false
}

// mustHex decodes a constant of this package.
func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
