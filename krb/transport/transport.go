// Package transport sends a KDC request to the KDCs of a realm and returns
// the first reply, as MIT krb5 1.20's sendto_kdc does: KDCs from krb5.conf
// or DNS (URI records, then SRV records), UDP (RFC 4120 §7.2.1) or TCP
// (RFC 4120 §7.2.2) first according to udp_preference_limit, HTTPS through
// MS-KKDCP KDC proxies for "https://" entries, a bounded wait per KDC before
// the next one is also contacted, late answers from earlier KDCs still
// accepted, KRB_ERR_RESPONSE_TOO_BIG answered by resending over TCP and
// KDC_ERR_SVC_UNAVAILABLE by trying another KDC.
//
// HTTP, TLS and DNS messages come from the standard library and
// golang.org/x/net/dns/dnsmessage; what is our own is what MIT fidelity
// demands: the KDC-PROXY-MESSAGE encoding ([MS-KKDCP] §2.2.2), k5tls's
// certificate name rules and http_anchors forms, the krb5srv URI syntax, and
// the URI query (Go's resolver cannot ask for URI records).
//
// Nothing here decodes a reply beyond recognising those two KRB-ERRORs, and
// no request or reply byte ever reaches a trace line or an error.
package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
)

// Defaults for the Client's zero-valued durations.
const (
	// DefaultPerKDCWait is how long a KDC is given to answer before the next
	// one is contacted as well: MIT's 1 s per server per pass.
	DefaultPerKDCWait = time.Second
	// DefaultTCPConnectTimeout bounds one TCP connection attempt. Exchange
	// moves on to the next KDC after PerKDCWait anyway; this only stops a
	// dangling connect.
	DefaultTCPConnectTimeout = 10 * time.Second
	// DefaultTCPReplyTimeout bounds a TCP exchange once connected. As in
	// MIT, an established TCP connection is waited for (up to this long)
	// before the next KDC is contacted, since the KDC has evidently got the
	// request.
	DefaultTCPReplyTimeout = 10 * time.Second
	// DefaultTimeout bounds a whole Exchange. MIT's worst case with a few
	// silent KDCs is about 3 s per UDP server + 1 s per TCP server + 14 s.
	DefaultTimeout = 30 * time.Second

	// DefaultUDPPreferenceLimit is MIT's default udp_preference_limit;
	// hardUDPLimit is the largest value MIT honours.
	DefaultUDPPreferenceLimit = 1465
	hardUDPLimit              = 32700

	// maxPass is MIT's number of passes over the KDCs (UDP is resent on
	// each pass).
	maxPass = 3
)

// ErrKDCUnreachable means no KDC of the realm answered: all dead, silent,
// unresolvable, answering KDC_ERR_SVC_UNAVAILABLE or garbled frames, or the
// realm has no KDC at all. It never means the credentials are wrong; the
// caller may try later. Exchange returns it inside an *UnreachableError.
var ErrKDCUnreachable = errors.New("cannot contact any KDC")

// ErrNoKDC means the realm has no KDC in krb5.conf and none in DNS. It
// wraps ErrKDCUnreachable, so errors.Is(err, ErrKDCUnreachable) holds too.
var ErrNoKDC = fmt.Errorf("%w: no KDC known for the realm", ErrKDCUnreachable)

// ErrServiceUnavailable is the reason recorded for a KDC that answered
// KDC_ERR_SVC_UNAVAILABLE; errors.Is finds it in an *UnreachableError when
// every KDC that answered said so (MIT then reports that code).
var ErrServiceUnavailable = errors.New("KDC answered KDC_ERR_SVC_UNAVAILABLE")

// UnreachableError is Exchange's error when no KDC gave a usable reply. It
// matches ErrKDCUnreachable with errors.Is, and each per-KDC reason with
// errors.Is / errors.As (e.g. *ReplyTooLargeError, ErrServiceUnavailable).
type UnreachableError struct {
	Realm    string
	Attempts []AttemptError // in the order the KDCs were contacted
}

// AttemptError is what went wrong with one KDC address over one transport.
type AttemptError struct {
	KDC string // e.g. "udp 192.0.2.1:88", or the krb5.conf entry if it did not resolve
	Err error
}

func (e *UnreachableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "transport: %v for realm %s", ErrKDCUnreachable, e.Realm)
	for i, a := range e.Attempts {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s: %v", sep, a.KDC, a.Err)
	}
	return b.String()
}

// Unwrap returns ErrKDCUnreachable and every per-KDC reason.
func (e *UnreachableError) Unwrap() []error {
	errs := []error{ErrKDCUnreachable}
	for _, a := range e.Attempts {
		errs = append(errs, a.Err)
	}
	return errs
}

// Client sends KDC requests. Its fields must not change while it is in use;
// an Exchange may run concurrently with others.
type Client struct {
	// Config is krb5.conf: [realms] kdc lines, default_realm and
	// udp_preference_limit. nil is allowed (DNS only, MIT defaults).
	Config *config.Config

	// Profile, if set, is krb5.conf read as relations (*krb.Config): the
	// kdc, kpasswd_server and admin_server lines come from it rather than
	// from Config, and so do the settings Config has no field for:
	// [realms] http_anchors, [libdefaults] dns_lookup_kdc, dns_fallback and
	// dns_uri_lookup.
	Profile Profile

	// Resolver finds URI and SRV records (and, if it can, host
	// addresses); nil means the system's resolver. A *DNSResolver sends
	// every query to chosen name servers.
	Resolver Resolver
	// NoDNS turns the DNS fallback (URI and SRV records) off: krb5.conf's
	// "dns_lookup_kdc = false", for a Client without Profile, as gokrb5's
	// parsed config cannot tell it from an absent setting (MIT's default
	// is true).
	NoDNS bool

	// PerKDCWait is how long a KDC is given before the next one is
	// contacted too (UDP, a TCP connect still in progress, or an MS-KKDCP
	// proxy that has not answered). The waits at the end of the passes are
	// 2, 4 and 8 times it (MIT: 2 s, 4 s, 8 s). Zero means
	// DefaultPerKDCWait.
	PerKDCWait time.Duration
	// TCPConnectTimeout bounds a TCP connect; zero means
	// DefaultTCPConnectTimeout.
	TCPConnectTimeout time.Duration
	// TCPReplyTimeout bounds sending and reading once a TCP connection is
	// up; zero means DefaultTCPReplyTimeout. An MS-KKDCP exchange (connect,
	// TLS handshake, HTTP request and reply) is bounded by
	// TCPConnectTimeout + TCPReplyTimeout.
	TCPReplyTimeout time.Duration
	// Timeout bounds a whole Exchange (ctx can shorten it); zero means
	// DefaultTimeout.
	Timeout time.Duration

	// Trace, if set, receives lines like MIT's KRB5_TRACE ("Sending request
	// (193 bytes) to EXAMPLE.COM", "Sending initial UDP request to dgram
	// 192.0.2.1:88", "Received answer (612 bytes) from dgram 192.0.2.1:88",
	// "Terminating TCP connection to stream 192.0.2.1:88"): sizes,
	// addresses and realms, never payload. It may be called from several
	// goroutines at once, and never after Exchange has returned.
	Trace func(format string, args ...any)

	httpMu      sync.Mutex
	httpClients map[string]*http.Client // by realm: MS-KKDCP proxies
}

// New returns a Client for cfg with default timeouts.
func New(cfg *config.Config) *Client {
	return &Client{Config: cfg}
}

func (c *Client) tracef(format string, args ...any) {
	if c.Trace != nil {
		c.Trace(format, args...)
	}
}

func (c *Client) realm(realm string) string {
	if realm == "" && c.Config != nil {
		return c.Config.LibDefaults.DefaultRealm
	}
	return realm
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// udpPreferenceLimit reads udp_preference_limit as MIT does: negative means
// the default, and values above 32700 are lowered to it. gokrb5's own
// client treats 1 as "TCP only"; MIT, and so this package, treat it as a
// size: a request longer than 1 byte goes over TCP first, UDP still being
// tried if TCP fails. A Config not made by config.New has 0 here, which
// likewise means TCP first.
func (c *Client) udpPreferenceLimit() int {
	if c.Config == nil {
		return DefaultUDPPreferenceLimit
	}
	switch l := c.Config.LibDefaults.UDPPreferenceLimit; {
	case l < 0:
		return DefaultUDPPreferenceLimit
	case l > hardUDPLimit:
		return hardUDPLimit
	default:
		return l
	}
}

// Exchange sends req (an encoded KDC-REQ) to the KDCs of realm and returns
// the first reply (which may be a KRB-ERROR for the caller to read).
// tcpOnly forces TCP; the caller sets it after KRB_ERR_RESPONSE_TOO_BIG.
//
// The strategy is MIT's. A request no longer than udp_preference_limit goes
// to each KDC over UDP (RFC 4120 §7.2.1) first and TCP (RFC 4120 §7.2.2)
// after; a longer one the other way round. KDCs are contacted one at a time
// in KDCs order: each is given PerKDCWait to answer (an established TCP
// connection up to TCPReplyTimeout) before the next is contacted as well,
// and a KDC that fails outright (connection refused, ICMP unreachable, a
// bad frame) is passed over at once. Earlier KDCs stay in the race: the
// first usable reply from any of them wins. After the first pass, UDP
// requests still unanswered are resent twice more, with waits growing as in
// MIT, until Timeout or ctx ends the exchange.
//
// A KRB_ERR_RESPONSE_TOO_BIG over UDP makes Exchange resend to the same KDC
// over TCP; a KDC_ERR_SVC_UNAVAILABLE makes that KDC count as failed.
//
// An "https://" KDC is an MS-KKDCP proxy: the request goes, in its turn in
// krb5.conf order whatever the strategy (as MIT, which defers only plain
// entries), in a KDC-PROXY-MESSAGE over HTTPS to each address of the
// proxy's host. The proxy is given PerKDCWait, like a UDP KDC, before the
// next KDC is contacted as well: unlike a TCP connection to a KDC, a
// connection to a proxy does not tell that a KDC has the request (MIT waits
// for a connected proxy as for TCP). A certificate that does not chain to
// the realm's http_anchors or does not name the proxy's host, an HTTP
// status other than 200, or a body that is not a KDC-PROXY-MESSAGE makes
// the proxy count as failed; nothing is ever sent in the clear instead.
//
// When no KDC answers, the error is an *UnreachableError (errors.Is
// ErrKDCUnreachable) naming each KDC tried and why it failed. If ctx ends
// first, the error wraps ctx.Err().
func (c *Client) Exchange(ctx context.Context, realm string, req []byte, tcpOnly bool) ([]byte, error) {
	realm = c.realm(realm)
	if len(req) == 0 {
		return nil, errors.New("transport: empty request")
	}
	mode := ""
	if tcpOnly {
		mode = " (tcp only)"
	}
	c.tracef("Sending request (%d bytes) to %s%s", len(req), realm, mode)

	servers, err := c.KDCs(ctx, realm)
	if err != nil {
		return nil, err
	}
	return c.exchangeWith(ctx, realm, servers, req, tcpOnly)
}

// ExchangeWith sends req to the given servers with Exchange's strategy,
// for services that are not the realm's KDCs, such as the kpasswd servers
// of a password change (RFC 3244 uses the same UDP and TCP framing).
func (c *Client) ExchangeWith(ctx context.Context, realm string, servers []Server, req []byte, tcpOnly bool) ([]byte, error) {
	if len(req) == 0 {
		return nil, errors.New("transport: empty request")
	}
	if len(servers) == 0 {
		return nil, fmt.Errorf("transport: realm %s: %w: no server to send to", realm, ErrNoKDC)
	}
	c.tracef("Sending request (%d bytes) to %s", len(req), realm)
	return c.exchangeWith(ctx, realm, servers, req, tcpOnly)
}

func (c *Client) exchangeWith(ctx context.Context, realm string, servers []Server, req []byte, tcpOnly bool) ([]byte, error) {
	xctx, cancel := context.WithTimeout(ctx, orDefault(c.Timeout, DefaultTimeout))
	x := &exchange{
		c:      c,
		ctx:    xctx,
		realm:  realm,
		req:    req,
		wait:   orDefault(c.PerKDCWait, DefaultPerKDCWait),
		events: make(chan event),
	}
	x.run(servers, c.strategy(len(req), tcpOnly))
	cancel()
	x.wg.Wait() // no goroutine, and so no Trace call, outlives Exchange
	x.lateMu.Lock()
	x.over = true
	x.lateMu.Unlock()

	if x.reply != nil {
		c.tracef("Received answer (%d bytes) from %s", len(x.reply), x.winner)
		return x.reply, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("transport: exchange with realm %s: %w", realm, ctx.Err())
	}
	return nil, x.unreachable()
}

// strategy is MIT's k5_transport_strategy.
type strategy int

const (
	udpFirst strategy = iota // UDP, then TCP
	udpLast                  // TCP, then UDP
	noUDP                    // TCP only
)

func (c *Client) strategy(reqLen int, tcpOnly bool) strategy {
	switch {
	case tcpOnly:
		return noUDP
	case reqLen <= c.udpPreferenceLimit():
		return udpFirst
	default:
		return udpLast
	}
}

// attempt is one KDC address over one transport. Its fields belong to the
// goroutine running exchange.run; the goroutine serving the attempt only
// reads label, ap, proto and server, which never change.
type attempt struct {
	label    string         // "udp 192.0.2.1:88"
	ap       netip.AddrPort // unset if the entry did not resolve
	proto    Protocol       // ProtocolUDP, ProtocolTCP or ProtocolKKDCP
	server   Server         // the entry (for MS-KKDCP: the URL)
	udp      *net.UDPConn   // UDP only: kept for resending
	finished bool
	err      error
}

// MIT's trace names: "dgram" for UDP, "stream" for TCP, "https" for
// MS-KKDCP.
func traceAddr(proto Protocol, ap netip.AddrPort) string {
	switch proto {
	case ProtocolTCP:
		return "stream " + ap.String()
	case ProtocolKKDCP:
		return "https " + ap.String()
	}
	return "dgram " + ap.String()
}

// lateTrace traces from goroutines that net/http may keep running after
// Exchange has returned (a dial that outlives its request): it drops the
// line once the exchange is over, keeping Trace's promise.
func (x *exchange) lateTrace(format string, args ...any) {
	x.lateMu.Lock()
	defer x.lateMu.Unlock()
	if !x.over {
		x.c.tracef(format, args...)
	}
}

type eventKind int

const (
	evConnected eventKind = iota
	evReply
	evFailed
)

type event struct {
	a     *attempt
	kind  eventKind
	reply []byte
	err   error
	proto Protocol // the reply came over this
}

// exchange is the state of one Exchange call.
type exchange struct {
	c      *Client
	ctx    context.Context // ends at Timeout, ctx's end, or when run returns
	realm  string
	req    []byte
	wait   time.Duration
	events chan event
	wg     sync.WaitGroup

	attempts []*attempt // in contact order, for the error
	pending  int        // attempts started and not finished
	reply    []byte
	winner   string

	lateMu sync.Mutex
	over   bool // set when Exchange returns: see lateTrace
}

// run contacts the servers as MIT's k5_sendto does, until a reply is
// accepted, every attempt has failed, or x.ctx ends.
func (x *exchange) run(servers []Server, strat strategy) {
	// First pass: the preferred transport of each server in order,
	// resolving host names as they come; then the deferred ones.
	var deferred []*attempt
	for _, s := range servers {
		addrs, err := x.resolve(s)
		if x.ctx.Err() != nil {
			return
		}
		if err != nil {
			x.attempts = append(x.attempts, &attempt{label: s.String(), finished: true, err: err})
			continue
		}
		for _, addr := range addrs {
			ap := netip.AddrPortFrom(addr, uint16(s.Port))
			for _, a := range plan(s, ap, strat) {
				if a.deferred {
					deferred = append(deferred, a.attempt)
				} else if x.contact(a.attempt) {
					return
				}
			}
		}
	}
	for _, a := range deferred {
		if x.contact(a) {
			return
		}
	}
	if x.waitFor(2*x.wait, nil) {
		return
	}

	// Later passes: resend over UDP to each KDC still silent, 1 s apart,
	// then wait 4 s, then 8 s (for a 1 s PerKDCWait).
	delay := 4 * x.wait
	for pass := 1; pass < maxPass && x.pending > 0; pass++ {
		for _, a := range x.attempts {
			if a.finished || a.udp == nil {
				continue
			}
			x.c.tracef("Sending retry UDP request to %s", traceAddr(ProtocolUDP, a.ap))
			if _, err := a.udp.Write(x.req); err != nil {
				continue // the reader goroutine reports the socket's fate
			}
			if x.waitFor(x.wait, a) {
				return
			}
		}
		if x.waitFor(delay, nil) {
			return
		}
		delay *= 2
	}
}

func (x *exchange) resolve(s Server) ([]netip.Addr, error) {
	if _, err := netip.ParseAddr(s.Host); err != nil {
		x.c.tracef("Resolving hostname %s", s.Host)
	}
	addrs, err := x.c.resolve(x.ctx, s)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve: %w", netReason(err))
	}
	return addrs, nil
}

type planned struct {
	*attempt
	deferred bool
}

// plan returns the attempts for one address of s: the transport strategy
// prefers now, and the other one deferred to the end of the first pass
// (MIT's resolve_server).
func plan(s Server, ap netip.AddrPort, strat strategy) []planned {
	mk := func(tcp, deferred bool) planned {
		label, proto := "udp "+ap.String(), ProtocolUDP
		if tcp {
			label, proto = "tcp "+ap.String(), ProtocolTCP
		}
		return planned{&attempt{label: label, ap: ap, proto: proto, server: s}, deferred}
	}
	switch {
	case s.Protocol == ProtocolKKDCP:
		// Never deferred (MIT's resolve_server defers plain entries only).
		label := s.URL()
		if _, err := netip.ParseAddr(s.Host); err != nil {
			label += " at " + ap.String()
		}
		return []planned{{&attempt{label: label, ap: ap, proto: ProtocolKKDCP, server: s}, false}}
	case strat == noUDP && s.Protocol == ProtocolUDP:
		return nil
	case strat == noUDP:
		return []planned{mk(true, false)}
	case s.Protocol == ProtocolUDP:
		return []planned{mk(false, strat == udpLast)}
	case s.Protocol == ProtocolTCP:
		return []planned{mk(true, strat == udpFirst)}
	case strat == udpFirst:
		return []planned{mk(false, false), mk(true, true)}
	default:
		return []planned{mk(true, false), mk(false, true)}
	}
}

// contact starts a and waits for it as MIT does for one server. It returns
// true when the exchange is over.
func (x *exchange) contact(a *attempt) bool {
	x.attempts = append(x.attempts, a)
	if !x.start(a) {
		return false // failed at once: next KDC without waiting
	}
	return x.waitFor(x.wait, a)
}

// start sends the request (UDP) or begins connecting (TCP) in a goroutine.
// It reports false if a failed before anything was sent.
func (x *exchange) start(a *attempt) bool {
	if a.proto == ProtocolKKDCP {
		x.pending++
		x.wg.Add(1)
		go func() {
			defer x.wg.Done()
			reply, err := x.httpsExchange(a)
			x.finish(a, reply, ProtocolKKDCP, err)
		}()
		return true
	}
	if a.proto == ProtocolTCP {
		x.pending++
		x.wg.Add(1)
		go func() {
			defer x.wg.Done()
			reply, err := x.tcpExchange(a.ap, func() { x.send(event{a: a, kind: evConnected}) })
			x.finish(a, reply, ProtocolTCP, err)
		}()
		return true
	}

	x.c.tracef("Sending initial UDP request to %s", traceAddr(ProtocolUDP, a.ap))
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(a.ap))
	if err == nil {
		if _, err = conn.Write(x.req); err != nil {
			conn.Close()
		}
	}
	if err != nil {
		x.c.tracef("UDP error sending to %s: %v", traceAddr(ProtocolUDP, a.ap), netReason(err))
		a.finished, a.err = true, fmt.Errorf("send: %w", netReason(err))
		return false
	}
	a.udp = conn
	x.pending++
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		reply, overTCP, err := x.readUDP(a, conn)
		proto := ProtocolUDP
		if overTCP {
			proto = ProtocolTCP
		}
		x.finish(a, reply, proto, err)
	}()
	return true
}

// readUDP waits for the datagram answering a (the socket is connected, so
// an ICMP port unreachable shows up as a read error), and resends over TCP
// if the KDC says the reply is too big for UDP; overTCP reports that.
func (x *exchange) readUDP(a *attempt, conn *net.UDPConn) (reply []byte, overTCP bool, err error) {
	defer conn.Close()
	stop := context.AfterFunc(x.ctx, func() { conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, MaxUDPReply)
	n, err := conn.Read(buf)
	if err != nil {
		x.traceErr("UDP error receiving from %s: %v", traceAddr(ProtocolUDP, a.ap), netReason(err))
		return nil, false, fmt.Errorf("receive: %w", netReason(err))
	}
	reply = bytes.Clone(buf[:n]) // do not pin the 64 KiB buffer
	if code, ok := krbErrorCode(reply); !ok || code != codeResponseTooBig {
		return reply, false, nil
	}
	x.c.tracef("Received KRB_ERR_RESPONSE_TOO_BIG from %s; retrying over TCP", traceAddr(ProtocolUDP, a.ap))
	conn.Close()
	reply, err = x.tcpExchange(a.ap, func() { x.send(event{a: a, kind: evConnected}) })
	if err != nil {
		return nil, true, fmt.Errorf("TCP retry after KRB_ERR_RESPONSE_TOO_BIG: %w", err)
	}
	return reply, true, nil
}

// tcpExchange does one RFC 4120 §7.2.2 exchange with ap: connect (bounded
// by TCPConnectTimeout), then send the framed request and read the framed
// reply (bounded together by TCPReplyTimeout). connected is called once the
// connection is up.
func (x *exchange) tcpExchange(ap netip.AddrPort, connected func()) ([]byte, error) {
	name := traceAddr(ProtocolTCP, ap)
	x.c.tracef("Initiating TCP connection to %s", name)
	dctx, cancel := context.WithTimeout(x.ctx, orDefault(x.c.TCPConnectTimeout, DefaultTCPConnectTimeout))
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", ap.String())
	cancel()
	if err != nil {
		x.traceErr("TCP error connecting to %s: %v", name, netReason(err))
		return nil, fmt.Errorf("connect: %w", netReason(err))
	}
	defer func() {
		x.c.tracef("Terminating TCP connection to %s", name)
		conn.Close()
	}()
	connected()

	conn.SetDeadline(time.Now().Add(orDefault(x.c.TCPReplyTimeout, DefaultTCPReplyTimeout)))
	stop := context.AfterFunc(x.ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	x.c.tracef("Sending TCP request to %s", name)
	if err := writeTCPRequest(conn, x.req); err != nil {
		x.traceErr("TCP error sending to %s: %v", name, netReason(err))
		return nil, fmt.Errorf("send: %w", netReason(err))
	}
	reply, err := readTCPReply(plainErrConn{conn}, ap.String())
	if err != nil {
		x.traceErr("TCP error receiving from %s: %v", name, err)
		return nil, err
	}
	return reply, nil
}

// plainErrConn strips *net.OpError from read errors, so that an error reads
// "reading the length prefix: i/o timeout" rather than repeating addresses.
type plainErrConn struct{ net.Conn }

func (c plainErrConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	return n, netReason(err)
}

// traceErr traces a failure, unless it is only the exchange ending (a
// reply won, or ctx is done) cutting the attempt short.
func (x *exchange) traceErr(format string, args ...any) {
	if x.ctx.Err() == nil {
		x.c.tracef(format, args...)
	}
}

// finish reports the outcome of a's goroutine, turning replies that must not
// end the exchange into failures.
func (x *exchange) finish(a *attempt, reply []byte, proto Protocol, err error) {
	if err == nil && len(reply) == 0 {
		// Cannot be a Kerberos message; MIT would hand it to the caller.
		err = errors.New("empty reply")
	}
	if err == nil {
		if code, ok := krbErrorCode(reply); ok && code == codeSvcUnavailable {
			x.c.tracef("Received KDC_ERR_SVC_UNAVAILABLE from %s; trying another KDC", traceAddr(proto, a.ap))
			err = ErrServiceUnavailable
		}
	}
	if err != nil {
		x.send(event{a: a, kind: evFailed, err: err})
		return
	}
	x.send(event{a: a, kind: evReply, reply: reply, proto: proto})
}

// send delivers ev to run, or drops it once the exchange is over.
func (x *exchange) send(ev event) {
	select {
	case x.events <- ev:
	case <-x.ctx.Done():
	}
}

// waitFor handles events for up to d, as MIT's service_fds. It returns true
// when the exchange is over (a reply accepted, or x.ctx done), and false
// early when nothing is in flight or cur (if any) has failed. If cur is a
// TCP connection that comes up, the timer is dropped: cur's own deadline
// bounds the wait, as MIT waits for an established TCP connection.
func (x *exchange) waitFor(d time.Duration, cur *attempt) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	timeout := timer.C
	for x.pending > 0 && (cur == nil || !cur.finished) {
		select {
		case ev := <-x.events:
			if x.handle(ev) {
				return true
			}
			if ev.a == cur && ev.kind == evConnected {
				timeout = nil
			}
		case <-timeout:
			return false
		case <-x.ctx.Done():
			return true
		}
	}
	return false
}

// handle records ev; it returns true if ev is the winning reply.
func (x *exchange) handle(ev event) bool {
	switch ev.kind {
	case evConnected:
		return false // only waitFor cares
	case evReply:
		x.pending--
		ev.a.finished = true
		x.reply, x.winner = ev.reply, traceAddr(ev.proto, ev.a.ap)
		return true
	default:
		x.pending--
		ev.a.finished, ev.a.err = true, ev.err
		return false
	}
}

// unreachable builds the error for an exchange no KDC answered.
func (x *exchange) unreachable() error {
	e := &UnreachableError{Realm: x.realm}
	for _, a := range x.attempts {
		err := a.err
		if !a.finished {
			err = errors.New("no answer (timed out)")
		}
		e.Attempts = append(e.Attempts, AttemptError{KDC: a.label, Err: err})
	}
	if len(e.Attempts) == 0 {
		e.Attempts = append(e.Attempts, AttemptError{KDC: "(none)", Err: errors.New("no KDC usable with this transport")})
	}
	return e
}

// netReason strips the *net.OpError ("read udp a->b: ...") and
// *os.SyscallError ("read: ...") wrappers, whose addresses and operation the
// caller already states, keeping the cause (an errno, a timeout) for
// errors.Is.
func netReason(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	var sys *os.SyscallError
	if errors.As(err, &sys) && sys.Err != nil {
		err = sys.Err
	}
	return err
}
