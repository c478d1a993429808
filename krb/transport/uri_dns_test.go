package transport

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func port(t *testing.T, addr string) uint16 {
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return uint16(n)
}

// TestURIDiscoveryRealDNS runs Debian's dnsmasq on a loopback port with URI
// and SRV records and checks what KDCs, KpasswdServers and Exchange make
// of them: URI records first (transport from the record, priority order,
// unusable ones skipped), SRV only when no URI record is usable.
func TestURIDiscoveryRealDNS(t *testing.T) {
	tcpKDC := startKDC(t, "kdc-tcp", answer, answer)
	udpKDC := startKDC(t, "kdc-udp", answer, answer)
	srvKDC := startKDC(t, "kdc-srv", answer, answer)
	proxy := startProxy(t, "ok", false)
	pp := port(t, proxy.srv.Listener.Addr().String())
	dns := krbtest.StartDNS(t, []string{"test"},
		// URI.TEST: URI records, and SRV records that must not be used.
		krbtest.URIRecord("_kerberos.URI.TEST", 30, 100, "krb5srv::udp:kdc-udp.uri.test:"+strconv.Itoa(udpKDC.port)),
		krbtest.URIRecord("_kerberos.URI.TEST", 10, 1, "krb5srv:m:tcp:kdc-tcp.uri.test:"+strconv.Itoa(tcpKDC.port)),
		krbtest.URIRecord("_kerberos.URI.TEST", 20, 1, "krb5srv::kkdcp:https://127.0.0.1:"+strconv.Itoa(int(pp))+"/KdcProxy"),
		krbtest.URIRecord("_kerberos.URI.TEST", 1, 1, "krb5srv::sctp:kdc-bad.uri.test"),
		krbtest.URIRecord("_kerberos.URI.TEST", 2, 1, "ldap://kdc-bad.uri.test"),
		krbtest.URIRecord("_kerberos.URI.TEST", 3, 1, "krb5srv::kkdcp:kdc-bad.uri.test"),
		krbtest.SRVRecord("_kerberos._udp.URI.TEST", "kdc-srv.uri.test", uint16(srvKDC.port), 0, 0),
		krbtest.URIRecord("_kpasswd.URI.TEST", 5, 1, "krb5srv::tcp:kpasswd.uri.test"),
		krbtest.URIRecord("_kpasswd.URI.TEST", 1, 1, "krb5srv::kkdcp:https://proxy.test/KdcProxy"),
		// SRV.TEST: SRV records only.
		krbtest.SRVRecord("_kerberos._udp.SRV.TEST", "kdc-srv.uri.test", uint16(srvKDC.port), 0, 0),
		krbtest.SRVRecord("_kerberos._tcp.SRV.TEST", "kdc-srv.uri.test", uint16(srvKDC.port), 0, 0),
		krbtest.SRVRecord("_kerberos-adm._tcp.SRV.TEST", "admin.uri.test", 749, 0, 0),
		krbtest.ARecord("kdc-tcp.uri.test", "127.0.0.1"),
		krbtest.ARecord("kdc-udp.uri.test", "127.0.0.1"),
		krbtest.ARecord("kdc-srv.uri.test", "127.0.0.1"),
		krbtest.ARecord("proxy.test", "127.0.0.1"),
	)
	newClient := func(t *testing.T, libdefaults ...string) (*Client, *traceLog) {
		c, tl := newTestClient(t, nil, libdefaults...)
		prof := mapProfile{"realms/URI.TEST/http_anchors": {"FILE:" + proxy.ca}}
		for _, l := range libdefaults {
			k, v, _ := strings.Cut(l, "=")
			prof["libdefaults/"+strings.TrimSpace(k)] = []string{strings.TrimSpace(v)}
		}
		c.Profile = prof
		c.Resolver = NewDNSResolver(dns.Addr)
		return c, tl
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c, tl := newClient(t)
	got, err := c.KDCs(ctx, "URI.TEST")
	require.NoError(t, err, tl.all())
	assert.Equal(t, []Server{
		{Host: "kdc-tcp.uri.test", Port: tcpKDC.port, Protocol: ProtocolTCP, Primary: true},
		{Host: "127.0.0.1", Port: int(pp), Protocol: ProtocolKKDCP, Path: "KdcProxy"},
		{Host: "kdc-udp.uri.test", Port: udpKDC.port, Protocol: ProtocolUDP},
	}, got, "priority order, unusable records skipped, no SRV")
	assert.Contains(t, tl.all(), "Sending DNS URI query for _kerberos.URI.TEST.")
	assert.Contains(t, tl.all(), `URI answer: 10 1 "krb5srv:m:tcp:kdc-tcp.uri.test:`)
	assert.NotContains(t, tl.all(), "SRV query")

	// Each record keeps its transport. A small request prefers UDP, so the
	// tcp record waits for the end of the pass (MIT's resolve_server
	// defers it) and the proxy, never deferred, answers first.
	reply, err := c.Exchange(ctx, "URI.TEST", req, false)
	require.NoError(t, err, tl.all())
	assert.Equal(t, "reply from proxy", string(reply))
	assert.EqualValues(t, 0, tcpKDC.tcpReqs.Load()+tcpKDC.udpReqs.Load())
	// TCP only: the tcp record comes first, and is asked over TCP.
	reply, err = c.Exchange(ctx, "URI.TEST", req, true)
	require.NoError(t, err, tl.all())
	assert.Equal(t, tcpKDC.reply(), reply)
	assert.EqualValues(t, 1, tcpKDC.tcpReqs.Load())
	assert.EqualValues(t, 0, tcpKDC.udpReqs.Load())
	// With the proxy and the tcp record gone, the udp record is asked over
	// UDP only.
	c.PerKDCWait = 100 * time.Millisecond
	udpOnly := []Server{got[2]}
	_, err = c.ExchangeWith(ctx, "URI.TEST", udpOnly, req, true)
	require.ErrorIs(t, err, ErrKDCUnreachable, "a udp record is not asked over TCP")
	reply, err = c.ExchangeWith(ctx, "URI.TEST", udpOnly, req, false)
	require.NoError(t, err)
	assert.Equal(t, udpKDC.reply(), reply)
	assert.EqualValues(t, 0, udpKDC.tcpReqs.Load())

	// kkdcp URI records reach the proxy, with the realm's http_anchors.
	got, err = c.KpasswdServers(ctx, "URI.TEST")
	require.NoError(t, err)
	assert.Equal(t, []Server{
		{Host: "proxy.test", Port: 443, Protocol: ProtocolKKDCP, Path: "KdcProxy"},
		{Host: "kpasswd.uri.test", Port: DefaultKpasswdPort, Protocol: ProtocolTCP},
	}, got)

	// SRV fallback: no URI record at all (NXDOMAIN for the URI query).
	got, err = c.KDCs(ctx, "SRV.TEST")
	require.NoError(t, err, tl.all())
	assert.Equal(t, []Server{
		{Host: "kdc-srv.uri.test", Port: srvKDC.port, Protocol: ProtocolUDP},
		{Host: "kdc-srv.uri.test", Port: srvKDC.port, Protocol: ProtocolTCP},
	}, got)
	assert.Contains(t, tl.all(), "No URI records found")

	// kpasswd falls back to admin servers from DNS, on port 464.
	got, err = c.KpasswdServers(ctx, "SRV.TEST")
	require.NoError(t, err)
	assert.Equal(t, []Server{{Host: "admin.uri.test", Port: DefaultKpasswdPort, Protocol: ProtocolAny}}, got)

	// dns_uri_lookup = false: SRV records even where URI records exist.
	c, _ = newClient(t, "dns_uri_lookup = false")
	got, err = c.KDCs(ctx, "URI.TEST")
	require.NoError(t, err)
	assert.Equal(t, []Server{{Host: "kdc-srv.uri.test", Port: srvKDC.port, Protocol: ProtocolUDP}}, got)
	reply, err = c.Exchange(ctx, "URI.TEST", req, false)
	require.NoError(t, err)
	assert.Equal(t, srvKDC.reply(), reply)

	// dns_lookup_kdc = false (or dns_fallback = false with it unset): no DNS.
	for _, l := range []string{"dns_lookup_kdc = false", "dns_fallback = no"} {
		c, tl = newClient(t, l)
		_, err = c.KDCs(ctx, "URI.TEST")
		require.ErrorIs(t, err, ErrNoKDC, l)
		assert.NotContains(t, tl.all(), "query", l)
	}
	c, _ = newClient(t, "dns_lookup_kdc = true", "dns_fallback = no")
	_, err = c.KDCs(ctx, "URI.TEST")
	require.NoError(t, err, "dns_lookup_kdc wins over dns_fallback")

	// The resolver's own lookups: records in DNS order, NXDOMAIN typed.
	res := NewDNSResolver(dns.Addr)
	recs, err := res.LookupURI(ctx, "_kpasswd.URI.TEST")
	require.NoError(t, err)
	assert.Len(t, recs, 2)
	_, err = res.LookupURI(ctx, "_kerberos.NONE.TEST")
	var dnsErr *net.DNSError
	require.ErrorAs(t, err, &dnsErr)
	assert.True(t, dnsErr.IsNotFound)
}

// A truncated UDP answer is asked again over TCP.
func TestURIOverTCPWhenTruncated(t *testing.T) {
	var recs []krbtest.DNSRecord
	for i := range 20 {
		recs = append(recs, krbtest.URIRecord("_kerberos.BIG.TEST", uint16(i), 1,
			"krb5srv::udp:kdc-number-"+strconv.Itoa(i)+".with.a.rather.long.host.name.big.test"))
	}
	dns := krbtest.StartDNS(t, []string{"test"}, recs...)
	got, err := NewDNSResolver(dns.Addr).LookupURI(context.Background(), "_kerberos.BIG.TEST")
	require.NoError(t, err)
	assert.Len(t, got, 20, "over 512 bytes: the TCP answer has them all")
}
