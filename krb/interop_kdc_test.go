package krb_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// interopKDC is one real KDC of the matrix with the accounts each scenario
// needs; an empty account means the KDC does not support the scenario.
type interopKDC struct {
	name    string
	realm   string
	config  string // client krb5.conf
	env     []string
	dir     string
	user    string // password and keytab user
	pw      string
	keytab  string // holds user
	otherKT string // does not hold user
	// PKINIT (MIT, Heimdal): a client identity for pkinitUser, anonymous.
	pkinitUser, pkinitID string
	// password change on expiry: one account for MIT's kinit, one for ours
	mustChange [2]string
	wrongPW    string // an account to try wrong passwords on
	disabled   string
	expired    string
	locked     string
	// Samba: an enterprise name with another UPN suffix, an implicit UPN,
	// and a user whose PAC is too big for UDP.
	upn, implicitUPN, manyGroups string
}

// mitKinit runs MIT's kinit at the KDC with stdin and returns nil or the
// message after "kinit: " (MIT's error text).
func (k *interopKDC) mitKinit(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	kinit, err := exec.LookPath("kinit")
	require.NoError(t, err)
	cmd := exec.Command(kinit, args...)
	cmd.Env = k.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if i := strings.LastIndex(msg, "kinit: "); i >= 0 {
			msg = msg[i+len("kinit: "):]
		}
		return out.String(), errors.New(msg)
	}
	return out.String(), nil
}

// interopKDCs starts MIT's, Heimdal's and Samba's KDCs (each skips or, under
// KRBTEST_REQUIRE=1, fails on its own when absent) with the accounts.
func interopKDCs(parent *testing.T) []*interopKDC {
	t := parent
	var kdcs []*interopKDC
	t.Run("start/MIT", func(t *testing.T) {
		if ok, reason := krbtest.PKINITAvailable(); !ok {
			krbtest.SkipOrFail(t, reason)
		}
		// Shared realms live until TestMain's CloseShared, beyond this
		// subtest.
		pkiDir, err := os.MkdirTemp("", "interop-pki-")
		require.NoError(t, err)
		parent.Cleanup(func() { os.RemoveAll(pkiDir) })
		pki, err := krbtest.NewPKI(pkiDir, krbtest.DefaultRealmName)
		require.NoError(t, err)
		begin := time.Now()
		r := krbtest.Shared(t, "interop-mit", func(r *krbtest.Realm) error {
			_, err := r.StartKpasswd()
			if err != nil {
				return err
			}
			return r.AddRandomKeyPrincipal("WELLKNOWN/ANONYMOUS")
		}, pki.Option())
		t.Logf("MIT realm started in %v", time.Since(begin))
		_, err = r.Kadmin("addpol", "-maxfailure", "2", "lockout")
		require.NoError(t, err)
		for _, p := range []struct {
			name string
			opts []krbtest.PrincipalOption
		}{
			{"alice", nil}, {"ivan", nil}, {"eve", []krbtest.PrincipalOption{krbtest.Flags("+needchange")}},
			{"eve2", []krbtest.PrincipalOption{krbtest.Flags("+needchange")}},
			{"dave", []krbtest.PrincipalOption{krbtest.Flags("-allow_tix")}},
			{"frank", []krbtest.PrincipalOption{krbtest.Args("-expire", "2020-01-01")}},
			{"gina", []krbtest.PrincipalOption{krbtest.Args("-policy", "lockout")}},
			{"bob", nil},
		} {
			require.NoError(t, r.AddPrincipal(p.name, "Krbtest-Pass-1", append([]krbtest.PrincipalOption{krbtest.RequiresPreauth()}, p.opts...)...))
		}
		require.NoError(t, r.AddPKINITPrincipal("carol"))
		id, err := pki.Client("carol", nil)
		require.NoError(t, err)
		kt, err := r.Keytab("alice")
		require.NoError(t, err)
		other, err := r.Keytab("bob")
		require.NoError(t, err)
		dir := parent.TempDir()
		kdcs = append(kdcs, &interopKDC{name: "MIT", realm: r.Name, config: r.ConfigPath, dir: dir,
			env:  append(r.Env(), "KRB5CCNAME=FILE:"+filepath.Join(dir, "mitcc")),
			user: "alice", pw: "Krbtest-Pass-1", keytab: kt, otherKT: other, pkinitUser: "carol", pkinitID: id.FILE(),
			mustChange: [2]string{"eve", "eve2"}, wrongPW: "ivan", disabled: "dave", expired: "frank", locked: "gina"})
	})
	t.Run("start/Heimdal", func(t *testing.T) {
		h := krbtest.SharedHeimdal(t)
		t.Logf("Heimdal realm started in %v", h.StartTime)
		pw := "Krbtest-Pass-1"
		cmds := []string{}
		for _, u := range []string{"alice", "bob", "ivan", "eve", "eve2", "dave", "frank"} {
			cmds = append(cmds, "add --password="+pw+" --use-defaults "+u, "modify --attributes=requires-pre-auth "+u)
		}
		cmds = append(cmds, "add --random-key --use-defaults carol",
			"modify --pw-expiration-time=2020-01-01 eve", "modify --pw-expiration-time=2020-01-01 eve2",
			"modify --attributes=requires-pre-auth,disallow-all-tix dave",
			"modify --expiration-time=2020-01-01 frank")
		_, err := h.Kadmin(cmds...)
		require.NoError(t, err)
		id, err := h.PKI.Client("carol", nil)
		require.NoError(t, err)
		kt, err := h.Keytab("alice")
		require.NoError(t, err)
		other, err := h.Keytab("bob")
		require.NoError(t, err)
		dir := parent.TempDir()
		kdcs = append(kdcs, &interopKDC{name: "Heimdal", realm: h.Name, config: h.ConfigPath, dir: dir,
			env:  append(h.Env(), "KRB5CCNAME=FILE:"+filepath.Join(dir, "mitcc")),
			user: "alice", pw: pw, keytab: kt, otherKT: other, pkinitUser: "carol", pkinitID: id.FILE(),
			mustChange: [2]string{"eve", "eve2"}, wrongPW: "ivan", disabled: "dave", expired: "frank"})
		// Heimdal's own database has no lockout: no locked account.
	})
	t.Run("start/Samba", func(t *testing.T) {
		s := krbtest.SharedSamba(t)
		t.Logf("Samba realm started in %v", s.StartTime)
		dir := parent.TempDir()
		kdcs = append(kdcs, &interopKDC{name: "Samba", realm: s.Name, config: s.ConfigPath, dir: dir,
			env:  append(s.Env(), "KRB5CCNAME=FILE:"+filepath.Join(dir, "mitcc")),
			user: krbtest.SambaUser, pw: krbtest.SambaPassword, keytab: s.Keytab(krbtest.SambaUser), otherKT: s.Keytab(krbtest.SambaOtherUser),
			mustChange: [2]string{krbtest.SambaMustChange, "eve2"}, wrongPW: krbtest.SambaWrongPassword,
			disabled: krbtest.SambaDisabled, expired: krbtest.SambaExpired, locked: krbtest.SambaLockable,
			upn: krbtest.SambaUPNUser + "@" + krbtest.SambaUPNSuffix, implicitUPN: krbtest.SambaUser + "@" + krbtest.SambaDNSDomain,
			manyGroups: krbtest.SambaManyGroups})
	})
	return kdcs
}

// TestInteropMatrix runs the same logins against MIT's, Heimdal's and
// Samba's AD KDCs, each beside MIT's kinit on the same input: both succeed,
// or both fail with the same message (and ours with the typed error).
func TestInteropMatrix(t *testing.T) {
	for _, k := range interopKDCs(t) {
		t.Run(k.name, func(t *testing.T) { runInteropMatrix(t, k) })
	}
}

func runInteropMatrix(t *testing.T, k *interopKDC) {
	cfg, err := krb.LoadConfig(k.config)
	require.NoError(t, err)
	// Names in full: MIT's krbtest configuration has no default_realm.
	q := func(name string) string { return name + "@" + k.realm }
	// ours runs our login and checks the credentials with MIT's klist and
	// kvno.
	ours := func(t *testing.T, client string, opts ...krb.Option) (*krb.Credentials, string, error) {
		t.Helper()
		var trace strings.Builder
		creds, err := krb.GetInitialCreds(ctx(t), client, append([]krb.Option{krb.WithConfig(cfg), traceTo(&trace)}, opts...)...)
		if err == nil {
			cc := filepath.Join(t.TempDir(), "cc")
			require.NoError(t, creds.WriteCCache(cc))
			for _, tool := range [][]string{{"klist", "-c", "FILE:" + cc}, {"kvno", "-c", "FILE:" + cc, "krbtgt/" + k.realm + "@" + k.realm}} {
				bin, lerr := exec.LookPath(tool[0])
				require.NoError(t, lerr)
				cmd := exec.Command(bin, tool[1:]...)
				cmd.Env = k.env
				out, cerr := cmd.CombinedOutput()
				require.NoError(t, cerr, "MIT %s on our cache: %s", tool[0], out)
			}
		}
		return creds, trace.String(), err
	}
	// same compares our error with MIT's kinit's message.
	same := func(t *testing.T, mitErr, err error, trace string) {
		t.Helper()
		if mitErr == nil {
			require.NoError(t, err, trace)
			return
		}
		require.Error(t, err, "MIT's kinit failed with %q", mitErr)
		assert.Equal(t, mitErr.Error(), err.Error(), trace)
	}
	mitCC := func(name string) string { return filepath.Join(k.dir, name) }

	t.Run("password", func(t *testing.T) {
		_, mitErr := k.mitKinit(t, k.pw+"\n", q(k.user))
		_, trace, err := ours(t, q(k.user), krb.WithPassword(k.pw))
		same(t, mitErr, err, trace)
	})
	t.Run("keytab", func(t *testing.T) {
		_, mitErr := k.mitKinit(t, "", "-k", "-t", k.keytab, q(k.user))
		kt, err := krb.LoadKeytab("FILE:" + k.keytab)
		require.NoError(t, err)
		_, trace, err := ours(t, q(k.user), krb.WithKeytab(kt))
		same(t, mitErr, err, trace)
	})
	t.Run("keytab without the principal", func(t *testing.T) {
		_, mitErr := k.mitKinit(t, "", "-k", "-t", k.otherKT, q(k.user))
		require.Error(t, mitErr)
		kt, err := krb.LoadKeytab("FILE:" + k.otherKT)
		require.NoError(t, err)
		_, trace, err := ours(t, q(k.user), krb.WithKeytab(kt))
		same(t, mitErr, err, trace)
		require.ErrorIs(t, err, krb.ErrNoKey)
		assert.NotContains(t, trace, "Sending", "refused before sending anything")
	})
	armored := func(t *testing.T, armorCC string) {
		t.Helper()
		_, mitErr := k.mitKinit(t, k.pw+"\n", "-T", armorCC, q(k.user))
		cc, err := ccache.ReadFile(armorCC)
		require.NoError(t, err)
		armor, err := krb.ArmorFromCCache(cc, k.realm)
		require.NoError(t, err)
		_, trace, err := ours(t, q(k.user), krb.WithPassword(k.pw), krb.WithArmor(armor))
		same(t, mitErr, err, trace)
		assert.Contains(t, trace, "encrypted_challenge (138) produced [138]")
		assert.Contains(t, trace, "Verified the KDC's encrypted challenge")
		t.Log(traceLine(trace, "Verified the KDC's encrypted challenge"))
	}
	t.Run("FAST, armor from a keytab", func(t *testing.T) {
		cc := mitCC("armor-kt")
		_, err := k.mitKinit(t, "", "-k", "-t", k.keytab, "-c", "FILE:"+cc, q(k.user))
		require.NoError(t, err)
		armored(t, cc)
	})
	if k.pkinitID != "" {
		t.Run("FAST, armor from anonymous PKINIT", func(t *testing.T) {
			cc := mitCC("armor-anon")
			_, err := k.mitKinit(t, "", "-n", "-c", "FILE:"+cc, "@"+k.realm)
			require.NoError(t, err)
			armored(t, cc)
		})
		t.Run("PKINIT with a certificate", func(t *testing.T) {
			_, mitErr := k.mitKinit(t, "", "-X", "X509_user_identity="+k.pkinitID, q(k.pkinitUser))
			creds, trace, err := ours(t, q(k.pkinitUser), krb.WithPreauthOption("X509_user_identity", k.pkinitID))
			same(t, mitErr, err, trace)
			assert.Equal(t, q(k.pkinitUser), creds.Client.String())
		})
		t.Run("anonymous PKINIT", func(t *testing.T) {
			_, mitErr := k.mitKinit(t, "", "-n", "@"+k.realm)
			_, trace, err := ours(t, "@"+k.realm, krb.WithAnonymous())
			same(t, mitErr, err, trace)
		})
	}
	t.Run("password change on expiry", func(t *testing.T) {
		newPW := "Krbtest-New-2"
		out, mitErr := k.mitKinit(t, k.pw+"\n"+newPW+"\n"+newPW+"\n", q(k.mustChange[0]))
		require.NoError(t, mitErr, "MIT's kinit: %s", out)
		p := &scriptedPrompter{answers: []string{k.pw, newPW, newPW}}
		_, trace, err := ours(t, q(k.mustChange[1]), krb.WithPrompter(p))
		same(t, mitErr, err, trace)
		assert.Contains(t, p.banners, "Password expired.  You must change it now.")
		_, _, err = ours(t, q(k.mustChange[1]), krb.WithPassword(newPW))
		require.NoError(t, err, "the new password works")
	})
	failing := []struct {
		name, account, pw string
		want              []error
	}{
		{"wrong password", k.wrongPW, "not-the-password", []error{krb.ErrPreauthFailed}},
		{"disabled account", k.disabled, k.pw, []error{krb.ErrClientRevoked, krb.ErrPolicy}},
		{"expired account", k.expired, k.pw, []error{krb.ErrClientRevoked, krb.ErrPolicy, errNameExpired}},
		{"locked-out account", k.locked, k.pw, []error{krb.ErrClientRevoked}},
	}
	for _, f := range failing {
		if f.account == "" {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			if f.name == "locked-out account" {
				for range 6 { // past every KDC's threshold
					k.mitKinit(t, "wrong-password\n", q(f.account))
				}
			}
			_, mitErr := k.mitKinit(t, f.pw+"\n", q(f.account))
			require.Error(t, mitErr)
			_, trace, err := ours(t, q(f.account), krb.WithPassword(f.pw))
			same(t, mitErr, err, trace)
			ok := false
			for _, w := range f.want {
				ok = ok || isKDCError(err, w)
			}
			assert.True(t, ok, "%v is none of %v", err, f.want)
		})
	}
	if k.upn != "" {
		for _, name := range []string{k.upn, k.implicitUPN} {
			t.Run("enterprise name "+name, func(t *testing.T) {
				_, mitErr := k.mitKinit(t, k.pw+"\n", "-E", "-C", name)
				creds, trace, err := ours(t, name, krb.WithPassword(k.pw), krb.WithEnterprise(true), krb.WithCanonicalize(true))
				same(t, mitErr, err, trace)
				assert.Equal(t, k.realm, creds.Client.Realm)
			})
		}
	}
	if k.manyGroups != "" {
		t.Run("PAC too big for UDP", func(t *testing.T) {
			_, mitErr := k.mitKinit(t, k.pw+"\n", q(k.manyGroups))
			_, trace, err := ours(t, q(k.manyGroups), krb.WithPassword(k.pw))
			same(t, mitErr, err, trace)
			assert.Contains(t, trace, "retrying over TCP")
		})
	}
}

// errNameExpired stands for KDC_ERR_NAME_EXP (the client's entry has
// expired), which has no typed error of its own: matched by code.
var errNameExpired = errors.New("KDC_ERR_NAME_EXP")

func isKDCError(err, want error) bool {
	var kerr *krb.KDCError
	if want == errNameExpired {
		return errors.As(err, &kerr) && kerr.Code == krb.ErrCodeNameExpired
	}
	return errors.Is(err, want)
}

func traceLine(trace, prefix string) string {
	for _, l := range strings.Split(trace, "\n") {
		if strings.Contains(l, prefix) {
			return l
		}
	}
	return ""
}
