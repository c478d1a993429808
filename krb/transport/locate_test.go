package transport

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func itoa(n int) string { return strconv.Itoa(n) }

func TestParseServer(t *testing.T) {
	tests := []struct {
		in   string
		want Server
		err  string
	}{
		{"kdc.example.com", Server{Host: "kdc.example.com", Port: 88, Protocol: ProtocolAny}, ""},
		{"kdc.example.com:750", Server{Host: "kdc.example.com", Port: 750, Protocol: ProtocolAny}, ""},
		{" kdc.example.com:88 ", Server{Host: "kdc.example.com", Port: 88, Protocol: ProtocolAny}, ""},
		{"192.0.2.1", Server{Host: "192.0.2.1", Port: 88, Protocol: ProtocolAny}, ""},
		{"192.0.2.1:8888", Server{Host: "192.0.2.1", Port: 8888, Protocol: ProtocolAny}, ""},
		{"tcp/kdc.example.com", Server{Host: "kdc.example.com", Port: 88, Protocol: ProtocolTCP}, ""},
		{"TCP/kdc.example.com:8888", Server{Host: "kdc.example.com", Port: 8888, Protocol: ProtocolTCP}, ""},
		{"udp/kdc.example.com:89", Server{Host: "kdc.example.com", Port: 89, Protocol: ProtocolUDP}, ""},
		{"[2001:db8::1]:88", Server{Host: "2001:db8::1", Port: 88, Protocol: ProtocolAny}, ""},
		{"[2001:db8::1]:8888", Server{Host: "2001:db8::1", Port: 8888, Protocol: ProtocolAny}, ""},
		{"[2001:db8::1]", Server{Host: "2001:db8::1", Port: 88, Protocol: ProtocolAny}, ""},
		{"tcp/[::1]:750", Server{Host: "::1", Port: 750, Protocol: ProtocolTCP}, ""},
		{"2001:db8::2", Server{Host: "2001:db8::2", Port: 88, Protocol: ProtocolAny}, ""},
		{"[kdc.example.com]:88", Server{Host: "kdc.example.com", Port: 88, Protocol: ProtocolAny}, ""},
		{"127.0.0.1    # primary KDC", Server{Host: "127.0.0.1", Port: 88, Protocol: ProtocolAny}, ""},
		{"kdc.example.com\t; old", Server{Host: "kdc.example.com", Port: 88, Protocol: ProtocolAny}, ""},
		{"kdc.example.com:88 # MIT rejects a port with text after it", Server{}, "bad port"},
		{"", Server{}, "no host"},
		{"tcp/", Server{}, "no host"},
		{":88", Server{}, "no host"},
		{"88", Server{}, "no host"},
		{"[1]", Server{Host: "1", Port: 88, Protocol: ProtocolAny}, ""},
		{"1 # c", Server{Host: "1", Port: 88, Protocol: ProtocolAny}, ""},
		{"kdc:", Server{}, "bad port"},
		{"kdc:0", Server{}, "bad port"},
		{"kdc:65536", Server{}, "bad port"},
		{"kdc:http", Server{}, "bad port"},
		{"[::1", Server{}, "missing ']'"},
		{"[::1]88", Server{Host: "::1", Port: 88, Protocol: ProtocolAny}, ""},
		{"[::1]:750 # v6", Server{}, "bad port"},
		{"[::1] # v6", Server{Host: "::1", Port: 88, Protocol: ProtocolAny}, ""},
		{"[::1]:", Server{}, "bad port"},
		{"[", Server{Host: "[", Port: 88, Protocol: ProtocolAny}, ""},
		{"[kdc:750", Server{Host: "[kdc", Port: 750, Protocol: ProtocolAny}, ""},
	}
	for _, tt := range tests {
		got, err := ParseServer(tt.in, DefaultPort)
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, "%q", tt.in)
			continue
		}
		if assert.NoError(t, err, "%q", tt.in) {
			assert.Equal(t, tt.want, got, "%q", tt.in)
		}
	}
}

func TestServerString(t *testing.T) {
	assert.Equal(t, "kdc:88", Server{Host: "kdc", Port: 88, Protocol: ProtocolAny}.String())
	assert.Equal(t, "tcp/[::1]:750", Server{Host: "::1", Port: 750, Protocol: ProtocolTCP}.String())
	assert.Equal(t, "udp/192.0.2.1:88", Server{Host: "192.0.2.1", Port: 88, Protocol: ProtocolUDP}.String())
}

func TestKDCsFromConfig(t *testing.T) {
	cfg := testConfig(t, "EXAMPLE.COM", []string{
		"kdc1.example.com",
		"kdc2.example.com:750",
		"tcp/kdc3.example.com",
		"udp/kdc4.example.com:8888",
		"[2001:db8::1]:88",
		"[2001:db8::2]",
		"2001:db8::3",
		"https://proxy.example.com/KdcProxy",
		"kdc5.example.com *",
		"never.example.com",
	}, "dns_lookup_kdc = true")
	res := &fakeResolver{}
	c := New(cfg)
	c.Resolver = res
	got, err := c.KDCs(context.Background(), "EXAMPLE.COM")
	require.NoError(t, err)
	assert.Equal(t, []Server{
		{Host: "kdc1.example.com", Port: 88, Protocol: ProtocolAny},
		{Host: "kdc2.example.com", Port: 750, Protocol: ProtocolAny},
		{Host: "kdc3.example.com", Port: 88, Protocol: ProtocolTCP},
		{Host: "kdc4.example.com", Port: 8888, Protocol: ProtocolUDP},
		{Host: "2001:db8::1", Port: 88, Protocol: ProtocolAny},
		{Host: "2001:db8::2", Port: 88, Protocol: ProtocolAny},
		{Host: "2001:db8::3", Port: 88, Protocol: ProtocolAny},
		{Host: "proxy.example.com", Port: 443, Protocol: ProtocolKKDCP, Path: "KdcProxy"},
		{Host: "kdc5.example.com", Port: 88, Protocol: ProtocolAny},
	}, got, "file order, https among them; nothing after the final '*' entry")
	assert.Zero(t, res.calls.Load(), "krb5.conf entries win over DNS, even with dns_lookup_kdc")
}

func TestKDCsOnlyHTTPS(t *testing.T) {
	c := New(testConfig(t, "EXAMPLE.COM", []string{"https://proxy.example.com/KdcProxy"}))
	c.Resolver = &fakeResolver{}
	got, err := c.KDCs(context.Background(), "EXAMPLE.COM")
	require.NoError(t, err)
	assert.Equal(t, []Server{{Host: "proxy.example.com", Port: 443, Protocol: ProtocolKKDCP, Path: "KdcProxy"}}, got)
}

func TestParseServerHTTPS(t *testing.T) {
	tests := []struct {
		in   string
		want Server
		err  string
	}{
		{"https://proxy.example.com/KdcProxy", Server{Host: "proxy.example.com", Port: 443, Protocol: ProtocolKKDCP, Path: "KdcProxy"}, ""},
		{"https://proxy.example.com:8443/a/b", Server{Host: "proxy.example.com", Port: 8443, Protocol: ProtocolKKDCP, Path: "a/b"}, ""},
		{"https://proxy.example.com", Server{Host: "proxy.example.com", Port: 443, Protocol: ProtocolKKDCP}, ""},
		{"https://[2001:db8::1]:8443/KdcProxy", Server{Host: "2001:db8::1", Port: 8443, Protocol: ProtocolKKDCP, Path: "KdcProxy"}, ""},
		{"https://127.0.0.1/", Server{Host: "127.0.0.1", Port: 443, Protocol: ProtocolKKDCP}, ""},
		{"https:///KdcProxy", Server{}, "no host"},
		{"https://proxy:x/KdcProxy", Server{}, "bad port"},
		// MIT's prefix is case sensitive and knows no plain http.
		{"HTTPS://proxy/KdcProxy", Server{}, "bad port"},
		{"http://proxy/KdcProxy", Server{}, "bad port"},
	}
	for _, tt := range tests {
		got, err := ParseServer(tt.in, DefaultPort)
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, "%q", tt.in)
			continue
		}
		if assert.NoError(t, err, "%q", tt.in) {
			assert.Equal(t, tt.want, got, "%q", tt.in)
		}
	}
	s := Server{Host: "2001:db8::1", Port: 8443, Protocol: ProtocolKKDCP, Path: "KdcProxy"}
	assert.Equal(t, "https://[2001:db8::1]:8443/KdcProxy", s.String())
}

func TestParseKrb5srvURI(t *testing.T) {
	tests := []struct {
		in   string
		want Server
		ok   bool
	}{
		{"krb5srv:m:udp:kdc1.example.com", Server{Host: "kdc1.example.com", Port: 88, Protocol: ProtocolUDP, Primary: true}, true},
		{"KRB5SRV::TCP:kdc2.example.com:750", Server{Host: "kdc2.example.com", Port: 750, Protocol: ProtocolTCP}, true},
		{"krb5srv:xM:tcp:[2001:db8::1]:88", Server{Host: "2001:db8::1", Port: 88, Protocol: ProtocolTCP, Primary: true}, true},
		{"krb5srv::kkdcp:https://proxy.example.com/KdcProxy", Server{Host: "proxy.example.com", Port: 443, Protocol: ProtocolKKDCP, Path: "KdcProxy"}, true},
		{"krb5srv:m:KKDCP:https://proxy.example.com:8443/", Server{Host: "proxy.example.com", Port: 8443, Protocol: ProtocolKKDCP, Primary: true}, true},
		{"krb5srv::udp:kdc3.example.com trailing", Server{Host: "kdc3.example.com", Port: 88, Protocol: ProtocolUDP}, true},
		{"krb5srv::kkdcp:proxy.example.com", Server{}, false},         // kkdcp needs an https URL
		{"krb5srv::kkdcp:HTTPS://proxy.example.com", Server{}, false}, // case-sensitive, as MIT
		{"krb5srv::sctp:kdc.example.com", Server{}, false},
		{"krb5srv::udpx:kdc.example.com", Server{}, false},
		{"krb5srv:m", Server{}, false},
		{"krb5srv:", Server{}, false},
		{"krb5srvx::udp:kdc", Server{}, false},
		{"ldap::udp:kdc", Server{}, false},
		{"krb5srv::tcp:", Server{}, false},
		{"krb5srv::tcp:kdc:99999", Server{}, false},
		{"krb5srv::udp:kdc\x1b[31m.example.com", Server{}, false},              // control characters never reach a trace
		{"krb5srv::kkdcp:https://p.example.com/Kdc\x00Proxy", Server{}, false}, // nor a request line
	}
	for _, tt := range tests {
		got, ok := ParseKrb5srvURI(tt.in, DefaultPort)
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

func TestKDCsFromDNS(t *testing.T) {
	res := &fakeResolver{srv: map[string][]*net.SRV{
		"udp": {
			{Target: "b.example.com.", Port: 88, Priority: 10, Weight: 5},
			{Target: "c.example.com.", Port: 88, Priority: 20, Weight: 100},
			{Target: "a.example.com.", Port: 750, Priority: 10, Weight: 50},
			{Target: "d.example.com.", Port: 88, Priority: 10, Weight: 5},
		},
		"tcp": {
			{Target: "t.example.com.", Port: 88, Priority: 0, Weight: 0},
		},
	}}
	// No [realms] block for DNS.TEST, and dns_lookup_kdc unset.
	c := New(testConfig(t, "EXAMPLE.COM", nil))
	c.Resolver = res
	got, err := c.KDCs(context.Background(), "DNS.TEST")
	require.NoError(t, err)
	assert.Equal(t, []Server{
		{Host: "a.example.com", Port: 750, Protocol: ProtocolUDP},
		{Host: "b.example.com", Port: 88, Protocol: ProtocolUDP},
		{Host: "d.example.com", Port: 88, Protocol: ProtocolUDP},
		{Host: "c.example.com", Port: 88, Protocol: ProtocolUDP},
		{Host: "t.example.com", Port: 88, Protocol: ProtocolTCP},
	}, got, "UDP records then TCP; priority ascending, weight descending, stable")
}

func TestKDCsDNSNoService(t *testing.T) {
	res := &fakeResolver{srv: map[string][]*net.SRV{"udp": {{Target: ".", Port: 0}}}}
	c := New(nil)
	c.Resolver = res
	_, err := c.KDCs(context.Background(), "DNS.TEST")
	assert.ErrorIs(t, err, ErrNoKDC)
	assert.ErrorIs(t, err, ErrKDCUnreachable)
	assert.ErrorContains(t, err, "realm DNS.TEST")
	assert.ErrorContains(t, err, "lookup _kerberos._tcp.DNS.TEST")
}

func TestExchangeNoKDC(t *testing.T) {
	c := New(testConfig(t, "EXAMPLE.COM", nil))
	c.Resolver = &fakeResolver{}
	_, err := c.Exchange(context.Background(), "NOWHERE.TEST", req, false)
	assert.ErrorIs(t, err, ErrNoKDC)
	assert.ErrorIs(t, err, ErrKDCUnreachable)
}

func TestExchangeViaDNS(t *testing.T) {
	k := startKDC(t, "kdc-dns", answer, answer)
	dead := deadAddr(t)
	_, deadPort, _ := net.SplitHostPort(dead)
	dp, _ := strconv.Atoi(deadPort)
	res := &fakeResolver{
		srv: map[string][]*net.SRV{
			"udp": {
				{Target: "kdc.dns.test.", Port: uint16(k.port), Priority: 20},
				{Target: "dead.dns.test.", Port: uint16(dp), Priority: 10},
			},
			"tcp": {{Target: "kdc.dns.test.", Port: uint16(k.port)}},
		},
		hosts: map[string][]netip.Addr{
			"kdc.dns.test":  {netip.MustParseAddr("127.0.0.1")},
			"dead.dns.test": {netip.MustParseAddr("::ffff:127.0.0.1")}, // unmapped to IPv4
		},
	}
	c := New(testConfig(t, "EXAMPLE.COM", nil))
	c.Resolver = res
	tl := &traceLog{t: t}
	c.Trace = tl.trace

	reply, err := c.Exchange(context.Background(), "DNS.TEST", req, false)
	require.NoError(t, err)
	assert.Equal(t, k.reply(), reply)
	assert.EqualValues(t, 1, k.udpReqs.Load())
	assert.Contains(t, tl.all(), "Resolving hostname dead.dns.test\nSending initial UDP request to dgram "+dead)

	reply, err = c.Exchange(context.Background(), "DNS.TEST", req, true)
	require.NoError(t, err)
	assert.Equal(t, k.reply(), reply)
	assert.EqualValues(t, 1, k.tcpReqs.Load(), "tcpOnly uses the _tcp records only")
}

func TestKDCsCancelled(t *testing.T) {
	c := New(nil)
	c.Resolver = &fakeResolver{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.KDCs(ctx, "DNS.TEST")
	assert.ErrorIs(t, err, context.Canceled)
}
