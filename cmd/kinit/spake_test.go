package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKinitSPAKE logs in from the shell through SPAKE (RFC 9588), the
// password on standard input, against an MIT KDC that offers SPAKE in
// edwards25519 and P-256, with encrypted timestamp disabled on the client
// so that nothing else can succeed.
func TestKinitSPAKE(t *testing.T) {
	realm := krbtest.NewRealm(t, krbtest.WithKrb5Conf("spake_preauth_groups = edwards25519 P-256"))
	require.NoError(t, realm.AddPrincipal("carol", "carol-pw", krbtest.RequiresPreauth()))
	bin := kinitBinary(t)
	env := func(t *testing.T, groups string) (env []string, cc, trace string) {
		lines := "disable_encrypted_timestamp = true"
		if groups != "" {
			lines += "\nspake_preauth_groups = " + groups
		}
		conf, err := realm.WriteClientConfig(lines, "")
		require.NoError(t, err)
		dir := t.TempDir()
		cc, trace = filepath.Join(dir, "cc"), filepath.Join(dir, "trace")
		// Later entries win in exec.
		return append(realm.Env(), "KRB5_CONFIG="+conf, "KRB5CCNAME=FILE:"+cc, "KRB5_TRACE="+trace), cc, trace
	}

	for _, groups := range []string{"P-256", ""} {
		name := "spake_preauth_groups = " + groups
		if groups == "" {
			name = "default groups (edwards25519)"
		}
		t.Run(name, func(t *testing.T) {
			env, cc, trace := env(t, groups)
			r := runKinit(t, bin, env, "carol-pw\n", "carol")
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, "Password for "+realm.Principal("carol")+": \n", r.stdout)

			cache, err := ccache.ReadFile(cc)
			require.NoError(t, err)
			assert.Equal(t, realm.Principal("carol"), cache.DefaultPrincipal.String())
			klist := exec.Command("klist")
			klist.Env = env
			out, err := klist.CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "krbtgt/"+realm.Name+"@"+realm.Name)

			b, err := os.ReadFile(trace)
			require.NoError(t, err)
			assert.Contains(t, string(b), "Preauth mechanism spake (151) produced [151]")
			assert.Contains(t, string(b), "Received error from KDC: 91/", "support, then the KDC's challenge")
			assert.NotContains(t, string(b), "carol-pw")
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		env, cc, _ := env(t, "P-256")
		r := runKinit(t, bin, env, "wrong-pw\n", "carol")
		assert.Equal(t, 1, r.code)
		// As MIT's kinit: SPAKE's reply key comes from the password.
		assert.Equal(t, "kinit: Password incorrect while getting initial credentials\n", r.stderr)
		assert.NotContains(t, r.stderr, "wrong-pw")
		_, err := os.Stat(cc)
		assert.True(t, os.IsNotExist(err), "no cache is written")
	})

	t.Run("inside FAST with -T", func(t *testing.T) {
		armor, err := realm.ArmorCache()
		require.NoError(t, err)
		env, cc, trace := env(t, "edwards25519")
		r := runKinit(t, bin, env, "carol-pw\n", "-T", armor, "carol")
		require.Equal(t, 0, r.code, r.stderr)
		_, err = ccache.ReadFile(cc)
		require.NoError(t, err)
		b, err := os.ReadFile(trace)
		require.NoError(t, err)
		assert.Contains(t, string(b), "Using FAST armor")
		assert.Contains(t, string(b), "Preauth mechanism spake (151) produced [151]")
	})
}
