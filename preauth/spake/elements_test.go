package spake

import (
	"bytes"
	"testing"

	"filippo.io/edwards25519"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// edwards25519 encodings of special points.
const (
	identity25519 = "0100000000000000000000000000000000000000000000000000000000000000"
	// The other seven points of small order (orders 2, 4 and 8).
	order2   = "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
	order4a  = "0000000000000000000000000000000000000000000000000000000000000000"
	order4b  = "0000000000000000000000000000000000000000000000000000000000000080"
	order8a  = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
	order8b  = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"
	order8c  = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
	order8d  = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
	negZero  = "0100000000000000000000000000000000000000000000000000000000000080" // the identity with x's sign bit set
	yIsP     = "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f" // y = p, that is 0
	yIsP1    = "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f" // y = p + 1, the identity
	offCurve = "0200000000000000000000000000000000000000000000000000000000000000" // y = 2 has no x
)

func TestEdwards25519Elements(t *testing.T) {
	c := groups[0].curve()
	for _, tc := range []struct {
		hex  string
		want error
	}{
		{edwards25519M, nil},
		{edwards25519N, nil},
		{identity25519, ErrIdentity},
		{order2, ErrSmallOrder},
		{order4a, ErrSmallOrder},
		{order4b, ErrSmallOrder},
		{order8a, ErrSmallOrder},
		{order8b, ErrSmallOrder},
		{order8c, ErrSmallOrder},
		{order8d, ErrSmallOrder},
		{negZero, ErrNonCanonical},
		{yIsP, ErrNonCanonical},
		{yIsP1, ErrNonCanonical},
		{offCurve, ErrNotOnCurve},
		{edwards25519M[:62], ErrElementLength},
		{edwards25519M + "00", ErrElementLength},
	} {
		err := c.check(mustHex(tc.hex))
		if tc.want == nil {
			assert.NoError(t, err, tc.hex)
			continue
		}
		assert.ErrorIs(t, err, tc.want, tc.hex)
		assert.ErrorIs(t, err, ErrInvalidElement, tc.hex)
	}
}

// TestEdwards25519SmallOrderComponent: T with a small-order component
// added still gives the KDC's K, because the client's scalar is a multiple
// of the cofactor; and T = w·M plus a small-order point gives the identity
// as K, which is refused.
func TestEdwards25519SmallOrderComponent(t *testing.T) {
	g := groups[0]
	w := bytes.Repeat([]byte{7}, 32)
	x, err := g.curve().randomScalar()
	require.NoError(t, err)
	y, err := g.curve().randomScalar()
	require.NoError(t, err)
	T, err := g.curve().public(w, x, true)
	require.NoError(t, err)
	S, err := g.curve().public(w, y, false)
	require.NoError(t, err)
	kdcK, err := g.curve().shared(w, x, S, false)
	require.NoError(t, err)

	torsion := mustEdwardsPoint(order8a)
	tp, err := new(edwards25519.Point).SetBytes(T)
	require.NoError(t, err)
	mixed := new(edwards25519.Point).Add(tp, torsion).Bytes()
	k, err := g.curve().shared(w, y, mixed, true)
	require.NoError(t, err)
	assert.Equal(t, kdcK, k, "the torsion component is multiplied away")

	ws, err := edwardsW(w)
	require.NoError(t, err)
	wM := new(edwards25519.Point).ScalarMult(ws, mustEdwardsPoint(edwards25519M))
	for _, bad := range []*edwards25519.Point{wM, new(edwards25519.Point).Add(wM, torsion)} {
		_, err = g.curve().shared(w, y, bad.Bytes(), true)
		require.ErrorIs(t, err, ErrIdentity)
		var ee *ElementError
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, whatShared, ee.What)
	}
}

func TestNISTElements(t *testing.T) {
	for _, g := range groups[1:] {
		t.Run(g.name, func(t *testing.T) {
			nc := g.curve().(interface{ encodedConstants() ([]byte, []byte) })
			m, _ := nc.encodedConstants()
			prime := primeOf(g)
			for _, tc := range []struct {
				name string
				b    []byte
				want error
			}{
				{"M", m, nil},
				{"identity", []byte{0}, ErrElementLength},
				{"short", m[:len(m)-1], ErrElementLength},
				{"long", append(m, 0), ErrElementLength},
				{"uncompressed prefix", append([]byte{4}, m[1:]...), ErrNonCanonical},
				{"hybrid prefix", append([]byte{6}, m[1:]...), ErrNonCanonical},
				{"x = p", append([]byte{2}, prime...), ErrNonCanonical},
				{"x = 2^k - 1", append([]byte{3}, bytes.Repeat([]byte{0xff}, len(prime))...), ErrNonCanonical},
				{"not on curve", notOnCurve[g.name], ErrNotOnCurve},
			} {
				err := g.curve().check(tc.b)
				if tc.want == nil {
					assert.NoError(t, err, tc.name)
					continue
				}
				assert.ErrorIs(t, err, tc.want, tc.name)
				assert.ErrorIs(t, err, ErrInvalidElement, tc.name)
			}

			// T = w·M makes K the identity: refused.
			w := bytes.Repeat([]byte{5}, g.multLen)
			y, err := g.curve().randomScalar()
			require.NoError(t, err)
			wM := scaledConstant(t, g, w)
			_, err = g.curve().shared(w, y, wM, true)
			require.ErrorIs(t, err, ErrIdentity)
		})
	}
}

// notOnCurve holds, per NIST curve, a compressed encoding whose x has no
// point on the curve.
var notOnCurve = map[string][]byte{
	"P-256": mustHex("02" + "0000000000000000000000000000000000000000000000000000000000000001"),
	"P-384": mustHex("02" + "000000000000000000000000000000000000000000000000" +
		"000000000000000000000000000000000000000000000001"),
	"P-521": mustHex("02" + "000000000000000000000000000000000000000000000000000000000000000000" +
		"000000000000000000000000000000000000000000000000000000000000000003"),
}

func primeOf(g *group) []byte {
	switch c := g.curve().(type) {
	case interface{ primeBytes() []byte }:
		return c.primeBytes()
	}
	panic("not a NIST curve")
}

func (c *nistCurve[P]) primeBytes() []byte { return c.prime }

// scaledConstant returns w·M, encoded.
func scaledConstant(t *testing.T, g *group, w []byte) []byte {
	switch c := g.curve().(type) {
	case interface {
		wTimesM([]byte) ([]byte, error)
	}:
		b, err := c.wTimesM(w)
		require.NoError(t, err)
		return b
	}
	panic("not a NIST curve")
}

func (c *nistCurve[P]) wTimesM(w []byte) ([]byte, error) {
	p, err := c.newPoint().ScalarMult(c.m, w)
	if err != nil {
		return nil, err
	}
	return p.BytesCompressed(), nil
}
