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
		{"kdc.example.com", Server{"kdc.example.com", 88, ProtocolAny}, ""},
		{"kdc.example.com:750", Server{"kdc.example.com", 750, ProtocolAny}, ""},
		{" kdc.example.com:88 ", Server{"kdc.example.com", 88, ProtocolAny}, ""},
		{"192.0.2.1", Server{"192.0.2.1", 88, ProtocolAny}, ""},
		{"192.0.2.1:8888", Server{"192.0.2.1", 8888, ProtocolAny}, ""},
		{"tcp/kdc.example.com", Server{"kdc.example.com", 88, ProtocolTCP}, ""},
		{"TCP/kdc.example.com:8888", Server{"kdc.example.com", 8888, ProtocolTCP}, ""},
		{"udp/kdc.example.com:89", Server{"kdc.example.com", 89, ProtocolUDP}, ""},
		{"[2001:db8::1]:88", Server{"2001:db8::1", 88, ProtocolAny}, ""},
		{"[2001:db8::1]:8888", Server{"2001:db8::1", 8888, ProtocolAny}, ""},
		{"[2001:db8::1]", Server{"2001:db8::1", 88, ProtocolAny}, ""},
		{"tcp/[::1]:750", Server{"::1", 750, ProtocolTCP}, ""},
		{"2001:db8::2", Server{"2001:db8::2", 88, ProtocolAny}, ""},
		{"[kdc.example.com]:88", Server{"kdc.example.com", 88, ProtocolAny}, ""},
		{"127.0.0.1    # primary KDC", Server{"127.0.0.1", 88, ProtocolAny}, ""},
		{"kdc.example.com\t; old", Server{"kdc.example.com", 88, ProtocolAny}, ""},
		{"kdc.example.com:88 # MIT rejects a port with text after it", Server{}, "bad port"},
		{"", Server{}, "no host"},
		{"tcp/", Server{}, "no host"},
		{":88", Server{}, "no host"},
		{"kdc:", Server{}, "bad port"},
		{"kdc:0", Server{}, "bad port"},
		{"kdc:65536", Server{}, "bad port"},
		{"kdc:http", Server{}, "bad port"},
		{"[::1", Server{}, "missing ']'"},
		{"[::1]88", Server{}, "junk after ']'"},
		{"[::1]:", Server{}, "bad port"},
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
	assert.Equal(t, "kdc:88", Server{"kdc", 88, ProtocolAny}.String())
	assert.Equal(t, "tcp/[::1]:750", Server{"::1", 750, ProtocolTCP}.String())
	assert.Equal(t, "udp/192.0.2.1:88", Server{"192.0.2.1", 88, ProtocolUDP}.String())
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
		{"kdc1.example.com", 88, ProtocolAny},
		{"kdc2.example.com", 750, ProtocolAny},
		{"kdc3.example.com", 88, ProtocolTCP},
		{"kdc4.example.com", 8888, ProtocolUDP},
		{"2001:db8::1", 88, ProtocolAny},
		{"2001:db8::2", 88, ProtocolAny},
		{"2001:db8::3", 88, ProtocolAny},
		{"kdc5.example.com", 88, ProtocolAny},
	}, got, "file order; https skipped; nothing after the final '*' entry")
	assert.Zero(t, res.calls.Load(), "krb5.conf entries win over DNS, even with dns_lookup_kdc")
}

func TestKDCsOnlyHTTPS(t *testing.T) {
	c := New(testConfig(t, "EXAMPLE.COM", []string{"https://proxy.example.com/KdcProxy"}))
	c.Resolver = &fakeResolver{}
	_, err := c.KDCs(context.Background(), "EXAMPLE.COM")
	assert.ErrorIs(t, err, ErrNoKDC)
	assert.ErrorContains(t, err, "MS-KKDCP")
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
		{"a.example.com", 750, ProtocolUDP},
		{"b.example.com", 88, ProtocolUDP},
		{"d.example.com", 88, ProtocolUDP},
		{"c.example.com", 88, ProtocolUDP},
		{"t.example.com", 88, ProtocolTCP},
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
