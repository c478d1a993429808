package pkinit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"software.sslmate.com/src/go-pkcs12"
)

// secretLeak reports where text shows 6 consecutive bytes of secret: raw,
// as hex, or as Go prints a byte slice.
func secretLeak(text string, secret []byte) string {
	const w = 6
	for i := 0; i+w <= len(secret); i++ {
		win := secret[i : i+w]
		for _, form := range []string{string(win), hex.EncodeToString(win), strings.ToUpper(hex.EncodeToString(win)), strings.Trim(fmt.Sprint(win), "[]")} {
			if strings.Contains(text, form) {
				return fmt.Sprintf("secret bytes %d..%d as %q", i, i+w, form)
			}
		}
	}
	return ""
}

// TestNoSecretInKeyFileErrors damages PEM private keys (PKCS#8, SEC 1,
// PKCS#8 inside a PEM whose base64 is damaged too) and a PKCS#12 file at
// every byte offset, cut and changed, and checks that no error shows the
// private key's bytes (the scalar, the DER) or the pass phrase.
func TestNoSecretInKeyFileErrors(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "leak"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(certDER)
	require.NoError(t, err)
	pkcs8DER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	sec1DER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	scalar, err := key.Bytes()
	require.NoError(t, err)
	const pass = "Zq81x-Kw7Pn3-Vb2"
	secrets := [][]byte{scalar, pkcs8DER, sec1DER, []byte(pass)}
	check := func(what string, i int, err error) {
		if err == nil {
			return
		}
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			for _, s := range secrets {
				if where := secretLeak(text, s); where != "" {
					t.Fatalf("%s damaged at %d: %s in %q", what, i, where, text)
				}
			}
		}
	}
	damage := func(b []byte, f func(i int, d []byte)) {
		for i := 0; i < len(b); i++ {
			f(i, b[:i])
			for _, x := range []byte{0xff, 0x01, 0x80} {
				d := bytes.Clone(b)
				d[i] ^= x
				f(i, d)
			}
		}
	}
	passPtr := func() *string { p := pass; return &p }
	for _, k := range []struct {
		typ string
		der []byte
	}{{"PRIVATE KEY", pkcs8DER}, {"EC PRIVATE KEY", sec1DER}} {
		// Damage to the DER inside an intact PEM, and to the PEM text.
		damage(k.der, func(i int, d []byte) {
			_, err := parseKeyPEM(pem.EncodeToMemory(&pem.Block{Type: k.typ, Bytes: d}), passPtr())
			check(k.typ+" DER", i, err)
		})
		damage(pem.EncodeToMemory(&pem.Block{Type: k.typ, Bytes: k.der}), func(i int, d []byte) {
			_, err := parseKeyPEM(d, nil)
			check(k.typ+" PEM", i, err)
		})
	}

	p12, err := pkcs12.LegacyRC2.Encode(key, cert, nil, pass)
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, "id.p12")
	step := 1
	if testing.Short() {
		step = 7
	}
	for i := 0; i < len(p12); i += step {
		for _, d := range [][]byte{p12[:i], func() []byte { d := bytes.Clone(p12); d[i] ^= 0xff; return d }()} {
			require.NoError(t, os.WriteFile(path, d, 0o600))
			_, err := loadPKCS12(&idSpec{certFile: path, raw: "PKCS12:" + path}, passPtr())
			check("PKCS#12", i, err)
		}
	}
}
