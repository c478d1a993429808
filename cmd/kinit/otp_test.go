package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKinitOTP logs in with a one-time password that FreeRADIUS checks for
// MIT's KDC: the code is read from standard input after MIT's prompt, and
// FAST armor comes from -T, as with MIT's kinit.
func TestKinitOTP(t *testing.T) {
	rad := krbtest.StartRADIUS(t, map[string]string{"alice": "123456", "bob": "4321654321"})
	realm := krbtest.NewRealm(t, rad.KDCOption())
	for _, user := range []string{"alice", "bob"} {
		require.NoError(t, realm.AddRandomKeyPrincipal(user, krbtest.NoKey(), krbtest.RequiresPreauth()))
		require.NoError(t, realm.SetOTP(user, rad.OTPConfig(user)))
	}
	armor, err := realm.ArmorCache()
	require.NoError(t, err)
	bin := kinitBinary(t)
	cc := filepath.Join(t.TempDir(), "cc")
	env := append(realm.Env(), "KRB5CCNAME=FILE:"+cc)

	t.Run("code on stdin", func(t *testing.T) {
		r := runKinit(t, bin, env, "123456\n", "-T", armor, "alice")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "Enter OTP Token Value: \n", r.stdout)
		cache, err := ccache.ReadFile(cc)
		require.NoError(t, err)
		assert.Equal(t, realm.Principal("alice"), cache.DefaultPrincipal.String())

		klist := exec.Command("klist")
		klist.Env = env
		out, err := klist.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "Default principal: "+realm.Principal("alice"))
	})

	t.Run("same prompt as MIT's kinit", func(t *testing.T) {
		mit := realm.Command("kinit", "-T", armor, "-c", "FILE:"+filepath.Join(t.TempDir(), "mit"), "alice")
		mit.Stdin = strings.NewReader("123456\n")
		out, err := mit.Output()
		require.NoError(t, err)
		ours := runKinit(t, bin, env, "123456\n", "-T", armor, "alice")
		require.Equal(t, 0, ours.code, ours.stderr)
		assert.Equal(t, string(out), ours.stdout, "byte for byte, with the newline MIT prints after a hidden reply")
	})

	t.Run("wrong code leaves the cache alone", func(t *testing.T) {
		before, err := os.ReadFile(cc)
		require.NoError(t, err)
		trace := filepath.Join(t.TempDir(), "trace")
		r := runKinit(t, bin, append(env, "KRB5_TRACE="+trace), "000000\n", "-T", armor, "alice")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "kinit: Preauthentication failed while getting initial credentials\n", r.stderr)
		after, err := os.ReadFile(cc)
		require.NoError(t, err)
		assert.Equal(t, before, after)
		b, err := os.ReadFile(trace)
		require.NoError(t, err)
		assert.Contains(t, string(b), "otp (141) produced [142]")
		assert.NotContains(t, string(b), "000000", "the code is never traced")
	})

	t.Run("PIN and code typed together", func(t *testing.T) {
		r := runKinit(t, bin, env, "4321654321\n", "-T", armor, "-c", filepath.Join(t.TempDir(), "bob"), "bob")
		require.Equal(t, 0, r.code, r.stderr)
	})

	t.Run("without armor", func(t *testing.T) {
		r := runKinit(t, bin, env, "123456\n", "-c", filepath.Join(t.TempDir(), "none"), "alice")
		assert.Equal(t, 1, r.code)
		assert.Empty(t, r.stdout, "nothing is asked that could not be sent")
		assert.Contains(t, r.stderr, "while getting initial credentials")
	})
}
