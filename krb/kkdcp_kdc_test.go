package krb_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/krb/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxyFixture is a PKINIT realm with kadmind, behind Debian's kdcproxy,
// shared by the MS-KKDCP tests of this package.
type proxyFixture struct {
	realm *krbtest.Realm
	pki   *krbtest.PKI
	proxy *krbtest.KDCProxy
	cfg   *krb.Config // the proxy is the only KDC and kpasswd server
	path  string
}

var (
	proxyOnce   sync.Once
	proxyFix    *proxyFixture
	proxyErr    error
	proxyPKIDir string // removed by TestMain
)

func removeProxyPKI() {
	if proxyPKIDir != "" {
		os.RemoveAll(proxyPKIDir)
	}
}

// kdcProxy starts the fixture on first use. Its realm lives until the test
// binary ends (realms of NewPKINITRealm would stop with the first test).
func kdcProxy(t testing.TB) *proxyFixture {
	t.Helper()
	if ok, reason := krbtest.KDCProxyAvailable(); !ok {
		krbtest.SkipOrFail(t, reason)
	}
	if ok, reason := krbtest.PKINITAvailable(); !ok {
		krbtest.SkipOrFail(t, reason)
	}
	proxyOnce.Do(func() {
		f := &proxyFixture{}
		dir, err := os.MkdirTemp("", "krbtest-kkdcp-pki-")
		if err != nil {
			proxyErr = err
			return
		}
		proxyPKIDir = dir
		f.pki, err = krbtest.NewPKI(dir, krbtest.DefaultRealmName)
		if err != nil {
			proxyErr = err
			return
		}
		f.realm = krbtest.Shared(t, "kkdcp", func(r *krbtest.Realm) error {
			for _, err := range []error{
				r.AddPKINITPrincipal("WELLKNOWN/ANONYMOUS"),
				r.AddPKINITPrincipal("carol"),
				r.AddPrincipal("alice", alicePW, krbtest.RequiresPreauth()),
				r.AddRandomKeyPrincipal("host/svc.krbtest"),
			} {
				if err != nil {
					return err
				}
			}
			if _, err := r.StartKpasswd(); err != nil {
				return err
			}
			f.proxy, err = r.StartKDCProxy()
			return err
		}, f.pki.Option())
		f.path, proxyErr = f.proxy.WriteClientConfig(f.realm, "", "")
		if proxyErr == nil {
			f.cfg, proxyErr = krb.LoadConfig(f.path)
		}
		proxyFix = f
	})
	require.NoError(t, proxyErr)
	return proxyFix
}

var sentSize = regexp.MustCompile(`Sending request \((\d+) bytes\)`)

// requestSizes returns the sizes of the requests a trace shows.
func requestSizes(trace string) []int {
	var out []int
	for _, m := range sentSize.FindAllStringSubmatch(trace, -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, n)
	}
	return out
}

func TestKKDCPPassword(t *testing.T) {
	f := kdcProxy(t)
	var trace strings.Builder
	creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(f.cfg), krb.WithPassword(alicePW), traceTo(&trace))
	require.NoError(t, err, trace.String())
	assert.Equal(t, f.realm.Principal("alice"), creds.Client.String())
	assert.Contains(t, trace.String(), "Sending HTTPS request to https "+f.proxy.Addr)
	assert.Contains(t, trace.String(), "from https "+f.proxy.Addr)
	assert.NotContains(t, trace.String(), "UDP", "nothing but the proxy is contacted")

	// The reference: MIT's kinit (with krb5-k5tls) through the same proxy
	// and krb5.conf.
	cc := filepath.Join(t.TempDir(), "cc")
	kinit := f.realm.Command("kinit", "alice")
	kinit.Env = append(kinit.Env, "KRB5_CONFIG="+f.path, "KRB5CCNAME=FILE:"+cc, "KRB5_TRACE=/dev/stderr")
	kinit.Stdin = strings.NewReader(alicePW + "\n")
	out, err := kinit.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "Sending HTTPS request to https "+f.proxy.Addr)
}

func TestKKDCPFAST(t *testing.T) {
	f := kdcProxy(t)
	kt, err := f.realm.Keytab("host/svc.krbtest")
	require.NoError(t, err)
	keytab, err := krb.LoadKeytab(kt)
	require.NoError(t, err)
	host, err := krb.GetInitialCreds(ctx(t), "host/svc.krbtest", krb.WithConfig(f.cfg), krb.WithKeytab(keytab))
	require.NoError(t, err)

	path, err := f.proxy.WriteClientConfig(f.realm, "", "disable_encrypted_timestamp = true")
	require.NoError(t, err)
	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	var trace strings.Builder
	l, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithArmor(krb.ArmorFromCredentials(host)), traceTo(&trace))
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	require.NoError(t, err, trace.String())
	assert.Equal(t, f.realm.Principal("alice"), creds.Client.String())
	assert.Contains(t, trace.String(), "encrypted_challenge (138) produced [138]")
	assert.Contains(t, trace.String(), "Sending HTTPS request to https "+f.proxy.Addr)
}

func TestKKDCPPKINITLargeRequest(t *testing.T) {
	f := kdcProxy(t)
	// A 4096-bit RSA client key, the 4096-bit DH group (RFC 3526 group
	// 16) and a long name (in the request and the certificate) make a
	// request above 4 KiB.
	name := "carol-" + strings.Repeat("x", 200)
	require.NoError(t, f.realm.AddPKINITPrincipal(name))
	id, err := f.pki.Client(name, func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 4096) })
	require.NoError(t, err)
	path, err := f.proxy.WriteClientConfig(f.realm, "pkinit_dh_min_bits = 4096", "")
	require.NoError(t, err)
	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	var trace strings.Builder
	creds, err := krb.GetInitialCreds(ctx(t), name, krb.WithConfig(cfg),
		krb.WithPreauthOption("X509_user_identity", id.FILE()), traceTo(&trace))
	require.NoError(t, err, trace.String())
	assert.Equal(t, f.realm.Principal(name), creds.Client.String())
	assert.Contains(t, trace.String(), "pkinit (16) produced [16]")
	sizes := requestSizes(trace.String())
	t.Logf("request sizes: %v", sizes)
	require.NotEmpty(t, sizes)
	assert.Greater(t, slicesMax(sizes), 4096, "the PKINIT request is above 4 KiB")
	assert.Contains(t, trace.String(), "Sending HTTPS request to https "+f.proxy.Addr)

	// MIT's kinit does the same through the proxy.
	cc := filepath.Join(t.TempDir(), "cc")
	kinit := f.realm.Command("kinit", "-X", "X509_user_identity="+id.FILE(), name)
	kinit.Env = append(kinit.Env, "KRB5_CONFIG="+path, "KRB5CCNAME=FILE:"+cc, "KRB5_TRACE=/dev/stderr")
	out, err := kinit.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "Sending HTTPS request to https "+f.proxy.Addr)
}

func slicesMax(s []int) int {
	m := s[0]
	for _, v := range s {
		m = max(m, v)
	}
	return m
}

func TestKKDCPExpiredPasswordChange(t *testing.T) {
	f := kdcProxy(t)
	require.NoError(t, f.realm.AddPrincipal("erin", "old-pw", krbtest.RequiresPreauth(), krbtest.Flags("+needchange")))
	p := &scriptedPrompter{answers: []string{"old-pw", "new-pw", "new-pw"}}
	var trace strings.Builder
	creds, err := krb.GetInitialCreds(ctx(t), "erin", krb.WithConfig(f.cfg), krb.WithPrompter(p), traceTo(&trace))
	require.NoError(t, err, trace.String())
	assert.Equal(t, f.realm.Principal("erin"), creds.Client.String())
	assert.Equal(t, []string{"", "Password expired.  You must change it now."}, p.banners)
	assert.NotContains(t, trace.String(), "UDP", "kpasswd went through the proxy too")
	assert.NotContains(t, trace.String(), "new-pw")

	_, err = krb.GetInitialCreds(ctx(t), "erin", krb.WithConfig(f.cfg), krb.WithPassword("new-pw"))
	require.NoError(t, err)

	// MIT's kinit changes an expired password through the same proxy.
	require.NoError(t, f.realm.AddPrincipal("fred", "old-pw", krbtest.RequiresPreauth(), krbtest.Flags("+needchange")))
	kinit := f.realm.Command("kinit", "fred")
	kinit.Env = append(kinit.Env, "KRB5_CONFIG="+f.path, "KRB5CCNAME=FILE:"+filepath.Join(t.TempDir(), "cc"), "KRB5_TRACE=/dev/stderr")
	kinit.Stdin = strings.NewReader("old-pw\nmit-new-pw\nmit-new-pw\n")
	out, err := kinit.CombinedOutput()
	require.NoError(t, err, "%s", out)
	_, err = krb.GetInitialCreds(ctx(t), "fred", krb.WithConfig(f.cfg), krb.WithPassword("mit-new-pw"))
	require.NoError(t, err)
}

// A proxy whose certificate does not chain to http_anchors, or does not
// name the host of the URL, is refused: the login fails closed, as MIT's
// kinit does with the same krb5.conf.
func TestKKDCPCertificateRefused(t *testing.T) {
	f := kdcProxy(t)
	_, port, _ := net.SplitHostPort(f.proxy.Addr)
	cases := []struct {
		name, realmLines string
		check            func(t *testing.T, err error)
	}{
		{"untrusted", "http_anchors = FILE:" + f.proxy.OtherCAPath, func(t *testing.T, err error) {
			var ua x509.UnknownAuthorityError
			assert.ErrorAs(t, err, &ua)
		}},
		{"wrong host", "kdc = https://localhost:" + port + "/KdcProxy", func(t *testing.T, err error) {
			var he x509.HostnameError
			assert.ErrorAs(t, err, &he)
			assert.Contains(t, err.Error(), "wanted to match localhost")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			extra := tc.realmLines
			kdcs := ""
			if strings.HasPrefix(extra, "kdc = ") {
				// Replace the proxy's 127.0.0.1 URL by the localhost one.
				kdcs, extra = strings.TrimPrefix(extra, "kdc = "), ""
			}
			path, err := f.proxy.WriteClientConfig(f.realm, "", extra)
			require.NoError(t, err)
			if kdcs != "" {
				data, err := os.ReadFile(path)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(data), f.proxy.URL, kdcs, 1)), 0o600))
			}
			cfg, err := krb.LoadConfig(path)
			require.NoError(t, err)
			var trace strings.Builder
			_, err = krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), traceTo(&trace))
			require.ErrorIs(t, err, krb.ErrKDCUnreachable, trace.String())
			var cv *tls.CertificateVerificationError
			require.ErrorAs(t, err, &cv)
			tc.check(t, err)
			assert.NotContains(t, trace.String(), "Sending HTTPS request", "nothing is sent to a proxy that failed verification")
			assert.NotContains(t, err.Error(), alicePW)

			kinit := f.realm.Command("kinit", "alice")
			kinit.Env = append(kinit.Env, "KRB5_CONFIG="+path, "KRB5CCNAME=FILE:"+filepath.Join(t.TempDir(), "cc"), "KRB5_TRACE=/dev/stderr")
			kinit.Stdin = strings.NewReader(alicePW + "\n")
			out, err := kinit.CombinedOutput()
			require.Error(t, err, "MIT's kinit refuses too:\n%s", out)
			assert.Contains(t, string(out), "Cannot contact any KDC")
		})
	}
}

// BenchmarkLoginKKDCP is a password login (two round trips) through
// Debian's kdcproxy under gunicorn (HTTPS, a new TLS connection per
// request: gunicorn's sync workers close it), beside
// BenchmarkLoginKKDCPDirect, the same login to the same KDC over UDP.
func BenchmarkLoginKKDCP(b *testing.B) {
	f := kdcProxy(b)
	benchLogin(b, "alice", krb.WithConfig(f.cfg), krb.WithPassword(alicePW))
}

func BenchmarkLoginKKDCPDirect(b *testing.B) {
	f := kdcProxy(b)
	cfg, err := krb.LoadConfig(f.realm.ConfigPath)
	require.NoError(b, err)
	benchLogin(b, "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW))
}

// BenchmarkLoginKKDCPMITKinit runs MIT's kinit (a process per login, so
// its start-up is included) through the same proxy, for reference.
func BenchmarkLoginKKDCPMITKinit(b *testing.B) {
	f := kdcProxy(b)
	cc := "FILE:" + filepath.Join(b.TempDir(), "cc")
	for b.Loop() {
		kinit := f.realm.Command("kinit", "alice")
		kinit.Env = append(kinit.Env, "KRB5_CONFIG="+f.path, "KRB5CCNAME="+cc)
		kinit.Stdin = strings.NewReader(alicePW + "\n")
		out, err := kinit.CombinedOutput()
		require.NoError(b, err, "%s", out)
	}
}

// TestKKDCPFoundThroughURIRecords: with no kdc line, the login finds the
// proxy in a kkdcp URI record served by a real DNS server (dnsmasq), the
// transport's resolver pointed at it, and logs in through it.
func TestKKDCPFoundThroughURIRecords(t *testing.T) {
	f := kdcProxy(t)
	if ok, reason := krbtest.DNSAvailable(); !ok {
		krbtest.SkipOrFail(t, reason)
	}
	dns := krbtest.StartDNS(t, []string{"test"},
		krbtest.URIRecord("_kerberos."+f.realm.Name, 1, 1, "krb5srv:m:kkdcp:"+f.proxy.URL))
	path := filepath.Join(t.TempDir(), "krb5.conf")
	require.NoError(t, os.WriteFile(path, []byte("[libdefaults]\n default_realm = "+f.realm.Name+
		"\n[realms]\n "+f.realm.Name+" = {\n  http_anchors = FILE:"+f.proxy.CAPath+"\n }\n"), 0o600))
	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	var trace strings.Builder
	tr := transport.New(cfg.Config)
	tr.Profile = cfg
	tr.Resolver = transport.NewDNSResolver(dns.Addr)
	var mu sync.Mutex // Trace may be called from several goroutines
	tr.Trace = func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&trace, format+"\n", args...)
	}
	creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithTransport(tr))
	mu.Lock()
	defer mu.Unlock()
	require.NoError(t, err, trace.String())
	assert.Equal(t, f.realm.Principal("alice"), creds.Client.String())
	assert.Contains(t, trace.String(), "URI answer: 1 1 \"krb5srv:m:kkdcp:"+f.proxy.URL+"\"")
	assert.Contains(t, trace.String(), "Sending HTTPS request to https "+f.proxy.Addr)
}
