package krbtest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// needTools skips (or, with KRBTEST_REQUIRE=1, fails) when one of MIT's
// client programs the test runs is missing.
func needTools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := findTool(n); err != nil {
			if required() {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
}

// ccache returns a fresh credential cache name in the realm's directory.
func ccache(t *testing.T, r *Realm) string {
	return "FILE:" + filepath.Join(r.Dir, "cc-"+strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
}

// run runs one of MIT's programs against the realm with the given ccache
// and extra environment, feeding stdin.
func run(t *testing.T, r *Realm, cc, stdin string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := r.Command(name, args...)
	cmd.Env = append(cmd.Env, "KRB5CCNAME="+cc)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// kinit logs in with MIT's kinit, the password on its standard input, and
// returns kinit's KRB5_TRACE output.
func kinit(t *testing.T, r *Realm, cc, principal, password string, env ...string) (string, error) {
	t.Helper()
	env = append(env, "KRB5_TRACE=/dev/stderr")
	return run(t, r, cc, password+"\n", env, "kinit", principal)
}

var traceSalt = regexp.MustCompile(`Getting AS key, salt "([^"]*)"`)

func TestKinitKlistKvno(t *testing.T) {
	needTools(t, "kinit", "klist", "kvno")
	r := NewRealm(t)
	require.NoError(t, r.AddPrincipal("alice", "alice-pw"))

	cc := ccache(t, r)
	_, err := kinit(t, r, cc, "alice", "alice-pw")
	require.NoError(t, err)

	out, err := run(t, r, cc, "", nil, "klist")
	require.NoError(t, err)
	assert.Contains(t, out, "Default principal: alice@"+r.Name)
	assert.Contains(t, out, "krbtgt/"+r.Name+"@"+r.Name)

	out, err = run(t, r, cc, "", nil, "kvno", "krbtgt/"+r.Name)
	require.NoError(t, err)
	assert.Contains(t, out, "krbtgt/"+r.Name+"@"+r.Name+": kvno = 1")

	// A service ticket really comes from the KDC (TGS exchange).
	require.NoError(t, r.AddRandomKeyPrincipal("host/svc.krbtest.test"))
	out, err = run(t, r, cc, "", nil, "kvno", "host/svc.krbtest.test")
	require.NoError(t, err)
	assert.Contains(t, out, "kvno = 1")
	assert.Contains(t, r.Logs(), "TGS_REQ")

	_, err = kinit(t, r, ccache(t, r)+"-bad", "alice", "wrong-pw")
	assert.Error(t, err, "kinit with a wrong password")
}

func TestSHA2OnlyPrincipal(t *testing.T) {
	needTools(t, "kinit", "klist")
	r := NewRealm(t)
	require.NoError(t, r.AddPrincipal("sha2", "sha2-pw", Enctypes("aes256-cts-hmac-sha384-192:normal")))

	info, err := r.GetPrincipal("sha2")
	require.NoError(t, err)
	assert.Equal(t, "sha2@"+r.Name, info.Name)
	assert.Equal(t, []KeyInfo{{KVNO: 1, Enctype: "aes256-cts-hmac-sha384-192", Salt: "normal"}}, info.Keys)

	cc := ccache(t, r)
	trace, err := kinit(t, r, cc, "sha2", "sha2-pw")
	require.NoError(t, err)
	assert.Contains(t, trace, `salt "`+r.Name+`sha2"`)
	// The AS reply was encrypted in the client's only key.
	assert.Regexp(t, `rep=aes256-cts-hmac-sha384-192\(20\).*sha2@`+regexp.QuoteMeta(r.Name), r.Logs())
	out, err := run(t, r, cc, "", nil, "klist", "-e")
	require.NoError(t, err)
	assert.Contains(t, out, "krbtgt/"+r.Name)
}

func TestSalts(t *testing.T) {
	needTools(t, "kinit")
	r := NewRealm(t)
	tests := []struct {
		principal string
		opt       PrincipalOption
		salt      string // getprinc's salt type
		want      string // the salt kinit uses; "" for "not REALM+name"
	}{
		{"default", nil, SaltNormal, r.Name + "default"},
		{"nr", Salt(SaltNoRealm), SaltNoRealm, "nr"},
		{"HTTP/web.krbtest.test", Salt(SaltNoRealm), SaltNoRealm, "HTTPweb.krbtest.test"},
		{"nr2", Enctypes("aes256-cts-hmac-sha1-96:norealm"), SaltNoRealm, "nr2"},
		{"or", Salt(SaltOnlyRealm), SaltOnlyRealm, r.Name},
		{"sp", Salt(SaltSpecial), SaltSpecial, ""},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.principal, "/", "_"), func(t *testing.T) {
			t.Parallel()
			var opts []PrincipalOption
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			require.NoError(t, r.AddPrincipal(tc.principal, "salt-pw", opts...))
			info, err := r.GetPrincipal(tc.principal)
			require.NoError(t, err)
			require.NotEmpty(t, info.Keys)
			for _, k := range info.Keys {
				assert.Equal(t, tc.salt, k.Salt, "key %v", k)
			}

			trace, err := kinit(t, r, ccache(t, r), tc.principal, "salt-pw")
			require.NoError(t, err)
			m := traceSalt.FindStringSubmatch(trace)
			require.NotNil(t, m, trace)
			if tc.want != "" {
				assert.Equal(t, tc.want, m[1])
			} else {
				assert.NotEqual(t, r.Name+tc.principal, m[1])
				assert.NotEmpty(t, m[1])
			}
		})
	}
}

func TestRejectedKeysaltsAreReported(t *testing.T) {
	r := NewRealm(t)
	for _, opt := range []PrincipalOption{
		Salt("afs3"), // DES-only salt types are dropped by MIT 1.20
		Salt("v4"),
		Enctypes("aes256-cts-hmac-sha1-96:bogus"),
		Enctypes("no-such-enctype"),
	} {
		err := r.AddPrincipal("rejected", "pw", opt)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "silently ignores")
		_, err = r.GetPrincipal("rejected")
		assert.Error(t, err, "the principal was deleted again")
	}
	// Aliases and duplicates are fine.
	require.NoError(t, r.AddPrincipal("aliases", "pw", Enctypes("aes256-cts", "aes256-cts-hmac-sha1-96:normal", "aes128-sha2")))
	require.NoError(t, r.AddRandomKeyPrincipal("svc/rand", Enctypes("aes256-sha2"), Salt(SaltSpecial)))
}

func TestKeytab(t *testing.T) {
	needTools(t, "kinit", "klist", "kvno")
	r := NewRealm(t)
	const svc = "host/svc.krbtest.test"
	require.NoError(t, r.AddRandomKeyPrincipal(svc))
	require.NoError(t, r.AddPrincipal("ktuser", "kt-pw"))

	kt, err := r.Keytab(svc, "ktuser")
	require.NoError(t, err)
	assert.Equal(t, r.Dir, filepath.Dir(kt))
	out, err := run(t, r, ccache(t, r), "", nil, "klist", "-k", "-t", "-e", kt)
	require.NoError(t, err)
	assert.Contains(t, out, r.Principal(svc))
	assert.Contains(t, out, r.Principal("ktuser"))
	assert.Contains(t, out, "aes256-cts-hmac-sha384-192")

	cc := ccache(t, r)
	_, err = run(t, r, cc, "", nil, "kinit", "-k", "-t", kt, svc)
	require.NoError(t, err)
	out, err = run(t, r, cc, "", nil, "klist")
	require.NoError(t, err)
	assert.Contains(t, out, "Default principal: "+r.Principal(svc))

	// -norandkey: the keys did not change, so the password still works and
	// the kvno is still 1.
	_, err = kinit(t, r, cc, "ktuser", "kt-pw")
	require.NoError(t, err)
	out, err = run(t, r, cc, "", nil, "kvno", svc)
	require.NoError(t, err)
	assert.Contains(t, out, "kvno = 1")

	_, err = r.Keytab("nobody")
	assert.ErrorContains(t, err, "nobody")
	_, err = r.Keytab()
	assert.Error(t, err)
}

func TestPrincipalOptions(t *testing.T) {
	needTools(t, "kinit")
	r := NewRealm(t)

	require.NoError(t, r.AddPrincipal("pre", "pre-pw", RequiresPreauth()))
	info, err := r.GetPrincipal("pre")
	require.NoError(t, err)
	assert.Contains(t, info.Attributes, "REQUIRES_PRE_AUTH")
	_, err = kinit(t, r, ccache(t, r), "pre", "pre-pw")
	require.NoError(t, err)
	assert.Contains(t, r.Logs(), "NEEDED_PREAUTH: pre@"+r.Name)

	require.NoError(t, r.AddPrincipal("notix", "pw", Flags("-allow_tix", "+requires_preauth")))
	info, err = r.GetPrincipal("notix")
	require.NoError(t, err)
	assert.Contains(t, info.Attributes, "DISALLOW_ALL_TIX")
	assert.Contains(t, info.Attributes, "REQUIRES_PRE_AUTH")
	_, err = kinit(t, r, ccache(t, r), "notix", "pw")
	assert.Error(t, err)

	require.NoError(t, r.AddPrincipal("short", "pw", Args("-maxlife", "1h")))
	info, err = r.GetPrincipal("short")
	require.NoError(t, err)
	assert.Contains(t, info.Raw, "Maximum ticket life: 0 days 01:00:00")

	require.NoError(t, r.AddRandomKeyPrincipal("nokey", NoKey()))
	info, err = r.GetPrincipal("nokey")
	require.NoError(t, err)
	assert.Empty(t, info.Keys)
	require.NoError(t, r.AddPrincipal("nokey2", "", NoKey()))

	assert.Error(t, r.AddPrincipal("x", "pw", NoKey()))
	assert.Error(t, r.AddPrincipal("x", ""))
	assert.Error(t, r.AddPrincipal("x", "pw", Flags("requires_preauth")))
	assert.Error(t, r.AddPrincipal("-x", "pw"))

	// A failing addprinc names the command but never the password.
	require.NoError(t, r.AddPrincipal("dup", "Sup3r-Secret"))
	err = r.AddPrincipal("dup", "Sup3r-Secret")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kadmin.local -r "+r.Name+" addprinc -pw <password> dup")
	assert.Contains(t, err.Error(), "already exists")
	assert.NotContains(t, err.Error(), "Sup3r-Secret")
}

func TestKadminArgvWords(t *testing.T) {
	r := NewRealm(t)
	require.NoError(t, r.AddPrincipal("alice", "pw"))
	const js = `[{"type": "x y", "username": "a b"}]`
	_, err := r.Kadmin("setstr", "alice", "otp", js)
	require.NoError(t, err)
	out, err := r.Kadmin("getstrs", "alice")
	require.NoError(t, err)
	assert.Contains(t, out, "otp: "+js)

	_, err = r.Kadmin("getprinc", "nobody")
	assert.ErrorContains(t, err, "Principal does not exist")
	_, err = r.Kadmin("no-such-command")
	assert.Error(t, err)
}

func TestClientConfigWithDeadKDCFirst(t *testing.T) {
	needTools(t, "kinit")
	r := NewRealm(t)
	require.NoError(t, r.AddPrincipal("alice", "pw"))

	// A port with nothing on it: the client gets "connection refused".
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	l.Close()

	for _, extra := range []string{"", "udp_preference_limit = 1"} {
		path, err := r.WriteClientConfigWithKDCs([]string{dead}, extra, "")
		require.NoError(t, err)
		conf, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Less(t, strings.Index(string(conf), dead), strings.Index(string(conf), r.KDCAddr))

		trace, err := kinit(t, r, ccache(t, r), "alice", "pw", "KRB5_CONFIG="+path)
		require.NoError(t, err)
		assert.Contains(t, trace, dead)
		if extra != "" {
			assert.Contains(t, trace, "Sending TCP request to stream "+r.KDCAddr)
		}
	}

	path, err := r.WriteClientConfig("ticket_lifetime = 1h", "")
	require.NoError(t, err)
	cc := ccache(t, r)
	_, err = kinit(t, r, cc, "alice", "pw", "KRB5_CONFIG="+path)
	require.NoError(t, err)
}

func TestConfigRendering(t *testing.T) {
	r := &Realm{Name: "EX.TEST", Dir: "/tmp/x", KDCAddr: "127.0.0.1:1", cfg: defaultConfig()}
	conf := r.krb5Conf("rdns = true\nforwardable = true", []string{"127.0.0.1:2", r.KDCAddr}, "admin_server = 127.0.0.1:3")
	assert.Contains(t, conf, " rdns = true\n")
	assert.NotContains(t, conf, "rdns = false")
	assert.Contains(t, conf, " default_realm = EX.TEST\n")
	assert.Contains(t, conf, "  kdc = 127.0.0.1:2\n  kdc = 127.0.0.1:1\n  admin_server = 127.0.0.1:3\n")

	r.cfg.kdcRealm = "max_life = 1h"
	r.cfg.kdcSections = []confSection{{"otp", "DEFAULT = {\n strip_realm = false\n}"}}
	kdc := r.kdcConf()
	assert.Contains(t, kdc, "kdc_listen = 127.0.0.1:1\n")
	assert.Contains(t, kdc, "max_life = 1h\n")
	assert.NotContains(t, kdc, "max_life = 24h")
	assert.Contains(t, kdc, "[otp]\n DEFAULT = {\n strip_realm = false\n }\n")

	assert.Equal(t, "b = 2\na = 3", overrideLines("a = 1\nb = 2", "a = 3"))
	assert.Equal(t, []string{"addprinc", "-pw", "<password>", `"a b"`, "x"}, redact([]string{"addprinc", "-pw", "secret", "a b", "x"}))
}

func TestCloseStopsKDC(t *testing.T) {
	if ok, reason := Available(); !ok {
		t.Skip(reason)
	}
	r, err := Start(WithName("CLOSE.TEST"))
	require.NoError(t, err)
	c, err := net.Dial("tcp", r.KDCAddr)
	require.NoError(t, err)
	c.Close()

	require.NoError(t, r.Close())
	_, err = net.DialTimeout("tcp", r.KDCAddr, time.Second)
	assert.Error(t, err, "KDC still answers after Close")
	assert.True(t, r.proc.cmd.ProcessState.Exited(), "exited on SIGTERM, not killed")
	_, err = os.Stat(r.Dir)
	assert.True(t, os.IsNotExist(err), "Start's directory is removed")
	assert.NoError(t, r.Close(), "second Close")
	_, err = r.Kadmin("listprincs")
	assert.ErrorIs(t, err, errClosed)
}

func TestCloseReportsDeadKDC(t *testing.T) {
	if ok, reason := Available(); !ok {
		t.Skip(reason)
	}
	r, err := Start()
	require.NoError(t, err)
	require.NoError(t, r.proc.cmd.Process.Kill())
	<-r.proc.done
	assert.ErrorContains(t, r.Close(), "exited before Close")
	_, err = os.Stat(r.Dir)
	assert.True(t, os.IsNotExist(err), "directory removed all the same")
}

// TestStartWithoutTB starts and stops realms outside of NewRealm, several
// at once, and reports how long it takes.
func TestStartWithoutTB(t *testing.T) {
	if ok, reason := Available(); !ok {
		t.Skip(reason)
	}
	begin := time.Now()
	r, err := Start()
	require.NoError(t, err)
	started := time.Since(begin)
	require.NoError(t, r.Close())
	t.Logf("Start took %v, Start+Close %v", started, time.Since(begin))

	const n = 4
	realms := make([]*Realm, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { realms[i], errs[i] = Start(WithName(fmt.Sprintf("PAR%d.TEST", i))) })
	}
	wg.Wait()
	ports := map[string]bool{}
	for i, r := range realms {
		require.NoError(t, errs[i])
		defer r.Close()
		assert.False(t, ports[r.KDCAddr], "port %s used twice", r.KDCAddr)
		ports[r.KDCAddr] = true
		require.NoError(t, r.AddPrincipal("u", "pw"))
	}
	if _, err := findTool("kinit"); err == nil {
		for _, r := range realms {
			cc := "FILE:" + filepath.Join(r.Dir, "cc")
			_, err := kinit(t, r, cc, "u", "pw")
			require.NoError(t, err)
			assert.Contains(t, r.Logs(), "u@"+r.Name+" for krbtgt/")
		}
	}
}

func TestParallelUse(t *testing.T) {
	needTools(t, "kinit")
	r := NewRealm(t)
	for i := range 6 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			name := fmt.Sprintf("user%d", i)
			require.NoError(t, r.AddPrincipal(name, name+"-pw"))
			_, err := kinit(t, r, ccache(t, r), name, name+"-pw")
			require.NoError(t, err)
		})
	}
}

func TestRealmOptions(t *testing.T) {
	needTools(t, "kinit", "klist")
	r := NewRealm(t,
		WithName("OPTS.TEST"),
		WithKDCConf("", "max_life = 2h 0m 0s"),
		WithSupportedEnctypes("aes256-cts-hmac-sha384-192:normal", "aes128-cts-hmac-sha256-128:normal"),
		WithKrb5Conf("permitted_enctypes = aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128"),
		WithClientLibdefaults("ticket_lifetime = 1h"),
		WithKDCConfSection("otp", "DEFAULT = {\n strip_realm = false\n}"),
	)
	assert.Equal(t, "OPTS.TEST", r.Name)
	assert.Equal(t, "alice@OPTS.TEST", r.Principal("alice"))
	assert.Equal(t, "alice@OTHER", r.Principal("alice@OTHER"))
	require.NoError(t, r.AddPrincipal("alice", "pw"))
	info, err := r.GetPrincipal("alice")
	require.NoError(t, err)
	assert.Contains(t, info.Raw, "Maximum ticket life: 0 days 02:00:00")
	assert.Equal(t, "aes256-cts-hmac-sha384-192:normal,aes128-cts-hmac-sha256-128:normal", keyList(info.Keys))

	cc := ccache(t, r)
	_, err = kinit(t, r, cc, "alice", "pw")
	require.NoError(t, err)
	out, err := run(t, r, cc, "", nil, "klist", "-e")
	require.NoError(t, err)
	assert.Contains(t, out, "aes256-cts-hmac-sha384-192")
	assert.NotContains(t, out, "aes256-cts-hmac-sha1-96")
}

// fakeTB records Skip and Fatal instead of stopping the test.
type fakeTB struct {
	testing.TB
	skipped, fatal string
}

func (f *fakeTB) Helper()             {}
func (f *fakeTB) Skip(args ...any)    { f.skipped = fmt.Sprint(args...) }
func (f *fakeTB) Fatal(args ...any)   { f.fatal = fmt.Sprint(args...) }
func (f *fakeTB) Cleanup(func())      { panic("unexpected Cleanup") }
func (f *fakeTB) TempDir() string     { panic("unexpected TempDir") }
func (f *fakeTB) Logf(string, ...any) {}

func TestMissingBinaries(t *testing.T) {
	saved := toolDirs
	toolDirs = nil
	t.Cleanup(func() { toolDirs = saved })
	t.Setenv("PATH", t.TempDir())

	ok, reason := Available()
	assert.False(t, ok)
	const want = "krbtest: MIT krb5kdc not found; apt-get install krb5-kdc krb5-admin-server krb5-user"
	assert.Equal(t, want, reason)

	t.Setenv("KRBTEST_REQUIRE", "")
	tb := &fakeTB{TB: t}
	assert.Nil(t, NewRealm(tb))
	assert.Equal(t, want, tb.skipped)
	assert.Empty(t, tb.fatal)

	t.Setenv("KRBTEST_REQUIRE", "1")
	tb = &fakeTB{TB: t}
	assert.Nil(t, NewRealm(tb))
	assert.Contains(t, tb.fatal, want)
	assert.Empty(t, tb.skipped)

	_, err := Start()
	assert.EqualError(t, err, want)
}

func TestLogsAndEnv(t *testing.T) {
	r := NewRealm(t)
	logs := r.Logs()
	assert.Contains(t, logs, "==> kdc.log <==")
	assert.Contains(t, logs, "commencing operation")

	env := map[string]string{}
	for _, e := range r.Env() {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	assert.Equal(t, r.ConfigPath, env["KRB5_CONFIG"])
	assert.Equal(t, r.KDCProfilePath, env["KRB5_KDC_PROFILE"])
	assert.Equal(t, r.CCache, env["KRB5CCNAME"])
	assert.True(t, strings.HasPrefix(env["KRB5_KTNAME"], "FILE:"+r.Dir))
}

func BenchmarkStartClose(b *testing.B) {
	if ok, reason := Available(); !ok {
		b.Skip(reason)
	}
	for b.Loop() {
		r, err := Start()
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestArmorCache(t *testing.T) {
	realm := NewRealm(t)
	path, err := realm.ArmorCache()
	if err != nil {
		t.Fatal(err)
	}
	out, err := realm.Command("klist", "-C", "-c", "FILE:"+path).CombinedOutput()
	if err != nil {
		t.Fatalf("klist: %v: %s", err, out)
	}
	for _, want := range []string{"host/armor.krbtest@" + realm.Name, "krbtgt/" + realm.Name, "fast_avail"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("armor cache listing lacks %q:\n%s", want, out)
		}
	}
	if _, err := realm.ArmorCache(); err != nil {
		t.Fatalf("second armor cache: %v", err)
	}
}

func TestShared(t *testing.T) {
	setups := 0
	setup := func(r *Realm) error {
		setups++
		return r.AddPrincipal("shared-user", "pw")
	}
	a := Shared(t, "test-shared", setup)
	b := Shared(t, "test-shared", setup)
	if a != b || setups != 1 {
		t.Fatalf("Shared started %d setups and returned different realms: %p %p", setups, a, b)
	}
	if _, err := a.GetPrincipal("shared-user"); err != nil {
		t.Fatal(err)
	}
	if err := CloseShared(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a.Dir); !os.IsNotExist(err) {
		t.Fatalf("CloseShared left %s behind (%v)", a.Dir, err)
	}
}
