package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxyRealm starts a realm behind Debian's kdcproxy.
func proxyRealm(t *testing.T) (*krbtest.Realm, *krbtest.KDCProxy) {
	t.Helper()
	if ok, reason := krbtest.KDCProxyAvailable(); !ok {
		krbtest.SkipOrFail(t, reason)
	}
	realm := krbtest.NewRealm(t)
	require.NoError(t, realm.AddPrincipal("bob", "bob-pw", krbtest.RequiresPreauth()))
	proxy, err := realm.StartKDCProxy()
	require.NoError(t, err)
	return realm, proxy
}

// TestKinitThroughKDCProxy: our kinit and MIT's (with krb5-k5tls) log in
// with the same krb5.conf naming only the proxy, and say the same.
func TestKinitThroughKDCProxy(t *testing.T) {
	realm, proxy := proxyRealm(t)
	conf, err := proxy.WriteClientConfig(realm, "", "")
	require.NoError(t, err)
	bin := kinitBinary(t)
	for _, prog := range []string{bin, "MIT"} {
		cc := filepath.Join(t.TempDir(), "cc")
		trace := filepath.Join(t.TempDir(), "trace")
		env := append(realm.Env(), "KRB5_CONFIG="+conf, "KRB5CCNAME=FILE:"+cc, "KRB5_TRACE="+trace)
		var r kinitRun
		if prog == "MIT" {
			cmd := realm.Command("kinit", "bob")
			r = runCmd(t, cmd, env, "bob-pw\n")
		} else {
			r = runKinit(t, bin, env, "bob-pw\n", "bob")
		}
		require.Equal(t, 0, r.code, "%s: %s", prog, r.stderr)
		assert.Equal(t, "Password for "+realm.Principal("bob")+": \n", r.stdout, prog)
		tr, err := os.ReadFile(trace)
		require.NoError(t, err)
		assert.Contains(t, string(tr), "Sending HTTPS request to https "+proxy.Addr, prog)
		klist := exec.Command("klist", "-c", cc)
		klist.Env = env
		out, err := klist.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "krbtgt/"+realm.Name+"@"+realm.Name)
	}
}

func runCmd(t *testing.T, cmd *exec.Cmd, env []string, stdin string) kinitRun {
	t.Helper()
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return kinitRun{code, out.String(), errb.String()}
}

// contacts lists, in order, the addresses a KRB5_TRACE shows contacted:
// "dgram A", "stream A", "https A".
var contactLine = regexp.MustCompile(`(?m)(?:Sending initial UDP request to|Initiating TCP connection to|Sending HTTPS request to) ((?:dgram|stream|https) \S+)$`)

func contacts(trace string) []string {
	var out []string
	for _, m := range contactLine.FindAllStringSubmatch(trace, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestKinitURIDiscoveryAsMIT: with no kdc line for the realm, both kinits
// find the KDCs in DNS URI records served by a real DNS server (dnsmasq),
// and contact the same addresses over the same transports in the same
// order; with dns_uri_lookup = false both use the SRV records. Both run
// with /etc/resolv.conf naming that server, in a private mount namespace.
func TestKinitURIDiscoveryAsMIT(t *testing.T) {
	realm, proxy := proxyRealm(t)
	if ok, reason := krbtest.DNSAvailable(); !ok {
		krbtest.SkipOrFail(t, reason)
	}
	_, kdcPort, _ := net.SplitHostPort(realm.KDCAddr)
	dead := deadUDP(t)
	dns := krbtest.StartDNSPort53(t, []string{"test"},
		// Priority order: a dead UDP KDC, the proxy, a TCP record (deferred
		// by both: the request is small), a record with an unknown
		// transport (skipped by both).
		krbtest.URIRecord("_kerberos."+realm.Name, 30, 1, "krb5srv::tcp:kdc.kinit.test:"+kdcPort),
		krbtest.URIRecord("_kerberos."+realm.Name, 10, 1, "krb5srv::udp:dead.kinit.test:"+dead),
		krbtest.URIRecord("_kerberos."+realm.Name, 5, 1, "krb5srv::sctp:kdc.kinit.test:"+kdcPort),
		krbtest.URIRecord("_kerberos."+realm.Name, 20, 1, "krb5srv:m:kkdcp:"+proxy.URL),
		krbtest.SRVRecord("_kerberos._udp."+realm.Name, "dead.kinit.test", mustPort(t, dead), 0, 0),
		krbtest.SRVRecord("_kerberos._tcp."+realm.Name, "kdc.kinit.test", mustPort(t, kdcPort), 0, 0),
		krbtest.ARecord("kdc.kinit.test", "127.0.0.1"),
		krbtest.ARecord("dead.kinit.test", "127.0.0.1"),
	)
	bin := kinitBinary(t)
	for _, uri := range []string{"true", "false"} {
		conf := filepath.Join(t.TempDir(), "krb5.conf")
		require.NoError(t, os.WriteFile(conf, []byte("[libdefaults]\n default_realm = "+realm.Name+
			"\n dns_lookup_kdc = true\n dns_uri_lookup = "+uri+"\n dns_canonicalize_hostname = false\n rdns = false\n"+
			"[realms]\n "+realm.Name+" = {\n  http_anchors = FILE:"+proxy.CAPath+"\n }\n"), 0o600))
		var got [2][]string
		for i, prog := range []string{bin, "MIT"} {
			trace := filepath.Join(t.TempDir(), "trace")
			env := append(realm.Env(), "KRB5_CONFIG="+conf, "KRB5CCNAME=FILE:"+filepath.Join(t.TempDir(), "cc"), "KRB5_TRACE="+trace)
			cmd := exec.Command(bin, "bob")
			if prog == "MIT" {
				cmd = realm.Command("kinit", "bob")
			}
			cmd, err := dns.ResolvConfCommand(cmd)
			require.NoError(t, err)
			r := runCmd(t, cmd, env, "bob-pw\n")
			tr, _ := os.ReadFile(trace)
			require.Equal(t, 0, r.code, "%s (dns_uri_lookup = %s): %s\n%s", prog, uri, r.stderr, tr)
			got[i] = contacts(string(tr))
			t.Logf("%s, dns_uri_lookup = %s: %v", prog, uri, got[i])
			if uri == "true" {
				assert.Contains(t, string(tr), "URI answer: 20 1 \"krb5srv:m:kkdcp:"+proxy.URL+"\"", prog)
			}
		}
		assert.Equal(t, got[1], got[0], "dns_uri_lookup = %s: the same KDCs in the same order as MIT's kinit", uri)
		assert.NotEmpty(t, got[0])
	}
}

// deadUDP returns a free UDP port on 127.0.0.1 where nothing listens.
func deadUDP(t *testing.T) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	_, p, _ := net.SplitHostPort(c.LocalAddr().String())
	c.Close()
	return p
}

func mustPort(t *testing.T, p string) uint16 {
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return uint16(n)
}
