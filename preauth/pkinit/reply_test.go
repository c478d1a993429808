package pkinit

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	stdasn1 "encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gokinit/gokinit/preauth"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/smallstep/pkcs7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCA is a CA with a KDC certificate, for replies built in tests.
type testCA struct {
	ca     *x509.Certificate
	caKey  *rsa.PrivateKey
	kdc    *x509.Certificate
	kdcKey *rsa.PrivateKey
	roots  *x509.CertPool
	realm  string
}

var testKeys struct {
	ca, kdc *rsa.PrivateKey
}

func newTestCA(t testing.TB, realm string, eku stdasn1.ObjectIdentifier, sanRealm string) *testCA {
	t.Helper()
	if testKeys.ca == nil {
		testKeys.ca, _ = rsa.GenerateKey(rand.Reader, 2048)
		testKeys.kdc, _ = rsa.GenerateKey(rand.Reader, 2048)
	}
	c := &testCA{caKey: testKeys.ca, kdcKey: testKeys.kdc, realm: realm}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &c.caKey.PublicKey, c.caKey)
	require.NoError(t, err)
	c.ca, _ = x509.ParseCertificate(der)
	san, err := MarshalPKINITSAN(sanRealm, 2, "krbtgt", sanRealm)
	require.NoError(t, err)
	kt := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "KDC"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, UnknownExtKeyUsage: []stdasn1.ObjectIdentifier{eku},
		ExtraExtensions: []pkix.Extension{{Id: stdasn1.ObjectIdentifier{2, 5, 29, 17}, Value: san}}}
	der, err = x509.CreateCertificate(rand.Reader, kt, c.ca, &c.kdcKey.PublicKey, c.caKey)
	require.NoError(t, err)
	c.kdc, _ = x509.ParseCertificate(der)
	c.roots = x509.NewCertPool()
	c.roots.AddCert(c.ca)
	return c
}

// reply builds a PA-PK-AS-REP as a KDC would: KDCDHKeyInfo with its DH
// value and nonce, signed, with the KDF it chose.
func (c *testCA) reply(t testing.TB, client *modpDH, nonce int64, kdf stdasn1.ObjectIdentifier) ([]byte, []byte) {
	t.Helper()
	kdc, err := newMODP2048()
	require.NoError(t, err)
	y, _ := stdasn1.Marshal(kdc.y)
	info, err := stdasn1.Marshal(kdcDHKeyInfo{SubjectPublicKey: stdasn1.BitString{Bytes: y, BitLength: 8 * len(y)}, Nonce: nonce})
	require.NoError(t, err)
	sd, err := pkcs7.NewSignedData(info)
	require.NoError(t, err)
	sd.GetSignedData().ContentInfo.ContentType = oidPKINITDHKeyData
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	require.NoError(t, sd.AddSigner(c.kdc, c.kdcKey, pkcs7.SignerInfoConfig{}))
	signed, err := sd.Finish()
	require.NoError(t, err)
	ri := dhRepInfo{DHSignedData: signed}
	if kdf != nil {
		ri.KDF = kdfAlgorithmID{KDFID: kdf}
	}
	inner, err := stdasn1.Marshal(ri)
	require.NoError(t, err)
	rep, err := stdasn1.Marshal(contextExplicit(0, inner))
	require.NoError(t, err)
	var z []byte
	if client != nil {
		z, err = kdc.shared(mustMarshal(client.y))
		require.NoError(t, err)
	}
	return rep, z
}

func mustMarshal(v any) []byte {
	b, err := stdasn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (c *testCA) policy() kdcPolicy {
	return kdcPolicy{roots: c.roots, realm: c.realm, now: time.Now()}
}

func TestVerifyKDCReply(t *testing.T) {
	ca := newTestCA(t, "R.TEST", oidPKINITKPKdc, "R.TEST")
	client, err := newMODP2048()
	require.NoError(t, err)
	rep, z := ca.reply(t, client, 42, oidKDFSHA256)
	parsed, err := parsePKASRep(rep)
	require.NoError(t, err)
	assert.Equal(t, oidKDFSHA256, parsed.kdf.KDFID)
	content, err := verifyKDCSignedData(parsed.signedData, ca.policy())
	require.NoError(t, err)
	var info kdcDHKeyInfo
	_, err = stdasn1.Unmarshal(content, &info)
	require.NoError(t, err)
	assert.Equal(t, int64(42), info.Nonce)
	got, err := client.shared(info.SubjectPublicKey.RightAlign())
	require.NoError(t, err)
	assert.Equal(t, z, got)

	// Another CA's anchors.
	other := newTestCA(t, "R.TEST", oidPKINITKPKdc, "R.TEST")
	pol := ca.policy()
	pol.roots = x509.NewCertPool()
	pol.roots.AddCert(func() *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "Other"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
		k, _ := rsa.GenerateKey(rand.Reader, 1024)
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		c, _ := x509.ParseCertificate(der)
		return c
	}())
	_ = other
	_, err = verifyKDCSignedData(parsed.signedData, pol)
	assert.ErrorIs(t, err, ErrKDCNotTrusted)

	// No anchors at all.
	pol.roots = nil
	_, err = verifyKDCSignedData(parsed.signedData, pol)
	assert.ErrorIs(t, err, ErrNoAnchors)

	// Another realm's KDC.
	pol = ca.policy()
	pol.realm = "OTHER.TEST"
	_, err = verifyKDCSignedData(parsed.signedData, pol)
	assert.ErrorIs(t, err, ErrKDCNameMismatch)
}

func TestVerifyKDCReplyEKU(t *testing.T) {
	ca := newTestCA(t, "R.TEST", oidPKINITKPClient, "R.TEST")
	rep, _ := ca.reply(t, nil, 1, nil)
	parsed, err := parsePKASRep(rep)
	require.NoError(t, err)
	_, err = verifyKDCSignedData(parsed.signedData, ca.policy())
	assert.ErrorIs(t, err, ErrKDCKeyPurpose)
}

func TestVerifyKDCReplyTampered(t *testing.T) {
	ca := newTestCA(t, "R.TEST", oidPKINITKPKdc, "R.TEST")
	rep, _ := ca.reply(t, nil, 1, nil)
	parsed, err := parsePKASRep(rep)
	require.NoError(t, err)
	// Flip a byte of the signed content (the nonce's last byte lies inside
	// the KDCDHKeyInfo, which the message digest covers).
	sd := append([]byte(nil), parsed.signedData...)
	idx := findNonce(sd)
	require.Positive(t, idx)
	sd[idx] ^= 0xff
	_, err = verifyKDCSignedData(sd, ca.policy())
	assert.ErrorIs(t, err, ErrKDCSignature)
}

// findNonce finds the encoded "a1 03 02 01 01" (nonce 1) in b.
func findNonce(b []byte) int {
	for i := 0; i+5 <= len(b); i++ {
		if b[i] == 0xa1 && b[i+1] == 3 && b[i+2] == 2 && b[i+3] == 1 && b[i+4] == 1 {
			return i + 4
		}
	}
	return -1
}

func TestParsePKASRepRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":        {},
		"RSA":          {0x81, 0x01, 0x00},
		"universal":    {0x30, 0x00},
		"empty dhInfo": {0xa0, 0x02, 0x30, 0x00},
		"trailing":     {0xa0, 0x02, 0x30, 0x00, 0x00},
	} {
		_, err := parsePKASRep(b)
		assert.ErrorIs(t, err, ErrBadReply, name)
	}
}

// TestWriteFuzzSeeds regenerates the seed corpora when GOKINIT_WRITE_SEEDS
// is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("GOKINIT_WRITE_SEEDS") == "" {
		t.Skip("set GOKINIT_WRITE_SEEDS=1 to regenerate testdata/fuzz seeds")
	}
	ca := newTestCA(t, "R.TEST", oidPKINITKPKdc, "R.TEST")
	client, _ := newMODP2048()
	rep, _ := ca.reply(t, client, 7, oidKDFSHA256)
	rep2, _ := ca.reply(t, client, 7, nil)
	parsed, _ := parsePKASRep(rep)
	write := func(target, name string, b []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))), 0o644))
	}
	write("FuzzParsePKASRep", "seed-dhinfo-kdf", rep)
	write("FuzzParsePKASRep", "seed-dhinfo-nokdf", rep2)
	write("FuzzParsePKASRep", "seed-rsa", []byte{0x81, 0x01, 0x00})
	write("FuzzVerifyKDCSignedData", "seed-signeddata", parsed.signedData)
	unsigned, _ := unsignedAuthPack([]byte{0x30, 0x00})
	write("FuzzVerifyKDCSignedData", "seed-unsigned", unsigned)
	require.NoError(t, os.WriteFile(filepath.Join("testdata", "kdc-ca.der"), ca.ca.Raw, 0o644))
}

// TestSignedContentTypeMustMatch: with signed attributes the signature
// covers the content-type attribute, not the outer eContentType; a
// relabelled SignedData is refused.
func TestSignedContentTypeMustMatch(t *testing.T) {
	ca := newTestCA(t, "R.TEST", oidPKINITKPKdc, "R.TEST")
	sd, err := pkcs7.NewSignedData([]byte{0x30, 0x00})
	require.NoError(t, err)
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	require.NoError(t, sd.AddSigner(ca.kdc, ca.kdcKey, pkcs7.SignerInfoConfig{})) // signs content type id-data
	sd.GetSignedData().ContentInfo.ContentType = oidPKINITDHKeyData               // relabelled afterwards
	signed, err := sd.Finish()
	require.NoError(t, err)
	_, err = verifyKDCSignedData(signed, ca.policy())
	require.ErrorIs(t, err, ErrKDCSignature)
	assert.Contains(t, err.Error(), "signed content type")
}

// policyCallbacks is just enough of preauth.Callbacks for policy().
type policyCallbacks struct {
	preauth.Callbacks
	config  map[string][]string
	preauth time.Time
}

func (c policyCallbacks) Client() (types.PrincipalName, string) {
	return types.NewPrincipalName(1, "carol"), "R.TEST"
}
func (c policyCallbacks) Config(name string) []string { return c.config[name] }
func (c policyCallbacks) PreauthTime(bool) time.Time  { return c.preauth }

// TestPolicyUsesTheLocalClock: PreauthTime carries the KDC offset taken
// from an unauthenticated KRB-ERROR; certificate validity must not.
func TestPolicyUsesTheLocalClock(t *testing.T) {
	ca := newTestCA(t, "R.TEST", oidPKINITKPKdc, "R.TEST")
	anchors := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(anchors, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.ca.Raw}), 0o600))
	cb := policyCallbacks{config: map[string][]string{"pkinit_anchors": {"FILE:" + anchors}}, preauth: time.Now().Add(-60 * 24 * time.Hour)}
	pol, err := policy(cb)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), pol.now, time.Minute)

	// Revocation checking was asked for and is not implemented: refuse.
	cb.config["pkinit_revoke"] = []string{"FILE:/etc/crl.pem"}
	_, err = policy(cb)
	require.ErrorIs(t, err, ErrKDCNotTrusted)
	delete(cb.config, "pkinit_revoke")
	cb.config["pkinit_require_crl_checking"] = []string{"true"}
	_, err = policy(cb)
	require.ErrorIs(t, err, ErrKDCNotTrusted)
	cb.config["pkinit_require_crl_checking"] = []string{"false"}
	_, err = policy(cb)
	require.NoError(t, err)
}
