package transport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// DefaultPort is the Kerberos KDC port (RFC 4120 §7.2.1, §7.2.2), used when
// a kdc entry names no port.
const DefaultPort = 88

// Protocol is the protocol a KDC entry may be contacted over.
type Protocol int

const (
	// ProtocolAny: UDP and TCP, in the order udp_preference_limit picks.
	ProtocolAny Protocol = iota
	// ProtocolUDP: UDP only ("udp/" prefix in krb5.conf, or a
	// _kerberos._udp SRV record).
	ProtocolUDP
	// ProtocolTCP: TCP only ("tcp/" prefix, or a _kerberos._tcp SRV record).
	ProtocolTCP
)

func (t Protocol) String() string {
	switch t {
	case ProtocolUDP:
		return "udp"
	case ProtocolTCP:
		return "tcp"
	default:
		return "any"
	}
}

// Server is one KDC entry of a realm, before its host name is resolved.
type Server struct {
	Host     string // host name or IP literal, without brackets
	Port     int
	Protocol Protocol
}

// Address returns host:port, with brackets around an IPv6 literal.
func (s Server) Address() string {
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// String returns the entry in krb5.conf syntax, e.g. "tcp/kdc.example.com:88".
func (s Server) String() string {
	if s.Protocol == ProtocolAny {
		return s.Address()
	}
	return s.Protocol.String() + "/" + s.Address()
}

// Resolver finds KDCs in DNS. *net.Resolver satisfies it. If the value also
// has a LookupNetIP method with *net.Resolver's signature, it resolves KDC
// host names too; otherwise net.DefaultResolver does.
type Resolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (cname string, addrs []*net.SRV, err error)
}

type hostResolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ParseServer parses a krb5.conf server entry as MIT krb5 does:
// an optional "tcp/" or "udp/" prefix restricting the transport, then
// host, host:port, [IPv6] or [IPv6]:port. An unbracketed host ends at the
// first blank (MIT's k5_parse_host_string: "10.0.0.1   # primary KDC" is
// 10.0.0.1), but a port must be digits to the end ("host:88 # c" is an
// error in MIT too). An IPv6 literal without brackets (more than one colon)
// is taken as a host without a port, where MIT rejects it. defaultPort is
// used when no port is given.
func ParseServer(spec string, defaultPort int) (Server, error) {
	s := Server{Port: defaultPort}
	rest := strings.TrimSpace(spec)
	if p, ok := cutPrefixFold(rest, "tcp/"); ok {
		s.Protocol, rest = ProtocolTCP, p
	} else if p, ok := cutPrefixFold(rest, "udp/"); ok {
		s.Protocol, rest = ProtocolUDP, p
	}
	host, port := rest, ""
	switch {
	case strings.HasPrefix(rest, "["):
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return Server{}, fmt.Errorf("kdc entry %q: missing ']'", spec)
		}
		host, port = rest[1:end], rest[end+1:]
		if port != "" {
			var ok bool
			if port, ok = strings.CutPrefix(port, ":"); !ok {
				return Server{}, fmt.Errorf("kdc entry %q: junk after ']'", spec)
			}
		}
	default:
		// MIT's k5_parse_host_string: the host ends at the first blank or
		// colon; after a blank the rest ("# primary KDC") is ignored, after
		// a colon it is the port. krb5.conf has no trailing comments, so
		// "kdc = 10.0.0.1   # primary" reaches here whole.
		if i := strings.IndexAny(rest, " \t:"); i >= 0 && rest[i] != ':' {
			rest = rest[:i]
		}
		if strings.Count(rest, ":") == 1 {
			host, port, _ = strings.Cut(rest, ":")
		} else {
			host = rest
		}
	}
	if host == "" {
		return Server{}, fmt.Errorf("kdc entry %q: no host", spec)
	}
	if port != "" || strings.HasSuffix(rest, ":") {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return Server{}, fmt.Errorf("kdc entry %q: bad port %q", spec, port)
		}
		s.Port = n
	}
	s.Host = host
	return s, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// KDCs lists the KDCs of realm, in the order they are to be tried.
//
// The kdc lines of [realms] REALM in krb5.conf come first, in file order
// (gokrb5's parser has already added ":88" to entries without a colon, and
// stopped at a "*"-final entry). As in MIT krb5, DNS is the fallback when
// krb5.conf lists no KDC for the realm: SRV records _kerberos._udp.REALM then
// _kerberos._tcp.REALM, each set sorted by priority (lowest first) and then
// weight (highest first), as MIT does, rather than RFC 2782's weighted random
// pick, so the order is stable. DNS is consulted unless NoDNS is set
// (dns_lookup_kdc = false); when krb5.conf does list KDCs,
// dns_lookup_kdc = true does not add SRV results (MIT behaves the same way).
//
// An empty realm means the default_realm. If no KDC is found, the error
// wraps ErrNoKDC. A malformed kdc entry is an error, as in MIT. MS-KKDCP
// entries ("https://...") are skipped: this package does not speak it.
func (c *Client) KDCs(ctx context.Context, realm string) ([]Server, error) {
	realm = c.realm(realm)
	if realm == "" {
		return nil, errors.New("transport: no realm given and no default_realm")
	}
	var servers []Server
	skipped := 0
	for _, spec := range c.configuredKDCs(realm) {
		if _, ok := cutPrefixFold(strings.TrimSpace(spec), "https://"); ok {
			// MS-KKDCP proxies are not implemented; MIT would use them.
			c.tracef("Skipping MS-KKDCP KDC entry %s (not supported)", spec)
			skipped++
			continue
		}
		s, err := ParseServer(spec, DefaultPort)
		if err != nil {
			return nil, fmt.Errorf("transport: realm %s: %w", realm, err)
		}
		servers = append(servers, s)
	}
	if len(servers) > 0 {
		return servers, nil
	}
	if skipped > 0 {
		return nil, fmt.Errorf("transport: realm %s: %w: krb5.conf lists only MS-KKDCP (https) KDCs, which are not supported", realm, ErrNoKDC)
	}

	if c.NoDNS {
		return nil, fmt.Errorf("transport: realm %s: %w: no kdc in krb5.conf and dns_lookup_kdc is false", realm, ErrNoKDC)
	}
	var dnsErrs []string
	for _, t := range []Protocol{ProtocolUDP, ProtocolTCP} {
		srvs, err := c.lookupSRV(ctx, t.String(), realm)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("transport: looking up KDCs of %s: %w", realm, ctx.Err())
		}
		if err != nil {
			dnsErrs = append(dnsErrs, err.Error())
		}
		for _, r := range srvs {
			servers = append(servers, Server{Host: r.Target, Port: int(r.Port), Protocol: t})
		}
	}
	if len(servers) == 0 {
		detail := "no kdc in krb5.conf and no SRV record"
		if len(dnsErrs) > 0 {
			detail += " (" + strings.Join(dnsErrs, "; ") + ")"
		}
		return nil, fmt.Errorf("transport: realm %s: %w: %s", realm, ErrNoKDC, detail)
	}
	return servers, nil
}

// configuredKDCs returns the kdc lines of realm in krb5.conf.
func (c *Client) configuredKDCs(realm string) []string {
	if c.Config == nil {
		return nil
	}
	for _, r := range c.Config.Realms {
		if r.Realm == realm {
			return r.KDC
		}
	}
	return nil
}

// lookupSRV returns _kerberos._proto.realm's usable records in MIT's order.
// Records that come with an error (Go returns the valid ones alongside) are
// still used.
func (c *Client) lookupSRV(ctx context.Context, proto, realm string) ([]*net.SRV, error) {
	var res Resolver = net.DefaultResolver
	if c.Resolver != nil {
		res = c.Resolver
	}
	_, recs, err := res.LookupSRV(ctx, "kerberos", proto, realm)
	var out []*net.SRV
	for _, r := range recs {
		// A target of "." means "no such service here" (RFC 2782).
		if r == nil || r.Target == "." || r.Target == "" || r.Port == 0 {
			continue
		}
		cp := *r
		cp.Target = strings.TrimSuffix(cp.Target, ".")
		out = append(out, &cp)
	}
	slices.SortStableFunc(out, func(a, b *net.SRV) int {
		if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		return cmp.Compare(b.Weight, a.Weight)
	})
	return out, err
}

// resolve returns the addresses of s's host: the literal itself, or what
// the resolver finds, IPv4-mapped addresses unmapped.
func (c *Client) resolve(ctx context.Context, s Server) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(s.Host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	var hr hostResolver = net.DefaultResolver
	if r, ok := c.Resolver.(hostResolver); ok {
		hr = r
	}
	addrs, err := hr.LookupNetIP(ctx, "ip", s.Host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no address for %s", s.Host)
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs, nil
}
