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

	"github.com/gokinit/gokinit/internal/safetext"
)

// Default ports: the Kerberos KDC port (RFC 4120 §7.2.1, §7.2.2), used
// when a kdc entry names no port; the kpasswd port (RFC 3244), for
// kpasswd_server entries and for admin_server hosts; and HTTPS, for MS-KKDCP
// proxies.
const (
	DefaultPort        = 88
	DefaultKpasswdPort = 464
	DefaultHTTPSPort   = 443
)

// Protocol is the protocol a KDC entry may be contacted over.
type Protocol int

const (
	// ProtocolAny: UDP and TCP, in the order udp_preference_limit picks.
	ProtocolAny Protocol = iota
	// ProtocolUDP: UDP only ("udp/" prefix in krb5.conf, a _kerberos._udp
	// SRV record, or a krb5srv URI record with the udp transport).
	ProtocolUDP
	// ProtocolTCP: TCP only ("tcp/" prefix, a _kerberos._tcp SRV record, or
	// a krb5srv URI with tcp).
	ProtocolTCP
	// ProtocolKKDCP: HTTPS through an MS-KKDCP KDC proxy ("https://" entry
	// in krb5.conf, or a krb5srv URI with kkdcp).
	ProtocolKKDCP
)

func (t Protocol) String() string {
	switch t {
	case ProtocolUDP:
		return "udp"
	case ProtocolTCP:
		return "tcp"
	case ProtocolKKDCP:
		return "kkdcp"
	default:
		return "any"
	}
}

// Server is one KDC entry of a realm, before its host name is resolved.
type Server struct {
	Host     string // host name or IP literal, without brackets
	Port     int
	Protocol Protocol
	// Path is the URL path of an MS-KKDCP proxy, without its leading '/'
	// (MIT's uri_path): "KdcProxy" for https://host/KdcProxy.
	Path string
	// Primary is set for a URI record with the "m" flag (the realm's
	// primary KDC, MIT's server_entry.primary); it does not change the order.
	Primary bool
}

// Address returns host:port, with brackets around an IPv6 literal.
func (s Server) Address() string {
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// URL returns the proxy URL of an MS-KKDCP entry,
// "https://host:port/path", as MIT sends it (the port always given).
func (s Server) URL() string {
	return "https://" + s.Address() + "/" + s.Path
}

// String returns the entry in krb5.conf syntax, e.g. "tcp/kdc.example.com:88"
// or "https://proxy.example.com:443/KdcProxy".
func (s Server) String() string {
	switch s.Protocol {
	case ProtocolAny:
		return s.Address()
	case ProtocolKKDCP:
		return s.URL()
	}
	return s.Protocol.String() + "/" + s.Address()
}

// Resolver finds KDCs in DNS. *net.Resolver satisfies it. If the value also
// has a LookupNetIP method with *net.Resolver's signature, it resolves KDC
// host names too; otherwise net.DefaultResolver does. URI records (RFC 7553)
// are looked up when the value is a URIResolver (as *DNSResolver is) or a
// *net.Resolver, whose Dial, if set, carries the query; with any other
// Resolver there is no URI lookup.
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
//
// An entry starting with "https://" (MIT's parse_uri_if_https, case
// sensitive) is an MS-KKDCP proxy: host[:port] up to the first '/', port 443
// by default, and the rest is the URL path.
func ParseServer(spec string, defaultPort int) (Server, error) {
	if rest, ok := strings.CutPrefix(strings.TrimSpace(spec), "https://"); ok {
		hostport, path, _ := strings.Cut(rest, "/")
		s, err := parseHostPort(spec, hostport, DefaultHTTPSPort)
		if err != nil {
			return Server{}, err
		}
		s.Protocol, s.Path = ProtocolKKDCP, path
		return s, nil
	}
	rest := strings.TrimSpace(spec)
	proto := ProtocolAny
	if p, ok := cutPrefixFold(rest, "tcp/"); ok {
		proto, rest = ProtocolTCP, p
	} else if p, ok := cutPrefixFold(rest, "udp/"); ok {
		proto, rest = ProtocolUDP, p
	}
	s, err := parseHostPort(spec, rest, defaultPort)
	s.Protocol = proto
	return s, err
}

// parseHostPort parses host, host:port, [IPv6] or [IPv6]:port; spec labels
// errors.
func parseHostPort(spec, rest string, defaultPort int) (Server, error) {
	if isDigits(rest) {
		// MIT's k5_parse_host_string takes a number alone for a port.
		return Server{}, fmt.Errorf("kdc entry %q: no host", spec)
	}
	s := Server{Port: defaultPort}
	host, port := rest, ""
	switch {
	case strings.HasPrefix(rest, "[") && strings.IndexByte(rest, ']') >= 0:
		end := strings.IndexByte(rest, ']')
		// As MIT: a ':' after the ']' starts the port; anything else
		// after it ("[::1] # v6") is ignored.
		host, port = rest[1:end], ""
		after := rest[end+1:]
		rest = ""
		if strings.HasPrefix(after, ":") {
			port = after[1:]
			rest = after
		}
	default:
		// MIT's k5_parse_host_string: the host ends at the first blank or
		// colon; after a blank the rest ("# primary KDC") is ignored, after
		// a colon it is the port. krb5.conf has no trailing comments, so
		// "kdc = 10.0.0.1   # primary" reaches here whole.
		if i := strings.IndexAny(rest, " \t:"); i >= 0 && rest[i] != ':' {
			rest = rest[:i]
		}
		if strings.Count(rest, ":") == 1 || strings.HasPrefix(rest, "[") {
			// "[" without "]" is part of a host name, as in MIT.
			host, port, _ = strings.Cut(rest, ":")
		} else {
			host = rest
		}
	}
	if strings.HasPrefix(host, "[") && port != "" {
		if _, err := strconv.Atoi(port); err != nil {
			return Server{}, fmt.Errorf("kdc entry %q: missing ']'", spec)
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

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// Profile gives krb5.conf relations by path, as *krb.Config's Values does
// ("realms", REALM, "http_anchors"), in file order. The transport reads the
// relations gokrb5's typed Config does not carry through it.
type Profile interface {
	Values(path ...string) []string
}

// service is what locate looks for: MIT's locate_service_type.
type service struct {
	what     string // for errors: "KDC", "kpasswd server", "admin server"
	relation string // [realms] relation: kdc, kpasswd_server, admin_server
	dns      string // URI and SRV owner label: _kerberos, _kpasswd, _kerberos-adm
	port     int    // default port of plain entries and URI records
	tcpOnly  bool   // plain entries are TCP, only tcp URI and _tcp SRV records
}

var (
	serviceKDC     = service{"KDC", "kdc", "_kerberos", DefaultPort, false}
	serviceKpasswd = service{"kpasswd server", "kpasswd_server", "_kpasswd", DefaultKpasswdPort, false}
	serviceKadmin  = service{"admin server", "admin_server", "_kerberos-adm", 749, true}
)

// KDCs lists the KDCs of realm, in the order they are to be tried, as
// MIT krb5 1.20's k5_locate_kdc does.
//
// The kdc lines of [realms] REALM in krb5.conf come first, in file order,
// "https://" entries (MS-KKDCP proxies) among them. DNS is the fallback when
// krb5.conf lists no KDC for the realm, unless NoDNS is set or the Profile
// says dns_lookup_kdc = false (or, with dns_lookup_kdc unset,
// dns_fallback = false): first the URI records of _kerberos.REALM
// (RFC 7553, MIT's "krb5srv:FLAGS:udp|tcp|kkdcp:ADDRESS" form), unless
// dns_uri_lookup = false, in priority order (lowest first; records of equal
// priority in the order DNS gave them, the weight unused, as MIT's
// place_srv_entry); then, if no usable URI record was found, the SRV records
// _kerberos._udp.REALM followed by _kerberos._tcp.REALM, each set by priority
// and then weight (highest first), so the order is stable. When krb5.conf
// does list KDCs, DNS is not consulted (MIT behaves the same way).
//
// An empty realm means the default_realm. If no KDC is found, the error
// wraps ErrNoKDC. A malformed kdc entry is an error, as in MIT; a malformed
// URI record is skipped, as in MIT.
func (c *Client) KDCs(ctx context.Context, realm string) ([]Server, error) {
	realm = c.realm(realm)
	if realm == "" {
		return nil, errors.New("transport: no realm given and no default_realm")
	}
	return c.locate(ctx, realm, serviceKDC)
}

// KpasswdServers lists the kpasswd (RFC 3244) servers of realm as MIT's
// locate_kpasswd does: the kpasswd_server lines (port 464 by default,
// "https://" for an MS-KKDCP proxy), else _kpasswd.REALM URI records, else
// _kpasswd._udp and _kpasswd._tcp SRV records; failing all of those, the
// admin_server lines (else _kerberos-adm URI records with the tcp
// transport, else _kerberos-adm._tcp SRV records), each on port 464 over
// UDP and TCP. DNS is consulted as for KDCs. The error wraps ErrNoKDC when
// nothing is found.
func (c *Client) KpasswdServers(ctx context.Context, realm string) ([]Server, error) {
	realm = c.realm(realm)
	if realm == "" {
		return nil, errors.New("transport: no realm given and no default_realm")
	}
	servers, err := c.locate(ctx, realm, serviceKpasswd)
	if !errors.Is(err, ErrNoKDC) {
		return servers, err
	}
	admin, aerr := c.locate(ctx, realm, serviceKadmin)
	if aerr != nil {
		if errors.Is(aerr, ErrNoKDC) {
			return nil, err // report the kpasswd lookup
		}
		return nil, aerr
	}
	for i := range admin {
		if admin[i].Protocol == ProtocolTCP {
			admin[i].Protocol = ProtocolAny
		}
		admin[i].Port = DefaultKpasswdPort
	}
	return admin, nil
}

// ExchangeKpasswd sends req, an RFC 3244 request (which over TCP and
// MS-KKDCP takes the same 4-byte length prefix as a KDC request), to the
// kpasswd servers of realm (KpasswdServers) with Exchange's strategy, and
// returns the first reply. Errors are as Exchange's.
func (c *Client) ExchangeKpasswd(ctx context.Context, realm string, req []byte) ([]byte, error) {
	realm = c.realm(realm)
	if len(req) == 0 {
		return nil, errors.New("transport: empty request")
	}
	servers, err := c.KpasswdServers(ctx, realm)
	if err != nil {
		return nil, err
	}
	c.tracef("Sending request (%d bytes) to %s", len(req), realm)
	return c.exchangeWith(ctx, realm, servers, req, false)
}

// locate is MIT's locate_server without plugins: the profile, then DNS URI
// records, then DNS SRV records.
func (c *Client) locate(ctx context.Context, realm string, svc service) ([]Server, error) {
	var servers []Server
	for _, spec := range c.configured(realm, svc.relation) {
		s, err := ParseServer(spec, svc.port)
		if err != nil {
			return nil, fmt.Errorf("transport: realm %s: %w", realm, err)
		}
		if svc.tcpOnly && s.Protocol == ProtocolAny {
			s.Protocol = ProtocolTCP
		}
		servers = append(servers, s)
	}
	if len(servers) > 0 {
		return servers, nil
	}

	if !c.useDNS() {
		return nil, fmt.Errorf("transport: realm %s: %w: no %s in krb5.conf and dns_lookup_kdc is false", realm, ErrNoKDC, svc.relation)
	}
	var dnsErrs []string
	if c.useURI() {
		servers, err := c.locateURI(ctx, realm, svc)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("transport: looking up %ss of %s: %w", svc.what, realm, ctx.Err())
		}
		if err != nil {
			dnsErrs = append(dnsErrs, err.Error())
		}
		if len(servers) > 0 {
			return servers, nil
		}
	}
	for _, t := range []Protocol{ProtocolUDP, ProtocolTCP} {
		if svc.tcpOnly && t == ProtocolUDP {
			continue
		}
		srvs, err := c.lookupSRV(ctx, svc.dns, t.String(), realm)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("transport: looking up %ss of %s: %w", svc.what, realm, ctx.Err())
		}
		if err != nil {
			dnsErrs = append(dnsErrs, err.Error())
		}
		for _, r := range srvs {
			servers = append(servers, Server{Host: r.Target, Port: int(r.Port), Protocol: t})
		}
	}
	if len(servers) == 0 {
		c.tracef("No SRV records found")
		detail := "no " + svc.relation + " in krb5.conf and no SRV record"
		if len(dnsErrs) > 0 {
			detail += " (" + strings.Join(dnsErrs, "; ") + ")"
		}
		return nil, fmt.Errorf("transport: realm %s: %w: %s", realm, ErrNoKDC, detail)
	}
	return servers, nil
}

// configured returns the values of [realms] REALM relation: from Profile
// when set, else from gokrb5's typed Config (kdc, kpasswd_server,
// admin_server).
func (c *Client) configured(realm, relation string) []string {
	if c.Profile != nil {
		return c.Profile.Values("realms", realm, relation)
	}
	if c.Config == nil {
		return nil
	}
	for _, r := range c.Config.Realms {
		if r.Realm != realm {
			continue
		}
		switch relation {
		case "kdc":
			return r.KDC
		case "kpasswd_server":
			return r.KPasswdServer
		case "admin_server":
			return r.AdminServer
		}
	}
	return nil
}

// useDNS is MIT's _krb5_use_dns_kdc: dns_lookup_kdc, or dns_fallback when
// it is unset, true by default; NoDNS overrides.
func (c *Client) useDNS() bool {
	if c.NoDNS {
		return false
	}
	if c.Profile == nil {
		return true
	}
	for _, name := range []string{"dns_lookup_kdc", "dns_fallback"} {
		if v := c.Profile.Values("libdefaults", name); len(v) > 0 {
			return profileBool(v[0], true)
		}
	}
	return true
}

// useURI is MIT's use_dns_uri: dns_uri_lookup, true by default.
func (c *Client) useURI() bool {
	if c.Profile == nil {
		return true
	}
	if v := c.Profile.Values("libdefaults", "dns_uri_lookup"); len(v) > 0 {
		return profileBool(v[0], true)
	}
	return true
}

// profileBool reads a profile boolean as MIT's profile_parse_boolean, or
// def if v is not one.
func profileBool(v string, def bool) bool {
	switch strings.ToLower(v) {
	case "y", "yes", "true", "t", "1", "on":
		return true
	case "n", "no", "false", "nil", "0", "off":
		return false
	}
	return def
}

// locateURI is MIT's locate_uri: the usable krb5srv URI records of
// svc.dns.REALM in priority order.
func (c *Client) locateURI(ctx context.Context, realm string, svc service) ([]Server, error) {
	name := svc.dns + "." + realm + "."
	res, ok := c.uriResolver()
	if !ok {
		return nil, nil
	}
	c.tracef("Sending DNS URI query for %s", name)
	recs, err := untilDone(ctx, func() ([]URI, error) { return res.LookupURI(ctx, name) })
	for _, r := range recs {
		c.tracef("URI answer: %d %d \"%s\"", r.Priority, r.Weight, safetext.String(r.Target))
	}
	slices.SortStableFunc(recs, func(a, b URI) int { return cmp.Compare(a.Priority, b.Priority) })
	var servers []Server
	for _, r := range recs {
		s, ok := ParseKrb5srvURI(r.Target, svc.port)
		if !ok || svc.tcpOnly && s.Protocol != ProtocolTCP {
			continue
		}
		servers = append(servers, s)
	}
	if len(servers) == 0 {
		c.tracef("No URI records found")
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		err = nil // no record is no error
	}
	return servers, err
}

// ParseKrb5srvURI reads the target of a Kerberos URI record as MIT's
// parse_uri_fields and locate_uri do: "krb5srv:FLAGS:TRANSPORT:ADDRESS",
// the scheme and transport in any case; FLAGS may contain "m" (or "M")
// for the primary KDC, other flags are ignored; TRANSPORT is udp, tcp or
// kkdcp; ADDRESS is host[:port] ([IPv6][:port]) with defaultPort, or for
// kkdcp an https:// URL (port 443 by default). ok is false for a record
// that is not usable, which MIT skips.
func ParseKrb5srvURI(uri string, defaultPort int) (s Server, ok bool) {
	rest, found := cutPrefixFold(uri, "krb5srv:")
	if !found || rest == "" {
		return Server{}, false
	}
	flags, rest, found := strings.Cut(rest, ":")
	if !found {
		return Server{}, false
	}
	primary := strings.ContainsAny(flags, "mM")
	var proto Protocol
	switch {
	case hasPrefixFold(rest, "udp:"):
		proto, rest = ProtocolUDP, rest[4:]
	case hasPrefixFold(rest, "tcp:"):
		proto, rest = ProtocolTCP, rest[4:]
	case hasPrefixFold(rest, "kkdcp:"):
		proto, rest = ProtocolKKDCP, rest[6:]
	default:
		return Server{}, false
	}
	if i := strings.IndexAny(rest, " \t"); i >= 0 && proto != ProtocolKKDCP && !strings.HasPrefix(rest, "[") && !strings.Contains(rest[:i], ":") {
		rest = rest[:i] // MIT's k5_parse_host_string ends the host at a blank
	}
	var err error
	if proto == ProtocolKKDCP {
		if !strings.HasPrefix(rest, "https://") {
			return Server{}, false
		}
		s, err = ParseServer(rest, DefaultHTTPSPort)
	} else {
		s, err = parseHostPort(rest, rest, defaultPort)
		s.Protocol = proto
	}
	if err != nil || strings.ContainsFunc(s.Host, badNameRune) || strings.ContainsRune(s.Host, '/') || strings.ContainsFunc(s.Path, badNameRune) {
		return Server{}, false
	}
	s.Primary = primary
	return s, true
}

// badNameRune: blanks and control characters, which no host name or URL
// path from DNS may hold (they would reach traces and errors).
func badNameRune(r rune) bool { return r <= ' ' || r == 0x7f }

func hasPrefixFold(s, prefix string) bool {
	_, ok := cutPrefixFold(s, prefix)
	return ok
}

// lookupSRV returns _service._proto.realm's usable records in priority
// order, then weight (highest first). Records that come with an error (Go
// returns the valid ones alongside) are still used.
func (c *Client) lookupSRV(ctx context.Context, service, proto, realm string) ([]*net.SRV, error) {
	var res Resolver = net.DefaultResolver
	if c.Resolver != nil {
		res = c.Resolver
	}
	c.tracef("Sending DNS SRV query for %s._%s.%s.", service, proto, realm)
	recs, err := untilDone(ctx, func() ([]*net.SRV, error) {
		_, recs, err := res.LookupSRV(ctx, strings.TrimPrefix(service, "_"), proto, realm)
		return recs, err
	})
	var out []*net.SRV
	for _, r := range recs {
		// A target of "." means "no such service here" (RFC 2782).
		if r == nil || r.Target == "." || r.Target == "" || r.Port == 0 {
			continue
		}
		c.tracef("SRV answer: %d %d %d \"%s\"", r.Priority, r.Weight, r.Port, safetext.String(r.Target))
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
	addrs, err := untilDone(ctx, func() ([]netip.Addr, error) { return hr.LookupNetIP(ctx, "ip", s.Host) })
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

// untilDone runs a DNS lookup and returns its result, or ctx's error as
// soon as ctx ends. Go's resolver honours a context's deadline but not its
// cancellation while it waits for a silent DNS server (it sets the
// socket's deadline from ctx once), so a cancelled login would wait for
// the resolver's own timeout; the lookup is left to finish in the
// background, bounded by that timeout.
func untilDone[T any](ctx context.Context, lookup func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := lookup()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
