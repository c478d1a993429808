package pkinit

import (
	"crypto/x509"
	stdasn1 "encoding/asn1"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jcmturner/gofork/encoding/asn1"
)

// Fuzz targets of issue 12 for what the KDC sends PKINIT outside the
// signed data's content: TD-DH-PARAMETERS in a KRB-ERROR, the KDC's
// Diffie-Hellman or ECDH public value, and the KDC certificate's names and
// key purposes.

// seedBytes reads the []byte values of the files of a seed corpus.
func seedBytes(tb testing.TB, target string) [][]byte {
	tb.Helper()
	entries, _ := os.ReadDir(filepath.Join("testdata", "fuzz", target))
	var out [][]byte
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata", "fuzz", target, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		lines := strings.SplitN(string(b), "\n", 3)
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, []byte(s))
	}
	return out
}

// tdDHParams encodes TYPED-DATA with one TD-DH-PARAMETERS listing the
// groups' AlgorithmIdentifiers, as MIT's KDC sends after
// KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED.
func tdDHParams(tb testing.TB, groups ...Group) []byte {
	tb.Helper()
	var algs []algorithmIdentifier
	for _, g := range groups {
		ka, err := newKeyAgreement(g)
		if err != nil {
			tb.Fatal(err)
		}
		spki, err := ka.spki()
		if err != nil {
			tb.Fatal(err)
		}
		var info subjectPublicKeyInfo
		if _, err := stdasn1.Unmarshal(spki, &info); err != nil {
			tb.Fatal(err)
		}
		algs = append(algs, info.Algorithm)
	}
	v, err := stdasn1.Marshal(algs)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := asn1.Marshal([]typedData{{DataType: tdDHParameters, DataValue: v}})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzParseTDDHParameters: a KRB-ERROR's e-data. Decoding never panics;
// errors wrap ErrBadReply; a group is accepted only when the KDC's list
// names exactly its parameters.
func FuzzParseTDDHParameters(f *testing.F) {
	f.Add(tdDHParams(f, GroupMODP4096))
	f.Add(tdDHParams(f, GroupMODP2048, GroupP256, GroupP384, GroupP521))
	f.Add(tdDHParams(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		algs, err := parseTDDHParameters(b)
		if err != nil {
			if !errors.Is(err, ErrBadReply) {
				t.Fatalf("error %v does not wrap ErrBadReply", err)
			}
			return
		}
		for _, g := range []Group{GroupMODP2048, GroupMODP4096, GroupP256, GroupP384, GroupP521} {
			if !kdcAccepts(algs, g) {
				continue
			}
			ok := false
			for _, a := range algs {
				if a.Algorithm.Equal(oidDHPublicNumber) || a.Algorithm.Equal(oidECPublicKey) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("group %s accepted from a list naming no DH or EC algorithm", g)
			}
		}
	})
}

// FuzzKDCPublicValue: the KDC's public value in KDCDHKeyInfo for each
// group the client offers. It is refused unless valid (MODP: a DER INTEGER
// 1 < y < p-1 in the prime-order subgroup; ECDH: a point on the curve),
// never panics, and an accepted one gives a secret of the group's size.
func FuzzKDCPublicValue(f *testing.F) {
	groups := []Group{GroupMODP2048, GroupMODP4096, GroupP256, GroupP384, GroupP521}
	kas := map[Group]keyAgreement{}
	for i, g := range groups {
		ka, err := newKeyAgreement(g)
		if err != nil {
			f.Fatal(err)
		}
		kas[g] = ka
		peer, err := newKeyAgreement(g)
		if err != nil {
			f.Fatal(err)
		}
		spki, err := peer.spki()
		if err != nil {
			f.Fatal(err)
		}
		var info subjectPublicKeyInfo
		if _, err := stdasn1.Unmarshal(spki, &info); err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), info.PublicKey.RightAlign())
	}
	p := modpPrime(GroupMODP2048)
	for _, y := range []*big.Int{big.NewInt(0), big.NewInt(1), new(big.Int).Sub(p, big.NewInt(1)), p} {
		b, _ := stdasn1.Marshal(y)
		f.Add(uint8(0), b)
	}
	f.Fuzz(func(t *testing.T, gi uint8, pub []byte) {
		g := groups[int(gi)%len(groups)]
		z, err := kas[g].shared(pub)
		if err != nil {
			if !errors.Is(err, ErrBadKDCPublicValue) {
				t.Fatalf("error %v does not wrap ErrBadKDCPublicValue", err)
			}
			return
		}
		if len(z) == 0 {
			t.Fatal("an accepted value gave an empty secret")
		}
		if g == GroupMODP2048 || g == GroupMODP4096 {
			var y *big.Int
			if _, err := stdasn1.Unmarshal(pub, &y); err != nil {
				t.Fatal("accepted a value that is not an INTEGER")
			}
			if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(new(big.Int).Sub(modpPrime(g), big.NewInt(1))) >= 0 {
				t.Fatalf("accepted y out of range")
			}
		}
	})
}

// FuzzCheckKDCCert: a certificate as the KDC sends it in its SignedData
// (seeds: the test KDC's certificate and its CA). Name and key purpose
// checks never panic; what they accept names krbtgt/REALM@REALM in
// id-pkinit-san or a configured host name, and carries id-pkinit-KPKdc or
// (when configured) serverAuth.
func FuzzCheckKDCCert(f *testing.F) {
	ca, err := os.ReadFile("testdata/kdc-ca.der")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ca, "R.TEST", "", false)
	for _, sd := range seedBytes(f, "FuzzVerifyKDCSignedData") {
		if p7, err := parsePKCS7(sd); err == nil {
			for _, c := range p7.Certificates {
				f.Add(c.Raw, "R.TEST", "kdc.r.test", true)
			}
		}
	}
	f.Fuzz(func(t *testing.T, der []byte, realm, host string, serverEKU bool) {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		pol := kdcPolicy{realm: realm, serverEKU: serverEKU}
		if host != "" {
			pol.hostnames = []string{host}
		}
		if err := checkKDCCert(cert, pol); err != nil {
			return
		}
		names, err := pkinitSANs(cert)
		if err != nil {
			t.Fatal("accepted a certificate whose SAN does not decode")
		}
		named := false
		for _, n := range names {
			if n.Realm == realm && len(n.PrincipalName.NameString) == 2 && n.PrincipalName.NameString[0] == "krbtgt" && n.PrincipalName.NameString[1] == realm {
				named = true
			}
		}
		for _, d := range cert.DNSNames {
			if host != "" && strings.EqualFold(d, host) {
				named = true
			}
		}
		if !named {
			t.Fatal("accepted a certificate that does not name the KDC")
		}
	})
}
