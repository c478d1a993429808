package main

import (
	"strings"
	"testing"

	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKinitChangesExpiredPassword: with an expired password kinit asks for
// a new one and changes it, printing what MIT's kinit prints.
func TestKinitChangesExpiredPassword(t *testing.T) {
	realm := krbtest.NewRealm(t)
	_, err := realm.StartKpasswd()
	require.NoError(t, err)
	for _, user := range []string{"ours", "mits"} {
		require.NoError(t, realm.AddPrincipal(user, "old-pw", krbtest.RequiresPreauth(), krbtest.Flags("+needchange")))
	}
	bin := kinitBinary(t)
	env := append(realm.Env(), "KRB5CCNAME=FILE:"+t.TempDir()+"/cc")
	input := "old-pw\nnew-pw\nnew-pw\n"

	ours := runKinit(t, bin, env, input, "ours")
	require.Equal(t, 0, ours.code, ours.stderr)
	mit := realm.Command("kinit", "mits")
	mit.Env = env
	mit.Stdin = strings.NewReader(input)
	out, err := mit.Output()
	require.NoError(t, err)
	assert.Equal(t, strings.ReplaceAll(string(out), "mits@", "ours@"), ours.stdout)

	again := runKinit(t, bin, env, "new-pw\n", "ours")
	assert.Equal(t, 0, again.code, again.stderr)
}
