package pkinit

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	stdasn1 "encoding/asn1"
	"encoding/pem"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cmsForm chooses how buildSignedData encodes a SignedData.
type cmsForm struct {
	ski, skiConstructed bool // SignerIdentifier: subjectKeyIdentifier (BER constructed)
	noAttrs             bool // no signed attributes: the signature covers the content
	noCerts             bool
	signers             int // default 1
	attrType            stdasn1.ObjectIdentifier
	badDigest           bool
	ber                 bool // indefinite lengths and a two-segment eContent
}

func tlv(tag byte, content []byte) []byte {
	return append(append([]byte{tag}, derLength(len(content))...), content...)
}

func buildSignedData(t *testing.T, c *testCA, content []byte, f cmsForm) []byte {
	t.Helper()
	ctype := oidPKINITDHKeyData
	digest := sha256.Sum256(content)
	if f.badDigest {
		digest[0] ^= 1
	}
	attrType := ctype
	if f.attrType != nil {
		attrType = f.attrType
	}
	var sid []byte
	switch {
	case f.skiConstructed:
		sid = tlv(0xa0, tlv(0x04, c.kdc.SubjectKeyId))
	case f.ski:
		sid = tlv(0x80, c.kdc.SubjectKeyId)
	default:
		ias, err := stdasn1.Marshal(struct {
			Issuer stdasn1.RawValue
			Serial int64
		}{stdasn1.RawValue{FullBytes: c.kdc.RawIssuer}, c.kdc.SerialNumber.Int64()})
		require.NoError(t, err)
		sid = ias
	}
	sha256Alg, _ := stdasn1.Marshal(pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: stdasn1.NullRawValue})
	rsaAlg, _ := stdasn1.Marshal(pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: stdasn1.NullRawValue})
	signed := content
	var attrs []byte
	if !f.noAttrs {
		ct, _ := stdasn1.Marshal(cmsAttribute{Type: oidAttrContentType, Values: []stdasn1.RawValue{{FullBytes: mustMarshal(attrType)}}})
		md, _ := stdasn1.Marshal(cmsAttribute{Type: oidAttrMessageDigest, Values: []stdasn1.RawValue{{FullBytes: mustMarshal(digest[:])}}})
		set := append(ct, md...)
		signed = tlv(0x31, set)
		attrs = tlv(0xa0, set)
	}
	h := sha256.Sum256(signed)
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.kdcKey, crypto.SHA256, h[:])
	require.NoError(t, err)
	si := tlv(0x30, concat([]byte{0x02, 0x01, 0x01}, sid, sha256Alg, attrs, rsaAlg, tlv(0x04, sig)))
	n := f.signers
	if n == 0 {
		n = 1
	}
	var sis []byte
	for range n {
		sis = append(sis, si...)
	}
	oct := tlv(0x04, content)
	if f.ber {
		half := len(content) / 2
		oct = concat([]byte{0x24, 0x80}, tlv(0x04, content[:half]), tlv(0x04, content[half:]), []byte{0, 0})
	}
	eci := tlv(0x30, concat(mustMarshal(ctype), tlv(0xa0, oct)))
	var certs []byte
	if !f.noCerts {
		certs = tlv(0xa0, concat(c.ca.Raw, c.kdc.Raw))
	}
	body := concat([]byte{0x02, 0x01, 0x03}, tlv(0x31, sha256Alg), eci, certs, tlv(0x31, sis))
	if f.ber {
		sd := concat([]byte{0x30, 0x80}, body, []byte{0, 0})
		return concat([]byte{0x30, 0x80}, mustMarshal(oidSignedData), []byte{0xa0, 0x80}, sd, []byte{0, 0, 0, 0})
	}
	return tlv(0x30, concat(mustMarshal(oidSignedData), tlv(0xa0, tlv(0x30, body))))
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestCMSSignedDataForms: every form RFC 5652 and RFC 4556 allow for the
// KDC's SignedData verifies; what they forbid, or what leaves the KDC
// unauthenticated, is refused with the error naming why.
func TestCMSSignedDataForms(t *testing.T) {
	c := newTestCA(t, "R.TEST", oidPKINITKPKdc, "R.TEST")
	// A KDC certificate with a subjectKeyIdentifier, as hxtool and openssl make.
	kt := *c.kdc
	tmpl := &x509.Certificate{SerialNumber: kt.SerialNumber, Subject: kt.Subject, NotBefore: kt.NotBefore, NotAfter: kt.NotAfter,
		KeyUsage: kt.KeyUsage, UnknownExtKeyUsage: kt.UnknownExtKeyUsage, ExtraExtensions: kt.Extensions[len(kt.Extensions)-1:],
		SubjectKeyId: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}}
	tmpl.ExtraExtensions = nil
	for _, e := range kt.Extensions {
		if e.Id.Equal(stdasn1.ObjectIdentifier{2, 5, 29, 17}) {
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, e)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.ca, &c.kdcKey.PublicKey, c.caKey)
	require.NoError(t, err)
	c.kdc, _ = x509.ParseCertificate(der)
	pol := kdcPolicy{roots: c.roots, realm: "R.TEST", now: time.Now()}
	content := []byte("KDCDHKeyInfo stand-in, long enough to split")

	for name, f := range map[string]cmsForm{
		"issuerAndSerialNumber (MIT)":                         {},
		"subjectKeyIdentifier":                                {ski: true},
		"subjectKeyIdentifier, BER constructed (Heimdal 7.8)": {skiConstructed: true},
		"no signed attributes":                                {noAttrs: true},
		"BER indefinite lengths, segmented eContent":          {ber: true, ski: true},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := verifyKDCSignedData(buildSignedData(t, c, content, f), pol)
			require.NoError(t, err)
			assert.Equal(t, content, got)
		})
	}
	for name, tc := range map[string]struct {
		f    cmsForm
		want error
	}{
		"no certificates":               {cmsForm{noCerts: true}, ErrKDCSignature},
		"two signers":                   {cmsForm{signers: 2}, ErrKDCSignature},
		"signed content type id-data":   {cmsForm{attrType: stdasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}}, ErrKDCSignature},
		"message digest does not match": {cmsForm{badDigest: true}, ErrKDCSignature},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := verifyKDCSignedData(buildSignedData(t, c, content, tc.f), pol)
			require.ErrorIs(t, err, tc.want)
		})
	}
	// A signature over other content.
	b := buildSignedData(t, c, content, cmsForm{noAttrs: true})
	i := len(b) - 1 // last byte of the signature
	b[i] ^= 1
	_, err = verifyKDCSignedData(b, pol)
	require.ErrorIs(t, err, ErrKDCSignature)
}

// TestCMSHeimdalKDCReply verifies the dhSignedData Heimdal 7.8's KDC sent
// (testdata, recorded from krbtest's Heimdal realm): SHA-1 with RSA, signed
// attributes, signer named by a BER-constructed subjectKeyIdentifier.
func TestCMSHeimdalKDCReply(t *testing.T) {
	der, err := os.ReadFile("testdata/heimdal78-dhsigneddata.der")
	require.NoError(t, err)
	caPEM, err := os.ReadFile("testdata/heimdal78-ca.pem")
	require.NoError(t, err)
	blk, _ := pem.Decode(caPEM)
	ca, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	pol := kdcPolicy{roots: roots, realm: "HEIMDAL.KRBTEST", now: ca.NotBefore.Add(2 * time.Hour)}
	content, err := verifyKDCSignedData(der, pol)
	require.NoError(t, err)
	assert.NotEmpty(t, content)
	pol.realm = "OTHER.TEST"
	_, err = verifyKDCSignedData(der, pol)
	assert.True(t, errors.Is(err, ErrKDCNameMismatch), "%v", err)
}

// FuzzVerifyCMSSignedData feeds the KDC SignedData decoder (BER included):
// an error or a verified content, never a panic.
func FuzzVerifyCMSSignedData(f *testing.F) {
	if b, err := os.ReadFile("testdata/heimdal78-dhsigneddata.der"); err == nil {
		f.Add(b)
	}
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x80, 0x30, 0x80, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = verifyCMSSignedData(b)
		_, _ = berToDER(b)
	})
}
