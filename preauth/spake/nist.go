package spake

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"math/bits"

	"filippo.io/nistec"
)

// The NIST curves' constants M and N (RFC 9588 Appendix B, MIT's iana.c),
// as SEC 1 compressed points.
const (
	p256M = "02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f"
	p256N = "03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49"
	p384M = "030ff0895ae5ebf6187080a82d82b42e2765e3b2f8749c7e05eba366434b363d3d" +
		"c36f15314739074d2eb8613fceec2853"
	p384N = "02c72cf2e390853a1c1c4ad816a62fd15824f56078918f43f922ca21518f9c543b" +
		"b252c5490214cf9aa3f0baab4b665c10"
	p521M = "02003f06f38131b2ba2600791e82488e8d20ab889af753a41806c5db18d37d8560" +
		"8cfae06b82e4a72cd744c719193562a653ea1f119eef9356907edc9b56979962d7aa"
	p521N = "0200c7924b9ec017f3094562894336a53c50167ba8c5963876880542bc669e494b" +
		"2532d76c5b53dfb349fdf69154b9e0048c58a42e8ed04cef052a3bc349d95575cd25"
)

// nistPoint is what the curve code needs of a filippo.io/nistec point type.
type nistPoint[P any] interface {
	SetBytes([]byte) (P, error)
	BytesCompressed() []byte
	Add(P, P) P
	Negate(P) P
	ScalarMult(P, []byte) (P, error)
	ScalarBaseMult([]byte) (P, error)
	IsInfinity() int
}

// nistCurve is one of groups 2-4 (RFC 9588 §5): scalars are big-endian,
// as long as the group order, and elements are SEC 1 compressed points.
// The cofactor is 1, so every point but the identity has prime order.
type nistCurve[P nistPoint[P]] struct {
	name     string
	newPoint func() P
	order    []byte // the group order n, big-endian, scalar-sized
	prime    []byte // the field prime p, big-endian, coordinate-sized
	topMask  byte   // the bits of a scalar's first byte that n uses
	m, n     P
}

func newNISTCurve[P nistPoint[P]](name string, c elliptic.Curve, newPoint func() P, m, n string) *nistCurve[P] {
	params := c.Params()
	size := (params.BitSize + 7) / 8
	nc := &nistCurve[P]{
		name:     name,
		newPoint: newPoint,
		order:    params.N.FillBytes(make([]byte, size)),
		prime:    params.P.FillBytes(make([]byte, size)),
	}
	nc.topMask = byte(1<<bits.Len8(nc.order[0]) - 1)
	var err error
	if nc.m, err = newPoint().SetBytes(mustHex(m)); err != nil {
		panic(err)
	}
	if nc.n, err = newPoint().SetBytes(mustHex(n)); err != nil {
		panic(err)
	}
	return nc
}

func newP256() curve {
	return newNISTCurve("P-256", elliptic.P256(), nistec.NewP256Point, p256M, p256N)
}

func newP384() curve {
	return newNISTCurve("P-384", elliptic.P384(), nistec.NewP384Point, p384M, p384N)
}

func newP521() curve {
	return newNISTCurve("P-521", elliptic.P521(), nistec.NewP521Point, p521M, p521N)
}

func (c *nistCurve[P]) constant(useM bool) P {
	if useM {
		return c.m
	}
	return c.n
}

// randomScalar draws uniformly from [1, n-1] by rejection sampling.
func (c *nistCurve[P]) randomScalar() ([]byte, error) {
	b := make([]byte, len(c.order))
	for {
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		b[0] &= c.topMask
		if bytes.Compare(b, c.order) < 0 && !allZero(b) {
			return b, nil
		}
	}
}

func allZero(b []byte) bool {
	var acc byte
	for _, x := range b {
		acc |= x
	}
	return acc == 0
}

// checkLengths checks w and a private scalar. w is used unreduced: the
// constants have prime order, so w·M = (w mod n)·M, and nistec multiplies
// by any value of the scalar length.
func (c *nistCurve[P]) checkLengths(w, priv []byte) error {
	if len(w) != len(c.order) || len(priv) != len(c.order) {
		return fmt.Errorf("spake: %s multiplier and scalar must be %d bytes", c.name, len(c.order))
	}
	return nil
}

func (c *nistCurve[P]) public(w, priv []byte, useM bool) ([]byte, error) {
	if err := c.checkLengths(w, priv); err != nil {
		return nil, err
	}
	p, err := c.newPoint().ScalarBaseMult(priv)
	if err != nil {
		return nil, err
	}
	mask, err := c.newPoint().ScalarMult(c.constant(useM), w)
	if err != nil {
		return nil, err
	}
	p.Add(p, mask)
	if p.IsInfinity() == 1 {
		return nil, fmt.Errorf("spake: %s public element is the identity", c.name)
	}
	return p.BytesCompressed(), nil
}

func (c *nistCurve[P]) shared(w, priv, pub []byte, useM bool) ([]byte, error) {
	t, err := c.decode(pub)
	if err != nil {
		return nil, &ElementError{Group: c.name, What: whatPublic, Err: err}
	}
	if err := c.checkLengths(w, priv); err != nil {
		return nil, err
	}
	mask, err := c.newPoint().ScalarMult(c.constant(useM), w)
	if err != nil {
		return nil, err
	}
	t.Add(t, mask.Negate(mask))
	k, err := c.newPoint().ScalarMult(t, priv)
	if err != nil {
		return nil, err
	}
	if k.IsInfinity() == 1 {
		return nil, &ElementError{Group: c.name, What: whatShared, Err: ErrIdentity}
	}
	return k.BytesCompressed(), nil
}

func (c *nistCurve[P]) check(pub []byte) error {
	if _, err := c.decode(pub); err != nil {
		return &ElementError{Group: c.name, What: whatPublic, Err: err}
	}
	return nil
}

// decode accepts only the compressed form with a reduced x coordinate of
// a point on the curve other than the identity.
func (c *nistCurve[P]) decode(b []byte) (P, error) {
	var zero P
	if len(b) != 1+len(c.prime) {
		return zero, ErrElementLength
	}
	if b[0] != 2 && b[0] != 3 {
		return zero, ErrNonCanonical
	}
	if bytes.Compare(b[1:], c.prime) >= 0 {
		return zero, ErrNonCanonical
	}
	p, err := c.newPoint().SetBytes(b)
	if err != nil {
		return zero, ErrNotOnCurve
	}
	if p.IsInfinity() == 1 {
		return zero, ErrIdentity
	}
	if !bytes.Equal(p.BytesCompressed(), b) {
		return zero, ErrNonCanonical
	}
	return p, nil
}
