package pkinit

import (
	"crypto/ecdh"
	"crypto/rand"
	stdasn1 "encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// rfc3526Group14 is the 2048-bit MODP group of RFC 3526 §3, generator 2,
// the group MIT's client uses by default (pkinit_dh_min_bits = 2048).
const rfc3526Group14 = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1" +
	"29024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
	"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245" +
	"E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D" +
	"C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F" +
	"83655D23DCA3AD961C62F356208552BB9ED529077096966D" +
	"670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9" +
	"DE2BCBF6955817183995497CEA956AE515D2261898FA0510" +
	"15728E5A8AACAA68FFFFFFFFFFFFFFFF"

// rfc3526Group16 is the 4096-bit MODP group of RFC 3526 §5, generator 2.
const rfc3526Group16 = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1" +
	"29024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
	"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245" +
	"E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D" +
	"C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F" +
	"83655D23DCA3AD961C62F356208552BB9ED529077096966D" +
	"670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9" +
	"DE2BCBF6955817183995497CEA956AE515D2261898FA0510" +
	"15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64" +
	"ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7" +
	"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6B" +
	"F12FFA06D98A0864D87602733EC86A64521F2B18177B200C" +
	"BBE117577A615D6C770988C0BAD946E208E24FA074E5AB31" +
	"43DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7" +
	"88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA" +
	"2583E9CA2AD44CE8DBBBC2DB04DE8EF92E8EFC141FBECAA6" +
	"287C59474E6BC05D99B2964FA090C3A2233BA186515BE7ED" +
	"1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9" +
	"93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199" +
	"FFFFFFFFFFFFFFFF"

// ErrBadKDCPublicValue means the KDC's Diffie-Hellman public value is not a
// valid element of the group.
var ErrBadKDCPublicValue = errors.New("the KDC's Diffie-Hellman public value is invalid")

// Group names a key agreement group the client can offer.
type Group string

// Groups: MODP 2048 (RFC 3526, RFC 4556) and the NIST curves of RFC 5349.
const (
	GroupMODP2048 Group = "MODP2048"
	GroupMODP4096 Group = "MODP4096"
	GroupP256     Group = "P-256"
	GroupP384     Group = "P-384"
	GroupP521     Group = "P-521"
)

// keyAgreement is the client's half of one Diffie-Hellman exchange.
type keyAgreement interface {
	// spki is the client's public value as a SubjectPublicKeyInfo.
	spki() ([]byte, error)
	// shared computes the shared secret from the KDC's subjectPublicKey.
	shared(kdcPublic []byte) ([]byte, error)
	group() Group
}

type modpDH struct {
	g              Group
	p, g2, q, x, y *big.Int
}

var (
	group14P, _ = new(big.Int).SetString(rfc3526Group14, 16)
	group16P, _ = new(big.Int).SetString(rfc3526Group16, 16)
)

// modpPrime returns the prime of a MODP group.
func modpPrime(g Group) *big.Int {
	if g == GroupMODP4096 {
		return group16P
	}
	return group14P
}

// newMODP makes a key pair in a MODP group with a 512-bit private
// exponent (more than twice the groups' 112- and 150-bit strengths, NIST
// SP 800-56A §5.6.1.1.1): the public value lies in the prime-order
// subgroup because 2 generates it for these safe primes.
func newMODP(g Group) (*modpDH, error) {
	p := modpPrime(g)
	q := new(big.Int).Rsh(p, 1) // (p-1)/2
	x, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 512))
	if err != nil {
		return nil, err
	}
	x.SetBit(x, 511, 1)
	two := big.NewInt(2)
	return &modpDH{g: g, p: p, g2: two, q: q, x: x, y: new(big.Int).Exp(two, x, p)}, nil
}

func newMODP2048() (*modpDH, error) { return newMODP(GroupMODP2048) }

func (d *modpDH) group() Group { return d.g }

func (d *modpDH) spki() ([]byte, error) {
	params, err := stdasn1.Marshal(struct{ P, G, Q *big.Int }{d.p, d.g2, d.q})
	if err != nil {
		return nil, err
	}
	y, err := stdasn1.Marshal(d.y)
	if err != nil {
		return nil, err
	}
	return stdasn1.Marshal(subjectPublicKeyInfo{
		Algorithm: algorithmIdentifier{Algorithm: oidDHPublicNumber, Parameters: stdasn1.RawValue{FullBytes: params}},
		PublicKey: stdasn1.BitString{Bytes: y, BitLength: 8 * len(y)},
	})
}

// shared checks the KDC's value (1 < y < p-1 and y^q = 1, so it is in the
// prime-order subgroup: NIST SP 800-56A §5.6.2.3.1's full validation) and returns the shared
// secret left-padded to the modulus size (RFC 4556 §3.2.3.1).
func (d *modpDH) shared(kdcPublic []byte) ([]byte, error) {
	var y *big.Int
	if rest, err := stdasn1.Unmarshal(kdcPublic, &y); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: not a DER INTEGER", ErrBadKDCPublicValue)
	}
	pm1 := new(big.Int).Sub(d.p, big.NewInt(1))
	if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(pm1) >= 0 {
		return nil, fmt.Errorf("%w: out of range", ErrBadKDCPublicValue)
	}
	// p is a safe prime (p = 2q+1), so the subgroup of order q is the
	// quadratic residues: y^q = 1 exactly when the Jacobi symbol (y/p) is
	// 1, which costs far less than the exponentiation.
	if big.Jacobi(y, d.p) != 1 {
		return nil, fmt.Errorf("%w: not in the prime-order subgroup", ErrBadKDCPublicValue)
	}
	z := new(big.Int).Exp(y, d.x, d.p)
	return z.FillBytes(make([]byte, (d.p.BitLen()+7)/8)), nil
}

// ecDH is ECDH on a NIST curve (RFC 5349).
type ecDH struct {
	g   Group
	key *ecdh.PrivateKey
}

var curveOIDs = map[Group]stdasn1.ObjectIdentifier{
	GroupP256: {1, 2, 840, 10045, 3, 1, 7},
	GroupP384: {1, 3, 132, 0, 34},
	GroupP521: {1, 3, 132, 0, 35},
}

func newECDH(g Group) (*ecDH, error) {
	var c ecdh.Curve
	switch g {
	case GroupP256:
		c = ecdh.P256()
	case GroupP384:
		c = ecdh.P384()
	case GroupP521:
		c = ecdh.P521()
	default:
		return nil, fmt.Errorf("pkinit: unknown group %q", g)
	}
	k, err := c.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &ecDH{g: g, key: k}, nil
}

func (e *ecDH) group() Group { return e.g }

func (e *ecDH) spki() ([]byte, error) {
	curve, err := stdasn1.Marshal(curveOIDs[e.g])
	if err != nil {
		return nil, err
	}
	pub := e.key.PublicKey().Bytes()
	return stdasn1.Marshal(subjectPublicKeyInfo{
		Algorithm: algorithmIdentifier{Algorithm: oidECPublicKey, Parameters: stdasn1.RawValue{FullBytes: curve}},
		PublicKey: stdasn1.BitString{Bytes: pub, BitLength: 8 * len(pub)},
	})
}

// shared takes the KDC's uncompressed point (RFC 5349 §4: the
// subjectPublicKey is the ECPoint itself) and returns the x coordinate.
func (e *ecDH) shared(kdcPublic []byte) ([]byte, error) {
	pub, err := e.key.Curve().NewPublicKey(kdcPublic)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKDCPublicValue, err)
	}
	z, err := e.key.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKDCPublicValue, err)
	}
	return z, nil
}

func newKeyAgreement(g Group) (keyAgreement, error) {
	switch g {
	case GroupMODP2048, GroupMODP4096, "":
		if g == "" {
			g = GroupMODP2048
		}
		return newMODP(g)
	}
	return newECDH(g)
}
