package spake

import (
	"bytes"
	"crypto/rand"
	"fmt"

	"filippo.io/edwards25519"
)

// The edwards25519 constants M and N (RFC 9588 Appendix B, MIT's iana.c),
// in RFC 8032 encoding.
const (
	edwards25519M = "d048032c6ea0b6d697ddc2e86bda85a33adac920f1bf18e1b0c6d166a5cecdaf"
	edwards25519N = "d3bfb518f44f3430f29d0c92af503865a1ed3281dc69b35dd868ba85f886c4ab"
)

// edwards25519Curve is group 1 (RFC 9588 §5): scalars are 32 bytes
// little-endian, elements are RFC 8032 encodings. The cofactor is 8, so a
// private scalar is a multiple of 8: y·P then lies in the prime-order
// subgroup even when a hostile peer sends a point with a small-order
// component, as MIT's implementation does.
type edwards25519Curve struct {
	m, n *edwards25519.Point
}

func newEdwards25519() curve {
	return &edwards25519Curve{m: mustEdwardsPoint(edwards25519M), n: mustEdwardsPoint(edwards25519N)}
}

func mustEdwardsPoint(s string) *edwards25519.Point {
	p, err := new(edwards25519.Point).SetBytes(mustHex(s))
	if err != nil {
		panic(err)
	}
	return p
}

func (c *edwards25519Curve) constant(useM bool) *edwards25519.Point {
	if useM {
		return c.m
	}
	return c.n
}

// randomScalar returns 8·r for a uniform r below the group order ℓ.
func (c *edwards25519Curve) randomScalar() ([]byte, error) {
	var seed [64]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	r, err := edwards25519.NewScalar().SetUniformBytes(seed[:])
	if err != nil {
		return nil, err
	}
	b := r.Bytes()
	// r < ℓ < 2^253, so 8·r still fits in 32 bytes.
	out := make([]byte, 32)
	for i := range out {
		out[i] = b[i] << 3
		if i > 0 {
			out[i] |= b[i-1] >> 5
		}
	}
	return out, nil
}

// edwardsW reduces the multiplier bytes w (little-endian) modulo ℓ.
func edwardsW(w []byte) (*edwards25519.Scalar, error) {
	if len(w) != 32 {
		return nil, fmt.Errorf("spake: edwards25519 multiplier is %d bytes, want 32", len(w))
	}
	var wide [64]byte
	copy(wide[:], w)
	return edwards25519.NewScalar().SetUniformBytes(wide[:])
}

// edwardsPriv returns r for a private scalar 8·r, r < ℓ.
func edwardsPriv(priv []byte) (*edwards25519.Scalar, error) {
	if len(priv) != 32 || priv[0]&7 != 0 {
		return nil, fmt.Errorf("spake: edwards25519 private scalar is not 32 bytes and a multiple of 8")
	}
	var r [32]byte
	for i := range r {
		r[i] = priv[i] >> 3
		if i < 31 {
			r[i] |= priv[i+1] << 5
		}
	}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(r[:])
	if err != nil {
		return nil, fmt.Errorf("spake: edwards25519 private scalar out of range")
	}
	return s, nil
}

func (c *edwards25519Curve) public(w, priv []byte, useM bool) ([]byte, error) {
	r, err := edwardsPriv(priv)
	if err != nil {
		return nil, err
	}
	ws, err := edwardsW(w)
	if err != nil {
		return nil, err
	}
	p := new(edwards25519.Point).ScalarBaseMult(r)
	p.MultByCofactor(p)
	mask := new(edwards25519.Point).ScalarMult(ws, c.constant(useM))
	return p.Add(p, mask).Bytes(), nil
}

func (c *edwards25519Curve) shared(w, priv, pub []byte, useM bool) ([]byte, error) {
	q, err := decodeEdwards(pub)
	if err != nil {
		return nil, &ElementError{Group: "edwards25519", What: whatPublic, Err: err}
	}
	r, err := edwardsPriv(priv)
	if err != nil {
		return nil, err
	}
	ws, err := edwardsW(w)
	if err != nil {
		return nil, err
	}
	mask := new(edwards25519.Point).ScalarMult(ws, c.constant(useM))
	q.Subtract(q, mask)
	q.MultByCofactor(q)
	k := new(edwards25519.Point).ScalarMult(r, q)
	if k.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, &ElementError{Group: "edwards25519", What: whatShared, Err: ErrIdentity}
	}
	return k.Bytes(), nil
}

func (c *edwards25519Curve) check(pub []byte) error {
	if _, err := decodeEdwards(pub); err != nil {
		return &ElementError{Group: "edwards25519", What: whatPublic, Err: err}
	}
	return nil
}

// decodeEdwards decodes a peer's element, refusing what RFC 8032 decoding
// would refuse and more: non-canonical encodings (which SetBytes accepts),
// the identity and the other points of small order.
func decodeEdwards(b []byte) (*edwards25519.Point, error) {
	if len(b) != 32 {
		return nil, ErrElementLength
	}
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return nil, ErrNotOnCurve
	}
	if !bytes.Equal(p.Bytes(), b) {
		return nil, ErrNonCanonical
	}
	id := edwards25519.NewIdentityPoint()
	if p.Equal(id) == 1 {
		return nil, ErrIdentity
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(id) == 1 {
		return nil, ErrSmallOrder
	}
	return p, nil
}
