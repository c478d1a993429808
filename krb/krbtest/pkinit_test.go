package krbtest_test

import (
	"crypto/elliptic"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPKINITRealmWithMITKinit checks the PKI that krbtest builds with MIT's
// own client: a certificate login (RSA and ECDSA keys, plain and encrypted
// PEM, PKCS#12) and an anonymous one.
func TestPKINITRealmWithMITKinit(t *testing.T) {
	realm, pki := krbtest.NewPKINITRealm(t)
	require.NoError(t, realm.AddPKINITPrincipal("carol"))
	info, err := realm.GetPrincipal("carol")
	require.NoError(t, err)
	assert.Empty(t, info.Keys, "a PKINIT-only principal has no keys")

	kinit := func(t *testing.T, stdin string, args ...string) string {
		t.Helper()
		cc := filepath.Join(t.TempDir(), "cc")
		cmd := realm.Command("kinit", append([]string{"-c", "FILE:" + cc}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s\n%s", out, realm.Logs())
		klist := realm.Command("klist", "-c", "FILE:"+cc)
		kout, err := klist.CombinedOutput()
		require.NoError(t, err, "%s", kout)
		return string(out) + string(kout)
	}

	rsaID, err := pki.Client("carol", krbtest.RSAKey())
	require.NoError(t, err)
	ecID, err := pki.Client("carol", krbtest.ECDSAKey(elliptic.P256()))
	require.NoError(t, err)
	t.Run("RSA", func(t *testing.T) {
		out := kinit(t, "", "-X", "X509_user_identity="+rsaID.FILE(), "carol")
		assert.Contains(t, out, "Default principal: "+realm.Principal("carol"))
	})
	t.Run("ECDSA", func(t *testing.T) {
		out := kinit(t, "", "-X", "X509_user_identity="+ecID.FILE(), "carol")
		assert.Contains(t, out, "Default principal: "+realm.Principal("carol"))
	})
	t.Run("encrypted key", func(t *testing.T) {
		ident, err := rsaID.WriteEncryptedKey("pass phrase")
		require.NoError(t, err)
		out := kinit(t, "pass phrase\n", "-X", "X509_user_identity="+ident, "carol")
		assert.Contains(t, out, "Pass phrase for ")
	})
	t.Run("PKCS12", func(t *testing.T) {
		p12, err := rsaID.WritePKCS12("p12 pw")
		require.NoError(t, err)
		out := kinit(t, "p12 pw\n", "-X", "X509_user_identity=PKCS12:"+p12, "carol")
		assert.Contains(t, out, "Default principal: "+realm.Principal("carol"))
	})
	t.Run("anonymous", func(t *testing.T) {
		out := kinit(t, "", "-n")
		assert.Contains(t, out, "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS")
	})
}
