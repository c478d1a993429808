package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mitAccepts checks that MIT's klist reads the cache and kvno gets a
// service ticket with its TGT.
func mitAccepts(t *testing.T, env []string, cc, realm string) {
	t.Helper()
	for _, args := range [][]string{{"klist", "-c", "FILE:" + cc}, {"kvno", "-c", "FILE:" + cc, "krbtgt/" + realm + "@" + realm}} {
		bin, err := exec.LookPath(args[0])
		require.NoError(t, err)
		cmd := exec.Command(bin, args[1:]...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "MIT %s: %s", args[0], out)
	}
}

// sameAsMIT runs MIT's kinit on the same input and compares exit status and
// standard error.
func sameAsMIT(t *testing.T, env []string, got kinitRun, stdin string, args ...string) {
	t.Helper()
	mit, err := exec.LookPath("kinit")
	require.NoError(t, err)
	want := runKinit(t, mit, env, stdin, args...)
	assert.Equal(t, want.code, got.code, "exit status; MIT said %q", want.stderr)
	assert.Equal(t, want.stderr, got.stderr)
}

// kinitHeimdal: issue 13's Heimdal cases from the shell: FAST armored
// by our own keytab login (Heimdal's encrypted challenge form), PKINIT
// with a FILE certificate and anonymous PKINIT (Heimdal's CMS form).
func kinitHeimdal(t *testing.T, bin string) {
	h := krbtest.NewHeimdalRealm(t)
	pw := "Krbtest-Pass-1"
	_, err := h.Kadmin("add --password="+pw+" --use-defaults bob", "modify --attributes=requires-pre-auth bob",
		"add --random-key --use-defaults host/armor", "add --random-key --use-defaults carol")
	require.NoError(t, err)
	kt, err := h.Keytab("host/armor")
	require.NoError(t, err)
	id, err := h.PKI.Client("carol", nil)
	require.NoError(t, err)
	dir := t.TempDir()
	env := h.Env()

	armor := filepath.Join(dir, "armor")
	r := runKinit(t, bin, env, "", "-k", "-t", kt, "-c", "FILE:"+armor, "host/armor")
	require.Zero(t, r.code, r.stderr)
	for name, tc := range map[string]struct {
		stdin string
		args  []string
	}{
		"FAST armored by our keytab login": {pw + "\n", []string{"-T", "FILE:" + armor, "bob"}},
		"PKINIT with a FILE certificate":   {"", []string{"-X", "X509_user_identity=" + id.FILE(), "carol"}},
		"anonymous PKINIT":                 {"", []string{"-n", "@" + h.Name}},
	} {
		t.Run(name, func(t *testing.T) {
			cc := filepath.Join(t.TempDir(), "cc")
			r := runKinit(t, bin, env, tc.stdin, append([]string{"-c", "FILE:" + cc}, tc.args...)...)
			require.Zero(t, r.code, r.stderr)
			mitAccepts(t, env, cc, h.Name)
		})
	}
}

// kinitSamba: issue 13's Samba AD cases from the shell: the password
// change on expiry (the change form, not the set form), an enterprise name
// armored with -T, and a keytab without the principal refused locally with
// MIT's message.
func kinitSamba(t *testing.T, bin string) {
	s := krbtest.NewSambaRealm(t)
	env := s.Env()

	t.Run("password change on expiry", func(t *testing.T) {
		cc := filepath.Join(t.TempDir(), "cc")
		newPW := "Krbtest-New-2"
		r := runKinit(t, bin, env, krbtest.SambaPassword+"\n"+newPW+"\n"+newPW+"\n", "-c", "FILE:"+cc, krbtest.SambaMustChange)
		require.Zero(t, r.code, r.stderr)
		assert.Contains(t, r.stdout, "Password expired.  You must change it now.")
		mitAccepts(t, env, cc, s.Name)
	})
	t.Run("enterprise name armored by a keytab login", func(t *testing.T) {
		armor := filepath.Join(t.TempDir(), "armor")
		r := runKinit(t, bin, env, "", "-k", "-t", s.Keytab(krbtest.SambaOtherUser), "-c", "FILE:"+armor, krbtest.SambaOtherUser)
		require.Zero(t, r.code, r.stderr)
		cc := filepath.Join(t.TempDir(), "cc")
		r = runKinit(t, bin, env, krbtest.SambaPassword+"\n", "-c", "FILE:"+cc, "-T", "FILE:"+armor, "-E",
			krbtest.SambaUser+"@"+krbtest.SambaDNSDomain)
		require.Zero(t, r.code, r.stderr)
		mitAccepts(t, env, cc, s.Name)
	})
	t.Run("keytab without the principal", func(t *testing.T) {
		args := []string{"-c", "FILE:" + filepath.Join(t.TempDir(), "cc"), "-k", "-t", s.Keytab(krbtest.SambaOtherUser), krbtest.SambaUser}
		r := runKinit(t, bin, env, "", args...)
		assert.Equal(t, "kinit: Keytab contains no suitable keys for "+s.Principal(krbtest.SambaUser)+" while getting initial credentials\n", r.stderr)
		sameAsMIT(t, env, r, "", args...)
		assert.False(t, strings.Contains(r.stdout, "Password"), "nothing asked")
	})
}

// TestKinitInteropKDCs runs issue 13's five cases through this command
// against Heimdal's and Samba AD's KDCs (one build of the binary).
func TestKinitInteropKDCs(t *testing.T) {
	heimdal, _ := krbtest.HeimdalAvailable()
	samba, _ := krbtest.SambaAvailable()
	var bin string
	if heimdal || samba {
		bin = kinitBinary(t)
	}
	t.Run("Heimdal", func(t *testing.T) { kinitHeimdal(t, bin) })
	t.Run("Samba", func(t *testing.T) { kinitSamba(t, bin) })
}
