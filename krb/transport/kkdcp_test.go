package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mapProfile is a Profile from a map of "a/b/c" paths.
type mapProfile map[string][]string

func (p mapProfile) Values(path ...string) []string { return p[strings.Join(path, "/")] }

// fakeProxy is an MS-KKDCP proxy in Go, for what kdcproxy will not do:
// HTTP/2, error statuses, garbage, silence. It answers "reply from proxy".
type fakeProxy struct {
	srv    *httptest.Server
	ca     string // PEM file of the server's certificate (self-signed)
	mode   string // "ok", "503", "garbage", "badprefix", "silent", "redirect"
	hits   atomic.Int32
	protos atomic.Value // last r.Proto
	domain atomic.Value // last target-domain
	ctype  atomic.Value // last Content-Type
}

func startProxy(t testing.TB, mode string, h2 bool) *fakeProxy {
	t.Helper()
	p := &fakeProxy{mode: mode}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.EnableHTTP2 = h2
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	p.ca = filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(p.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw}), 0o600))
	return p
}

func (p *fakeProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.hits.Add(1)
	p.protos.Store(r.Proto)
	p.ctype.Store(r.Header.Get("Content-Type"))
	body, _ := io.ReadAll(r.Body)
	m, err := unmarshalProxyMessage(body)
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	p.domain.Store(m.TargetDomain)
	var reply []byte
	switch p.mode {
	case "503":
		http.Error(w, "Remote unavailable", http.StatusServiceUnavailable)
		return
	case "garbage":
		w.Write([]byte("<html>not kerberos</html>"))
		return
	case "badprefix":
		reply, _ = marshalProxyMessage([]byte("reply from proxy"), "", nil)
		reply[len(reply)-len("reply from proxy")-1]++ // corrupt the length prefix
	case "silent":
		<-r.Context().Done()
		return
	case "redirect":
		http.Redirect(w, r, "http://127.0.0.1:1/", http.StatusFound)
		return
	default:
		if !strings.Contains(string(m.KerbMessage), "fake AS-REQ") || binary.BigEndian.Uint32(m.KerbMessage) != uint32(len(m.KerbMessage)-4) {
			http.Error(w, "bad kerb-message", http.StatusBadRequest)
			return
		}
		reply, _ = marshalProxyMessage([]byte("reply from proxy"), "", nil)
	}
	w.Header().Set("Content-Type", "application/kerberos")
	w.Write(reply)
}

// url returns the proxy's URL with host in place of its address.
func (p *fakeProxy) url(host string) string {
	_, port, _ := net.SplitHostPort(p.srv.Listener.Addr().String())
	return "https://" + net.JoinHostPort(host, port) + "/KdcProxy"
}

// proxyClient returns a client for EXAMPLE.COM with the given kdc lines and
// http_anchors, names resolved by a fake resolver ("proxy.test" is
// 127.0.0.1), and short waits.
func proxyClient(t *testing.T, kdcs []string, anchors ...string) (*Client, *traceLog) {
	c, tl := newTestClient(t, kdcs)
	c.Profile = mapProfile{
		"realms/EXAMPLE.COM/kdc":          kdcs,
		"realms/EXAMPLE.COM/http_anchors": anchors,
	}
	c.Resolver = &fakeResolver{hosts: map[string][]netip.Addr{"proxy.test": {netip.MustParseAddr("127.0.0.1")}}}
	c.PerKDCWait = 200 * time.Millisecond
	return c, tl
}

func TestKKDCPExchange(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		p := startProxy(t, "ok", h2)
		c, tl := proxyClient(t, []string{p.url("127.0.0.1")}, "FILE:"+p.ca)
		reply, _, err := doExchange(t, c, false)
		require.NoError(t, err)
		assert.Equal(t, "reply from proxy", string(reply))
		want := "HTTP/1.1"
		if h2 {
			want = "HTTP/2.0"
		}
		assert.Equal(t, want, p.protos.Load())
		assert.Equal(t, "EXAMPLE.COM", p.domain.Load(), "target-domain names the realm")
		assert.Equal(t, "application/kerberos", p.ctype.Load())
		addr := p.srv.Listener.Addr().String()
		assert.Contains(t, tl.all(), "Sending HTTPS request to https "+addr)
		assert.Contains(t, tl.all(), "Received answer (16 bytes) from https "+addr)
		c.CloseIdleConnections()
	}
}

func TestKKDCPHostNameFromResolver(t *testing.T) {
	p := startProxy(t, "ok", true)
	// The certificate of httptest names example.com and 127.0.0.1, not
	// proxy.test.
	c, _ := proxyClient(t, []string{p.url("proxy.test")}, "FILE:"+p.ca)
	_, _, err := doExchange(t, c, false)
	require.ErrorIs(t, err, ErrKDCUnreachable)
	var host x509.HostnameError
	require.ErrorAs(t, err, &host, "fails closed on a certificate for another host")
	var cv *tls.CertificateVerificationError
	require.ErrorAs(t, err, &cv)
	assert.Contains(t, err.Error(), "certificate is valid for example.com")
	assert.Contains(t, err.Error(), "not proxy.test")
	assert.Contains(t, err.Error(), p.url("proxy.test")+" at 127.0.0.1:", "the attempt names the URL and the address")
	assert.Zero(t, p.hits.Load(), "no request is sent over a connection that failed verification")
}

func TestKKDCPUntrustedCertificate(t *testing.T) {
	p := startProxy(t, "ok", false)
	for _, anchors := range [][]string{nil, {"FILE:" + otherCA(t)}} {
		c, _ := proxyClient(t, []string{p.url("127.0.0.1")}, anchors...)
		_, _, err := doExchange(t, c, false)
		require.ErrorIs(t, err, ErrKDCUnreachable)
		var ua x509.UnknownAuthorityError
		require.ErrorAs(t, err, &ua, "anchors %v", anchors)
		assert.NotContains(t, err.Error(), "SECRET", "no request byte in the error")
	}
	assert.Zero(t, p.hits.Load())
}

// otherCA writes a self-signed CA certificate that signed nothing.
func otherCA(t *testing.T) string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "unrelated CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "other-ca.pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return path
}

func TestKKDCPAnchorForms(t *testing.T) {
	p := startProxy(t, "ok", false)
	dir := t.TempDir()
	pemData, err := os.ReadFile(p.ca)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "proxy.crt"), pemData, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".hidden"), []byte("junk"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README"), []byte("not a certificate"), 0o600))
	t.Setenv("GOKINIT_TEST_ANCHOR", "DIR:"+dir)

	for _, anchor := range []string{"FILE:" + p.ca, "DIR:" + dir, "ENV:GOKINIT_TEST_ANCHOR"} {
		c, _ := proxyClient(t, []string{p.url("127.0.0.1")}, anchor)
		reply, _, err := doExchange(t, c, false)
		require.NoError(t, err, anchor)
		assert.Equal(t, "reply from proxy", string(reply))
	}
	empty := t.TempDir()
	for _, anchor := range []string{"FILE:" + filepath.Join(dir, "missing.pem"), "DIR:" + empty, "ENV:GOKINIT_NO_SUCH_VAR", "PKCS11:x", "FILE:" + filepath.Join(dir, "README")} {
		// Every value must load, or no connection is made.
		c, _ := proxyClient(t, []string{p.url("127.0.0.1")}, "FILE:"+p.ca, anchor)
		_, _, err := doExchange(t, c, false)
		require.ErrorIs(t, err, ErrAnchors, anchor)
	}
}

// Failover: a proxy that fails moves the exchange on to the next KDC, in
// krb5.conf order, without waiting.
func TestKKDCPFailover(t *testing.T) {
	for _, mode := range []string{"503", "garbage", "badprefix", "redirect"} {
		t.Run(mode, func(t *testing.T) {
			p := startProxy(t, mode, false)
			k := startKDC(t, "kdc1", answer, answer)
			c, tl := proxyClient(t, []string{p.url("127.0.0.1"), k.addr()}, "FILE:"+p.ca)
			c.PerKDCWait = 5 * time.Second
			reply, took, err := doExchange(t, c, false)
			require.NoError(t, err)
			assert.Equal(t, k.reply(), reply)
			assert.Less(t, took, 2*time.Second, "a failed proxy is passed over at once")
			assert.EqualValues(t, 1, p.hits.Load())
			assert.Contains(t, tl.all(), "HTTPS error")

			// Alone, the proxy's failure is the error.
			c, _ = proxyClient(t, []string{p.url("127.0.0.1")}, "FILE:"+p.ca)
			_, _, err = doExchange(t, c, false)
			require.ErrorIs(t, err, ErrKDCUnreachable)
			require.ErrorIs(t, err, ErrProxyReply)
		})
	}
}

// A plain KDC listed first is tried first; a proxy after it takes its
// turn (mixed entries in krb5.conf order).
func TestKKDCPMixedOrder(t *testing.T) {
	p := startProxy(t, "ok", false)
	dead := deadAddr(t)
	c, tl := proxyClient(t, []string{dead, p.url("127.0.0.1")}, "FILE:"+p.ca)
	reply, _, err := doExchange(t, c, false)
	require.NoError(t, err)
	assert.Equal(t, "reply from proxy", string(reply))
	tr := tl.all()
	assert.Less(t, strings.Index(tr, "dgram "+dead), strings.Index(tr, "Sending HTTPS request"), tr)
}

func TestKKDCPSilentProxy(t *testing.T) {
	p := startProxy(t, "silent", false)
	k := startKDC(t, "kdc1", answer, answer)
	c, _ := proxyClient(t, []string{p.url("127.0.0.1"), k.addr()}, "FILE:"+p.ca)
	reply, took, err := doExchange(t, c, false)
	require.NoError(t, err)
	assert.Equal(t, k.reply(), reply)
	assert.GreaterOrEqual(t, took, 200*time.Millisecond, "the proxy had its per-KDC wait")
	assert.Less(t, took, 2*time.Second, "and no more before the next KDC")

	// Alone, a silent proxy is bounded by the exchange's limits.
	c, _ = proxyClient(t, []string{p.url("127.0.0.1")}, "FILE:"+p.ca)
	c.TCPConnectTimeout, c.TCPReplyTimeout = 300*time.Millisecond, 300*time.Millisecond
	_, took, err = doExchange(t, c, false)
	require.ErrorIs(t, err, ErrKDCUnreachable)
	assert.Less(t, took, 3*time.Second)
}

func TestKKDCPContextCancelled(t *testing.T) {
	p := startProxy(t, "silent", false)
	c, _ := proxyClient(t, []string{p.url("127.0.0.1")}, "FILE:"+p.ca)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Exchange(ctx, "EXAMPLE.COM", req, false)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestProxyMessageRoundTrip(t *testing.T) {
	hint := int64(12)
	der, err := marshalProxyMessage([]byte("AS-REQ"), "EXAMPLE.COM", &hint)
	require.NoError(t, err)
	m, err := unmarshalProxyMessage(der)
	require.NoError(t, err)
	assert.Equal(t, "\x00\x00\x00\x06AS-REQ", string(m.KerbMessage))
	assert.Equal(t, "EXAMPLE.COM", m.TargetDomain)
	require.NotNil(t, m.DCLocatorHint)
	assert.EqualValues(t, 12, *m.DCLocatorHint)
	got, err := decodeProxyReply(der)
	require.NoError(t, err)
	assert.Equal(t, "AS-REQ", string(got))

	// The bytes MIT's encoder produces for the same message (checked
	// against encode_krb5_kkdcp_message's layout: explicit tags, a
	// GeneralString realm).
	want := []byte{0x30, 0x1a,
		0xa0, 0x0c, 0x04, 0x0a, 0, 0, 0, 6, 'A', 'S', '-', 'R', 'E', 'Q',
		0xa1, 0x0a, 0x1b, 0x08, 'K', 'R', 'B', '.', 'T', 'E', 'S', 'T'}
	der, err = marshalProxyMessage([]byte("AS-REQ"), "KRB.TEST", nil)
	require.NoError(t, err)
	assert.Equal(t, want, der)

	for _, bad := range [][]byte{nil, {0x30, 0x00}, append(der, 0), {0x04, 0x00}} {
		_, err := decodeProxyReply(bad)
		assert.ErrorIs(t, err, ErrProxyReply)
	}
}

func TestCertMatchesHost(t *testing.T) {
	cert := &x509.Certificate{DNSNames: []string{"*.example.com", "Proxy.Example.ORG"}}
	assert.True(t, certMatchesHost(cert, "kdc.example.com"))
	assert.True(t, certMatchesHost(cert, "proxy.example.org"))
	assert.False(t, certMatchesHost(cert, "a.b.example.com"), "a wildcard is one label")
	assert.False(t, certMatchesHost(cert, "example.com"))
	assert.False(t, certMatchesHost(&x509.Certificate{DNSNames: []string{"*.com"}}, "example.com"), "no wildcard over two labels")

	// MIT's k5tls falls back to the CN when no SAN of the kind exists.
	cn := &x509.Certificate{Subject: pkix.Name{CommonName: "proxy.example.com"}}
	assert.True(t, certMatchesHost(cn, "proxy.example.com"))
	cnIP := &x509.Certificate{Subject: pkix.Name{CommonName: "192.0.2.1"}}
	assert.True(t, certMatchesHost(cnIP, "192.0.2.1"))
	both := &x509.Certificate{Subject: pkix.Name{CommonName: "proxy.example.com"}, DNSNames: []string{"other.example.com"}}
	assert.False(t, certMatchesHost(both, "proxy.example.com"), "no CN fallback when dNSName SANs exist")

	ip := &x509.Certificate{IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}, DNSNames: []string{"localhost"}}
	assert.True(t, certMatchesHost(ip, "127.0.0.1"))
	assert.True(t, certMatchesHost(ip, "::1"))
	assert.False(t, certMatchesHost(ip, "127.0.0.2"))
	assert.True(t, certMatchesHost(ip, "localhost"))
}

func TestHTTPReason(t *testing.T) {
	err := httpReason(&net.OpError{Op: "dial", Err: errors.New("connection refused")})
	assert.Equal(t, "connection refused", err.Error())
}

// BenchmarkExchangeKKDCP is one exchange through a Go MS-KKDCP proxy
// (httptest, HTTP/1.1 or HTTP/2, the connection reused within the Client),
// beside BenchmarkExchangeDirect (UDP and TCP to a fake KDC): the client's
// own cost of the proxy, without kdcproxy's.
func BenchmarkExchangeKKDCP(b *testing.B) {
	for _, h2 := range []bool{false, true} {
		name := "HTTP1"
		if h2 {
			name = "HTTP2"
		}
		b.Run(name, func(b *testing.B) {
			p := startProxy(b, "ok", h2)
			c := New(testConfig(b, "EXAMPLE.COM", nil))
			c.Profile = mapProfile{
				"realms/EXAMPLE.COM/kdc":          {p.url("127.0.0.1")},
				"realms/EXAMPLE.COM/http_anchors": {"FILE:" + p.ca},
			}
			benchExchange(b, c, false)
			c.CloseIdleConnections()
		})
	}
}

func BenchmarkExchangeDirect(b *testing.B) {
	k := startKDC(b, "kdc1", answer, answer)
	c := New(testConfig(b, "EXAMPLE.COM", []string{k.addr()}))
	b.Run("UDP", func(b *testing.B) { benchExchange(b, c, false) })
	b.Run("TCP", func(b *testing.B) { benchExchange(b, c, true) })
}

func benchExchange(b *testing.B, c *Client, tcpOnly bool) {
	for b.Loop() {
		if _, err := c.Exchange(context.Background(), "EXAMPLE.COM", req, tcpOnly); err != nil {
			b.Fatal(err)
		}
	}
}
