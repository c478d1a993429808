package main

import (
	"crypto/elliptic"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/preauth/pkinit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKinitPKINIT runs kinit -X X509_user_identity=... and kinit -n
// against MIT's KDC with PKINIT, and MIT's klist on the caches.
func TestKinitPKINIT(t *testing.T) {
	realm, pki := krbtest.NewPKINITRealm(t)
	require.NoError(t, realm.AddPKINITPrincipal("carol"))
	id, err := pki.Client("carol", nil)
	require.NoError(t, err)
	bin := kinitBinary(t)
	cc := filepath.Join(t.TempDir(), "cc")
	env := append(realm.Env(), "KRB5CCNAME=FILE:"+cc)

	klist := func(t *testing.T) string {
		cmd := exec.Command("klist")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}

	t.Run("-X X509_user_identity", func(t *testing.T) {
		r := runKinit(t, bin, env, "", "-X", "X509_user_identity="+id.FILE(), "carol")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Empty(t, r.stdout, "no password prompt")
		cache, err := ccache.ReadFile(cc)
		require.NoError(t, err)
		assert.Equal(t, realm.Principal("carol"), cache.DefaultPrincipal.String())
		assert.Contains(t, klist(t), "Default principal: "+realm.Principal("carol"))
	})

	t.Run("encrypted key, pass phrase on stdin", func(t *testing.T) {
		ident, err := id.WriteEncryptedKey("pass phrase")
		require.NoError(t, err)
		keyFile := strings.SplitN(ident, ",", 2)[1]
		r := runKinit(t, bin, env, "pass phrase\n", "-X", "X509_user_identity="+ident, "carol")
		require.Equal(t, 0, r.code, r.stderr)
		// MIT's prompt text; whether a newline follows it is the terminal
		// prompter's business.
		assert.True(t, strings.HasPrefix(r.stdout, "Pass phrase for "+keyFile+": "), r.stdout)

		r = runKinit(t, bin, env, "wrong\n", "-X", "X509_user_identity="+ident, "carol")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "incorrect PIN or pass phrase")
		assert.NotContains(t, r.stderr, "wrong")
	})

	t.Run("PKCS11 token, PIN on stdin", func(t *testing.T) {
		if !pkinit.PKCS11Available() {
			t.Skip("built without cgo: no PKCS#11")
		}
		if ok, reason := krbtest.SoftHSMAvailable(); !ok {
			krbtest.SkipOrFail(t, reason)
		}
		tok, err := krbtest.NewSoftHSM(t.TempDir(), id, "carolcard", "1234")
		require.NoError(t, err)
		tenv := append(append([]string(nil), env...), "SOFTHSM2_CONF="+tok.Conf)
		r := runKinit(t, bin, tenv, "1234\n", "-X", "X509_user_identity="+tok.Identity(), "carol")
		require.Equal(t, 0, r.code, r.stderr)
		assert.True(t, strings.HasPrefix(r.stdout, "carolcard PIN: "), r.stdout)

		r = runKinit(t, bin, tenv, "0000\n", "-X", "X509_user_identity="+tok.Identity(), "carol")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "incorrect PIN or pass phrase")
		assert.NotContains(t, r.stderr, "0000")

		// After a wrong PIN the token says so, and the prompt warns as
		// MIT's does.
		r = runKinit(t, bin, tenv, "1234\n", "-X", "X509_user_identity="+tok.Identity(), "carol")
		require.Equal(t, 0, r.code, r.stderr)
		assert.True(t, strings.HasPrefix(r.stdout, "carolcard PIN (Warning: PIN count low): "), r.stdout)

		// MIT's kinit uses the same token. (It prints the label padded to
		// 32 characters, as the token stores it; we trim it.)
		mit := realm.Command("kinit", "-c", "FILE:"+filepath.Join(t.TempDir(), "mitcc"), "-X", "X509_user_identity="+tok.Identity(), "carol")
		mit.Env = append(mit.Env, "SOFTHSM2_CONF="+tok.Conf)
		mit.Stdin = strings.NewReader("1234\n")
		out, err := mit.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "carolcard ")
		assert.Contains(t, string(out), " PIN")
	})

	t.Run("PKCS11 token with an ECDSA key", func(t *testing.T) {
		if !pkinit.PKCS11Available() {
			t.Skip("built without cgo: no PKCS#11")
		}
		if ok, reason := krbtest.SoftHSMAvailable(); !ok {
			krbtest.SkipOrFail(t, reason)
		}
		ecID, err := pki.Client("carol", krbtest.ECDSAKey(elliptic.P256()))
		require.NoError(t, err)
		tok, err := krbtest.NewSoftHSM(t.TempDir(), ecID, "ectoken", "4321")
		require.NoError(t, err)
		tenv := append(append([]string(nil), env...), "SOFTHSM2_CONF="+tok.Conf)
		r := runKinit(t, bin, tenv, "4321\n", "-X", "X509_user_identity="+tok.Identity(), "carol")
		require.Equal(t, 0, r.code, r.stderr)
		assert.True(t, strings.HasPrefix(r.stdout, "ectoken PIN: "), r.stdout)
	})

	t.Run("-n anonymous", func(t *testing.T) {
		acc := filepath.Join(t.TempDir(), "anon")
		r := runKinit(t, bin, env, "", "-n", "-c", "FILE:"+acc)
		require.Equal(t, 0, r.code, r.stderr)
		cache, err := ccache.ReadFile(acc)
		require.NoError(t, err)
		assert.Equal(t, "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS", cache.DefaultPrincipal.String())
		cmd := exec.Command("klist", "-c", "FILE:"+acc)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "krbtgt/"+realm.Name+"@"+realm.Name)
	})

	t.Run("-n with a realm", func(t *testing.T) {
		acc := filepath.Join(t.TempDir(), "anon")
		r := runKinit(t, bin, env, "", "-n", "-c", "FILE:"+acc, "@"+realm.Name)
		require.Equal(t, 0, r.code, r.stderr)
	})

	t.Run("-n then -T: anonymous armor for a password login", func(t *testing.T) {
		require.NoError(t, realm.AddPrincipal("dave", "dave-pw", krbtest.RequiresPreauth()))
		conf, err := realm.WriteClientConfig("", "disable_encrypted_timestamp = true")
		require.NoError(t, err)
		fastEnv := append(env, "KRB5_CONFIG="+conf)
		acc := filepath.Join(t.TempDir(), "anon")
		r := runKinit(t, bin, fastEnv, "", "-n", "-c", "FILE:"+acc)
		require.Equal(t, 0, r.code, r.stderr)
		dcc := filepath.Join(t.TempDir(), "dave")
		r = runKinit(t, bin, fastEnv, "dave-pw\n", "-T", acc, "-c", "FILE:"+dcc, "dave")
		require.Equal(t, 0, r.code, r.stderr)
		cache, err := ccache.ReadFile(dcc)
		require.NoError(t, err)
		assert.Equal(t, realm.Principal("dave"), cache.DefaultPrincipal.String())
	})
}

// BenchmarkKinitPKINITVsMIT runs this kinit (static build) and MIT's
// kinit as processes, interleaved, for a certificate login (RSA-2048
// FILE identity) and an anonymous one against the same KDC, and reports
// the median wall time of each (ms).
//
//	go test ./cmd/kinit/ -run '^$' -bench KinitPKINITVsMIT -benchtime 30x
func BenchmarkKinitPKINITVsMIT(b *testing.B) {
	realm, pki := krbtest.NewPKINITRealm(b)
	require.NoError(b, realm.AddPKINITPrincipal("carol"))
	id, err := pki.Client("carol", nil)
	require.NoError(b, err)
	bin := filepath.Join(b.TempDir(), "kinit")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(b, err, "%s", out)
	mit, err := exec.LookPath("kinit")
	require.NoError(b, err)
	env := append(realm.Env(), "KRB5CCNAME=FILE:"+filepath.Join(b.TempDir(), "cc"))
	run := func(path string, args ...string) time.Duration {
		cmd := exec.Command(path, args...)
		cmd.Env = env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		require.NoError(b, err, "%s: %s", path, out)
		return d
	}
	cert := []string{"-X", "X509_user_identity=" + id.FILE(), "carol"}
	var ours, theirs, oursAnon, theirsAnon []time.Duration
	for b.Loop() {
		ours = append(ours, run(bin, cert...))
		theirs = append(theirs, run(mit, cert...))
		oursAnon = append(oursAnon, run(bin, "-n"))
		theirsAnon = append(theirsAnon, run(mit, "-n"))
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	b.ReportMetric(median(ours), "gokinit-cert-ms")
	b.ReportMetric(median(theirs), "mit-cert-ms")
	b.ReportMetric(median(oursAnon), "gokinit-anon-ms")
	b.ReportMetric(median(theirsAnon), "mit-anon-ms")
}
