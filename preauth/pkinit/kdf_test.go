package pkinit

import (
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"strings"
	"testing"

	stdasn1 "encoding/asn1"

	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kdfVector is one RFC 8636 §8 test vector, from MIT's pkinit_kdf_test.c
// (testdata/pkinit_kdf.json).
type kdfVector struct {
	Name       string `json:"name"`
	KDFOID     string `json:"kdf_oid"`
	Enctype    int32  `json:"enctype"`
	Z          string `json:"Z"`
	PartyU     string `json:"party_u"`
	PartyV     string `json:"party_v"`
	NameType   int32  `json:"name_type"`
	ASReq      string `json:"as_req"`
	PKASRep    string `json:"pk_as_rep"`
	OtherInfo  string `json:"other_info"`
	KDFOut     string `json:"kdf_out"`
	Key        string `json:"key"`
	PartyUInfo string `json:"party_u_info"`
}

func loadKDFVectors(t *testing.T) []kdfVector {
	t.Helper()
	b, err := os.ReadFile("testdata/pkinit_kdf.json")
	require.NoError(t, err)
	var f struct{ Vectors []kdfVector }
	require.NoError(t, json.Unmarshal(b, &f))
	require.Len(t, f.Vectors, 3)
	return f.Vectors
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func parseOID(t *testing.T, s string) stdasn1.ObjectIdentifier {
	t.Helper()
	var oid stdasn1.ObjectIdentifier
	for _, p := range strings.Split(s, ".") {
		var n int
		for _, c := range p {
			n = n*10 + int(c-'0')
		}
		oid = append(oid, n)
	}
	return oid
}

func principal(s string, nt int32) (types.PrincipalName, string) {
	name, realm, _ := strings.Cut(s, "@")
	return types.PrincipalName{NameType: nt, NameString: strings.Split(name, "/")}, realm
}

// TestAgilityKDFVectors checks the RFC 8636 KDF (SHA-1, SHA-256, SHA-512;
// AES-256 and triple DES) against RFC 8636 §8.
func TestAgilityKDFVectors(t *testing.T) {
	for _, v := range loadKDFVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			u, ur := principal(v.PartyU, v.NameType)
			s, sr := principal(v.PartyV, v.NameType)
			in := kdfInput{client: u, clientRealm: ur, server: s, kdcRealm: sr, etype: v.Enctype,
				asReq: unhex(t, v.ASReq), pkASRep: unhex(t, v.PKASRep), secret: unhex(t, v.Z)}
			oid := parseOID(t, v.KDFOID)
			info, err := encodeOtherInfo(oid, in)
			require.NoError(t, err)
			assert.Equal(t, v.OtherInfo, hex.EncodeToString(info))
			key, err := agilityKDF(oid, in)
			require.NoError(t, err)
			assert.Equal(t, v.Key, hex.EncodeToString(key.KeyValue))
			assert.Equal(t, v.Enctype, key.KeyType)
		})
	}
}

func TestAgilityKDFRefusesUnofferedKDF(t *testing.T) {
	_, err := agilityKDF(stdasn1.ObjectIdentifier{1, 2, 3}, kdfInput{etype: 18})
	require.ErrorIs(t, err, ErrBadReply)
}

// TestOctetString2Key checks RFC 4556 §3.2.3.1's construction for
// AES-256: the first 32 bytes of SHA-1(0|x) | SHA-1(1|x).
func TestOctetString2Key(t *testing.T) {
	x := []byte("shared secret")
	key, err := octetString2Key(18, x, nil, nil)
	require.NoError(t, err)
	assert.Len(t, key.KeyValue, 32)
	// Same secret, different nonces: different keys.
	k2, err := octetString2Key(18, x, nil, []byte{1})
	require.NoError(t, err)
	assert.NotEqual(t, key.KeyValue, k2.KeyValue)
	k3, err := octetString2Key(17, x, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, key.KeyValue[:16], k3.KeyValue, "AES-128 is a prefix of the same stream")
}

func TestMODPRejectsBadKDCValues(t *testing.T) {
	d, err := newMODP2048()
	require.NoError(t, err)
	for name, y := range map[string][]byte{
		"one":      {0x02, 0x01, 0x01},
		"zero":     {0x02, 0x01, 0x00},
		"not DER":  {0xff},
		"trailing": {0x02, 0x01, 0x05, 0x00},
	} {
		_, err := d.shared(y)
		assert.ErrorIs(t, err, ErrBadKDCPublicValue, name)
	}
	// p-1 is out of range.
	pm1 := append([]byte(nil), group14P.Bytes()...)
	pm1[len(pm1)-1]--
	der, _ := stdasn1.Marshal(new(big.Int).SetBytes(pm1))
	_, err = d.shared(der)
	assert.ErrorIs(t, err, ErrBadKDCPublicValue)
}

func TestMODPAgreement(t *testing.T) {
	a, err := newMODP2048()
	require.NoError(t, err)
	b, err := newMODP2048()
	require.NoError(t, err)
	yb, _ := stdasn1.Marshal(b.y)
	ya, _ := stdasn1.Marshal(a.y)
	za, err := a.shared(yb)
	require.NoError(t, err)
	zb, err := b.shared(ya)
	require.NoError(t, err)
	assert.Equal(t, za, zb)
	assert.Len(t, za, 256, "padded to the modulus")
}

func TestECDHAgreement(t *testing.T) {
	for _, g := range []Group{GroupP256, GroupP384, GroupP521} {
		a, err := newECDH(g)
		require.NoError(t, err)
		b, err := newECDH(g)
		require.NoError(t, err)
		za, err := a.shared(b.key.PublicKey().Bytes())
		require.NoError(t, err)
		zb, err := b.shared(a.key.PublicKey().Bytes())
		require.NoError(t, err)
		assert.Equal(t, za, zb, g)
		_, err = a.spki()
		require.NoError(t, err)
		_, err = a.shared([]byte{4, 1, 2})
		assert.ErrorIs(t, err, ErrBadKDCPublicValue)
	}
}

func TestParseIdentity(t *testing.T) {
	sp, err := parseIdentity("FILE:/c.pem,/k.pem")
	require.NoError(t, err)
	assert.Equal(t, "/c.pem", sp.certFile)
	assert.Equal(t, "/k.pem", sp.keyFile)
	sp, err = parseIdentity("/both.pem")
	require.NoError(t, err)
	assert.Equal(t, "FILE", sp.kind)
	assert.Equal(t, "/both.pem", sp.keyFile)
	sp, err = parseIdentity("PKCS11:module_name=/m.so:slotid=3:token=card:certid=0a01")
	require.NoError(t, err)
	assert.Equal(t, "/m.so", sp.module)
	assert.Equal(t, 3, sp.slot)
	assert.Equal(t, "card", sp.token)
	assert.Equal(t, []byte{0x0a, 0x01}, sp.certID)
	_, err = parseIdentity("ENV:X")
	assert.Error(t, err)
	_, err = parseIdentity("PKCS11:slotid=x")
	assert.Error(t, err)
}

func TestPKINITSANRoundTrip(t *testing.T) {
	der, err := MarshalPKINITSAN("R.TEST", 2, "krbtgt", "R.TEST")
	require.NoError(t, err)
	assert.NotEmpty(t, der)
}

// TestMODPSubgroupCheck: the Jacobi test agrees with y^q = 1.
func TestMODPSubgroupCheck(t *testing.T) {
	d, err := newMODP2048()
	require.NoError(t, err)
	for _, v := range []int64{2, 3, 4, 5, 7, 9, 11} {
		y := big.NewInt(v)
		inSub := new(big.Int).Exp(y, d.q, d.p).Cmp(big.NewInt(1)) == 0
		_, err := d.shared(mustMarshal(y))
		assert.Equal(t, inSub, err == nil, "y=%d", v)
	}
}

// TestMODPGroupsAreSafePrimes checks the RFC 3526 constants: p and
// (p-1)/2 are prime, and p's top and bottom 64 bits are ones (RFC 3526 §1).
func TestMODPGroupsAreSafePrimes(t *testing.T) {
	ones := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 64), big.NewInt(1))
	for g, bits := range map[Group]int{GroupMODP2048: 2048, GroupMODP4096: 4096} {
		p := modpPrime(g)
		assert.Equal(t, bits, p.BitLen(), g)
		assert.True(t, p.ProbablyPrime(8), g)
		assert.True(t, new(big.Int).Rsh(p, 1).ProbablyPrime(8), g)
		assert.Equal(t, 0, new(big.Int).And(p, ones).Cmp(ones), g)
		assert.Equal(t, 0, new(big.Int).Rsh(p, uint(bits-64)).Cmp(ones), g)
		d, err := newMODP(g)
		require.NoError(t, err)
		e, err := newMODP(g)
		require.NoError(t, err)
		z1, err := d.shared(mustMarshal(e.y))
		require.NoError(t, err)
		z2, err := e.shared(mustMarshal(d.y))
		require.NoError(t, err)
		assert.Equal(t, z1, z2)
		assert.Len(t, z1, bits/8)
	}
}

// BenchmarkKeyAgreement is the client's Diffie-Hellman work per login in
// each group: key generation and the shared secret with a peer's value.
func BenchmarkKeyAgreement(b *testing.B) {
	for _, g := range []Group{GroupMODP2048, GroupMODP4096, GroupP256, GroupP384, GroupP521} {
		b.Run(string(g), func(b *testing.B) {
			peer, err := newKeyAgreement(g)
			require.NoError(b, err)
			var peerPub []byte
			switch p := peer.(type) {
			case *modpDH:
				peerPub = mustMarshal(p.y)
			case *ecDH:
				peerPub = p.key.PublicKey().Bytes()
			}
			for b.Loop() {
				ka, err := newKeyAgreement(g)
				require.NoError(b, err)
				if _, err := ka.spki(); err != nil {
					b.Fatal(err)
				}
				if _, err := ka.shared(peerPub); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestKDCHostnameSAN(t *testing.T) {
	ca := newTestCA(t, "R.TEST", oidPKINITKPKdc, "OTHER.TEST")
	ca.kdc.DNSNames = []string{"kdc.r.test"}
	pol := ca.policy()
	assert.ErrorIs(t, checkKDCCert(ca.kdc, pol), ErrKDCNameMismatch)
	pol.hostnames = []string{"KDC.R.TEST"}
	assert.NoError(t, checkKDCCert(ca.kdc, pol), "pkinit_kdc_hostname matches a dNSName")
}
