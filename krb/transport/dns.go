package transport

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// typeURI is the URI resource record type (RFC 7553 §4).
const typeURI dnsmessage.Type = 256

// URI is a DNS URI resource record (RFC 7553): for Kerberos, a target such
// as "krb5srv:m:kkdcp:https://proxy.example.com/KdcProxy"
// (see ParseKrb5srvURI).
type URI struct {
	Priority uint16
	Weight   uint16
	Target   string
}

// URIResolver finds URI records. name is the owner name, e.g.
// "_kerberos.EXAMPLE.COM."; records come in the order DNS gave them. A name
// without records gives a *net.DNSError with IsNotFound set, or no records
// and no error.
type URIResolver interface {
	LookupURI(ctx context.Context, name string) ([]URI, error)
}

// DefaultDNSTimeout bounds one DNS query to one server.
const DefaultDNSTimeout = 5 * time.Second

// DNSResolver sends the transport's DNS queries to chosen name servers
// instead of the system's: URI records (RFC 7553) through its own small
// client (Go's net.Resolver cannot ask for them), SRV records and host
// addresses through a net.Resolver whose connections go to the first
// server. Set it as Client.Resolver. The system's resolver settings are
// never changed.
//
// The zero value (and a nil Servers) uses the name servers of
// /etc/resolv.conf for URI queries and net.DefaultResolver for the rest.
type DNSResolver struct {
	// Servers are "host:port" addresses of name servers, tried in order.
	Servers []string
	// Timeout bounds one query to one server (UDP, then TCP if the answer
	// was truncated); zero means DefaultDNSTimeout.
	Timeout time.Duration

	// dial, if set, opens the connection to a server (a *net.Resolver's
	// Dial); address is the server from Servers or resolv.conf.
	dial func(ctx context.Context, network, address string) (net.Conn, error)
	net  *net.Resolver
}

// NewDNSResolver returns a DNSResolver for the given name servers
// ("127.0.0.1:5353", "[::1]:53"; a bare address means port 53).
func NewDNSResolver(servers ...string) *DNSResolver {
	r := &DNSResolver{}
	for _, s := range servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			s = net.JoinHostPort(strings.Trim(s, "[]"), "53")
		}
		r.Servers = append(r.Servers, s)
	}
	if len(r.Servers) > 0 {
		first := r.Servers[0]
		r.net = &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, first)
			},
		}
	}
	return r
}

func (r *DNSResolver) resolver() *net.Resolver {
	if r.net != nil {
		return r.net
	}
	return net.DefaultResolver
}

// LookupSRV looks up _service._proto.name, as net.Resolver's LookupSRV.
func (r *DNSResolver) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	return r.resolver().LookupSRV(ctx, service, proto, name)
}

// LookupNetIP resolves a host name, as net.Resolver's LookupNetIP.
func (r *DNSResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return r.resolver().LookupNetIP(ctx, network, host)
}

// uriResolver returns what answers URI queries for the client: the
// Resolver itself if it is a URIResolver; a DNSResolver on the system's
// name servers for no Resolver or a *net.Resolver (through its Dial, if
// set); nothing for other Resolvers, which cannot be asked.
func (c *Client) uriResolver() (URIResolver, bool) {
	switch r := c.Resolver.(type) {
	case nil:
		return &DNSResolver{}, true
	case URIResolver:
		return r, true
	case *net.Resolver:
		return &DNSResolver{dial: r.Dial}, true
	}
	return nil, false
}

// LookupURI asks the servers in turn for the URI records of name (made
// absolute: the search list is never applied, as MIT's make_lookup_name).
// The first server that answers decides; a name error (NXDOMAIN) gives a
// *net.DNSError with IsNotFound.
func (r *DNSResolver) LookupURI(ctx context.Context, name string) ([]URI, error) {
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	servers := r.Servers
	if len(servers) == 0 {
		servers = systemNameservers("/etc/resolv.conf")
	}
	var errs []error
	for _, srv := range servers {
		recs, err := r.queryURI(ctx, srv, name)
		if err == nil {
			return recs, nil
		}
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound || ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, &net.DNSError{Err: errors.Join(errs...).Error(), Name: name, IsTemporary: true}
}

// queryURI asks one server, over UDP and then over TCP if the answer was
// truncated (RFC 1035 §4.2).
func (r *DNSResolver) queryURI(ctx context.Context, server, name string) ([]URI, error) {
	n, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: name}
	}
	var idb [2]byte
	rand.Read(idb[:])
	id := binary.BigEndian.Uint16(idb[:])
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(dnsmessage.Question{Name: n, Type: typeURI, Class: dnsmessage.ClassINET}); err != nil {
		return nil, err
	}
	query, err := b.Finish()
	if err != nil {
		return nil, err
	}
	qctx, cancel := context.WithTimeout(ctx, orDefault(r.Timeout, DefaultDNSTimeout))
	defer cancel()
	for _, network := range []string{"udp", "tcp"} {
		resp, err := r.exchange(qctx, network, server, id, query)
		if err != nil {
			return nil, &net.DNSError{Err: netReason(err).Error(), Name: name, Server: server, IsTimeout: errors.Is(err, os.ErrDeadlineExceeded)}
		}
		recs, truncated, err := parseURIResponse(resp, id)
		if err != nil {
			var dnsErr *net.DNSError
			if errors.As(err, &dnsErr) {
				dnsErr.Name, dnsErr.Server = name, server
			}
			return nil, err
		}
		if !truncated {
			return recs, nil
		}
	}
	return nil, &net.DNSError{Err: "truncated answer over TCP", Name: name, Server: server}
}

// exchange sends query to server and returns the answer with the same ID.
func (r *DNSResolver) exchange(ctx context.Context, network, server string, id uint16, query []byte) ([]byte, error) {
	dial := r.dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	conn, err := dial(ctx, network, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, ok := conn.(net.PacketConn); ok {
		if _, err := conn.Write(query); err != nil {
			return nil, err
		}
		buf := make([]byte, 65535)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return nil, err
			}
			if n >= 2 && binary.BigEndian.Uint16(buf) == id {
				return buf[:n], nil
			}
			// A stray or spoofed datagram: keep waiting for ours.
		}
	}
	msg := make([]byte, 2+len(query))
	binary.BigEndian.PutUint16(msg, uint16(len(query)))
	copy(msg[2:], query)
	if _, err := conn.Write(msg); err != nil {
		return nil, err
	}
	var lenb [2]byte
	if _, err := io.ReadFull(conn, lenb[:]); err != nil {
		return nil, err
	}
	resp := make([]byte, binary.BigEndian.Uint16(lenb[:]))
	if _, err := io.ReadFull(conn, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// parseURIResponse reads the URI records (class IN) of a DNS answer to
// query id. Other records (a CNAME on the way) are skipped; a malformed URI
// record is skipped as MIT's k5_make_uri_query does.
func parseURIResponse(msg []byte, id uint16) (recs []URI, truncated bool, err error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return nil, false, &net.DNSError{Err: "malformed DNS answer: " + err.Error()}
	}
	if h.ID != id || !h.Response {
		return nil, false, &net.DNSError{Err: "DNS answer does not match the query"}
	}
	if h.Truncated {
		return nil, true, nil
	}
	switch h.RCode {
	case dnsmessage.RCodeSuccess:
	case dnsmessage.RCodeNameError:
		return nil, false, &net.DNSError{Err: "no such host", IsNotFound: true}
	default:
		return nil, false, &net.DNSError{Err: "DNS server answered " + h.RCode.String(), IsTemporary: h.RCode == dnsmessage.RCodeServerFailure}
	}
	if err := p.SkipAllQuestions(); err != nil {
		return nil, false, &net.DNSError{Err: "malformed DNS answer: " + err.Error()}
	}
	for {
		rh, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			return recs, false, nil
		}
		if err != nil {
			return recs, false, &net.DNSError{Err: "malformed DNS answer: " + err.Error()}
		}
		if rh.Type != typeURI || rh.Class != dnsmessage.ClassINET {
			if err := p.SkipAnswer(); err != nil {
				return recs, false, &net.DNSError{Err: "malformed DNS answer: " + err.Error()}
			}
			continue
		}
		u, err := p.UnknownResource()
		if err != nil {
			return recs, false, &net.DNSError{Err: "malformed DNS answer: " + err.Error()}
		}
		if rec, ok := ParseURIData(u.Data); ok {
			recs = append(recs, rec)
		}
	}
}

// ParseURIData decodes the RDATA of a URI record (RFC 7553 §4.5): priority
// and weight (16 bits each, big-endian), then the target to the end. ok is
// false when the data is too short or the target is empty or holds a NUL.
func ParseURIData(data []byte) (u URI, ok bool) {
	if len(data) < 5 {
		return URI{}, false
	}
	target := string(data[4:])
	if strings.IndexByte(target, 0) >= 0 {
		return URI{}, false
	}
	return URI{
		Priority: binary.BigEndian.Uint16(data),
		Weight:   binary.BigEndian.Uint16(data[2:]),
		Target:   target,
	}, true
}

// systemNameservers reads the nameserver lines of a resolv.conf file, as
// "addr:53"; with none, the resolver library's default, the local host.
func systemNameservers(path string) []string {
	var out []string
	if f, err := os.Open(path); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 2 || fields[0] != "nameserver" {
				continue
			}
			addr, err := netip.ParseAddr(fields[1])
			if err != nil {
				continue
			}
			out = append(out, netip.AddrPortFrom(addr, 53).String())
		}
	}
	if len(out) == 0 {
		out = []string{"127.0.0.1:53", "[::1]:53"}
	}
	return out
}

// String describes the resolver for traces and errors.
func (r *DNSResolver) String() string {
	if len(r.Servers) == 0 {
		return "system resolver"
	}
	return fmt.Sprintf("DNS servers %s", strings.Join(r.Servers, ", "))
}
