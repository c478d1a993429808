package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MS-KKDCP ([MS-KKDCP] §2.2.2):
//
//	KDC-PROXY-MESSAGE ::= SEQUENCE {
//		kerb-message   [0] OCTET STRING,
//		target-domain  [1] KerberosString OPTIONAL,
//		dclocator-hint [2] INTEGER OPTIONAL
//	}
//
// kerb-message is the Kerberos message with the 4-byte length prefix of
// RFC 4120 §7.2.2; the request names the realm in target-domain, as MIT's
// make_proxy_request does, and no dclocator-hint (MIT sends none either).
// The encoding is our own (a three-field DER SEQUENCE over cryptobyte):
// gokrb5 has no KKDCP type.

var (
	tagKerbMessage   = cbasn1.Tag(0).ContextSpecific().Constructed()
	tagTargetDomain  = cbasn1.Tag(1).ContextSpecific().Constructed()
	tagDCLocatorHint = cbasn1.Tag(2).ContextSpecific().Constructed()
	tagGeneralString = cbasn1.Tag(27)
)

// ErrProxyReply means a KDC proxy's answer was not a usable
// KDC-PROXY-MESSAGE: not HTTP 200, too large, not DER, or a kerb-message
// whose length prefix does not match.
var ErrProxyReply = errors.New("bad KDC proxy reply")

// maxProxyReply caps the HTTP body read from a proxy: a TCP reply's cap
// plus the KDC-PROXY-MESSAGE framing.
const maxProxyReply = MaxTCPReply + 64

// proxyMessage is a decoded KDC-PROXY-MESSAGE.
type proxyMessage struct {
	KerbMessage   []byte // with its 4-byte length prefix
	TargetDomain  string // "" when absent
	DCLocatorHint *int64
}

// marshalProxyMessage encodes a KDC-PROXY-MESSAGE carrying msg (without
// prefix; it is added here) for realm.
func marshalProxyMessage(msg []byte, realm string, hint *int64) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(tagKerbMessage, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
				b.AddUint32(uint32(len(msg)))
				b.AddBytes(msg)
			})
		})
		if realm != "" {
			b.AddASN1(tagTargetDomain, func(b *cryptobyte.Builder) {
				b.AddASN1(tagGeneralString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(realm)) })
			})
		}
		if hint != nil {
			b.AddASN1(tagDCLocatorHint, func(b *cryptobyte.Builder) { b.AddASN1Int64(*hint) })
		}
	})
	return b.Bytes()
}

// unmarshalProxyMessage decodes a DER KDC-PROXY-MESSAGE. Nothing may follow
// it.
func unmarshalProxyMessage(der []byte) (*proxyMessage, error) {
	in := cryptobyte.String(der)
	var seq, f cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, fmt.Errorf("%w: not a DER KDC-PROXY-MESSAGE", ErrProxyReply)
	}
	var m proxyMessage
	if !seq.ReadASN1(&f, tagKerbMessage) || !f.ReadASN1Bytes(&m.KerbMessage, cbasn1.OCTET_STRING) || !f.Empty() {
		return nil, fmt.Errorf("%w: no kerb-message", ErrProxyReply)
	}
	if seq.PeekASN1Tag(tagTargetDomain) {
		var s []byte
		if !seq.ReadASN1(&f, tagTargetDomain) || !f.ReadASN1Bytes(&s, tagGeneralString) || !f.Empty() {
			return nil, fmt.Errorf("%w: bad target-domain", ErrProxyReply)
		}
		m.TargetDomain = string(s)
	}
	if seq.PeekASN1Tag(tagDCLocatorHint) {
		var n int64
		if !seq.ReadASN1(&f, tagDCLocatorHint) || !f.ReadASN1Integer(&n) || !f.Empty() {
			return nil, fmt.Errorf("%w: bad dclocator-hint", ErrProxyReply)
		}
		m.DCLocatorHint = &n
	}
	if !seq.Empty() {
		return nil, fmt.Errorf("%w: unknown field in KDC-PROXY-MESSAGE", ErrProxyReply)
	}
	return &m, nil
}

// decodeProxyReply returns the Kerberos message a proxy's reply body
// carries, checking its length prefix as MIT's service_https_read does.
func decodeProxyReply(body []byte) ([]byte, error) {
	m, err := unmarshalProxyMessage(body)
	if err != nil {
		return nil, err
	}
	km := m.KerbMessage
	if len(km) < 4 || int64(binary.BigEndian.Uint32(km)) != int64(len(km)-4) {
		return nil, fmt.Errorf("%w: kerb-message length prefix does not match its %d bytes", ErrProxyReply, len(km))
	}
	return km[4:], nil
}

// httpsExchange sends x.req through the MS-KKDCP proxy of a to the KDC and
// returns the KDC's reply. The TLS connection goes to a.ap; the certificate
// must chain to the realm's http_anchors (the system roots without them)
// and name a.server.Host (verifyServerName). Connect, TLS handshake and
// the HTTP exchange are bounded together by TCPConnectTimeout +
// TCPReplyTimeout. A proxy is never asked over plain HTTP, and redirects
// are not followed.
func (x *exchange) httpsExchange(a *attempt) ([]byte, error) {
	name := traceAddr(ProtocolKKDCP, a.ap)
	hc, err := x.c.httpClient(x.realm)
	if err != nil {
		x.traceErr("HTTPS error connecting to %s: %v", name, err)
		return nil, err
	}
	body, err := marshalProxyMessage(x.req, x.realm, nil)
	if err != nil {
		return nil, err
	}
	limit := orDefault(x.c.TCPConnectTimeout, DefaultTCPConnectTimeout) + orDefault(x.c.TCPReplyTimeout, DefaultTCPReplyTimeout)
	ctx, cancel := context.WithTimeout(x.ctx, limit)
	defer cancel()
	// No "Initiating TCP connection" line: MIT traces that for TCP only.
	ctx = context.WithValue(ctx, dialAddrKey{}, dialTarget{ap: a.ap})
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				x.lateTrace("Sending HTTPS request to %s", name)
			}
		},
	})
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, a.server.URL(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	// MIT's headers (make_proxy_request).
	hreq.Header.Set("Content-Type", "application/kerberos")
	hreq.Header.Set("Cache-Control", "no-cache")
	hreq.Header.Set("Pragma", "no-cache")
	hreq.Header.Set("User-Agent", "kerberos/1.0")
	resp, err := hc.Do(hreq)
	if err != nil {
		err = httpReason(err)
		x.traceErr("HTTPS error sending to %s: %v", name, err)
		return nil, err
	}
	defer resp.Body.Close()
	defer x.lateTrace("Terminating TCP connection to %s", name)
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		err := fmt.Errorf("%w: HTTP status %q", ErrProxyReply, resp.Status)
		x.traceErr("HTTPS error: %v", err)
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxProxyReply+1))
	if err != nil {
		err = httpReason(err)
		x.traceErr("HTTPS error receiving from %s: %v", name, err)
		return nil, fmt.Errorf("receive: %w", err)
	}
	if len(data) > maxProxyReply {
		err := fmt.Errorf("%w: body over the %d-byte limit", ErrProxyReply, maxProxyReply)
		x.traceErr("HTTPS error: %v", err)
		return nil, err
	}
	reply, err := decodeProxyReply(data)
	if err != nil {
		x.traceErr("HTTPS error: %v", err)
		return nil, err
	}
	return reply, nil
}

// httpReason strips *url.Error's "Post \"URL\": " (the attempt's label
// names the proxy) and the dial's *net.OpError, keeping the cause.
func httpReason(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	return netReason(err)
}

type dialAddrKey struct{}

// dialTarget is the address an HTTPS attempt must connect to (the URL
// keeps the host name, for the Host header, SNI and the certificate check).
type dialTarget struct {
	ap netip.AddrPort
}

// httpClient returns the client for realm's proxies, made on first use:
// TLS verified against the realm's http_anchors, HTTP/2 when the proxy
// offers it, no HTTP proxy from the environment (MIT uses none), no
// redirects, no cookies.
func (c *Client) httpClient(realm string) (*http.Client, error) {
	c.httpMu.Lock()
	defer c.httpMu.Unlock()
	if hc, ok := c.httpClients[realm]; ok {
		return hc, nil
	}
	var anchors []string
	if c.Profile != nil {
		anchors = c.Profile.Values("realms", realm, "http_anchors")
	}
	roots, err := loadAnchors(anchors)
	if err != nil {
		return nil, err
	}
	connect := orDefault(c.TCPConnectTimeout, DefaultTCPConnectTimeout)
	reply := orDefault(c.TCPReplyTimeout, DefaultTCPReplyTimeout)
	tr := &http.Transport{
		Proxy: nil,
		// The TLS handshake is ours, so that the certificate is checked
		// against the host of the URL by MIT's rules (an IP address
		// included, which Go's client does not send as SNI).
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if t, ok := ctx.Value(dialAddrKey{}).(dialTarget); ok {
				addr = t.ap.String()
			}
			d := net.Dialer{Timeout: connect}
			raw, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(raw, &tls.Config{
				ServerName: host,
				MinVersion: tls.VersionTLS12,
				NextProtos: []string{"h2", "http/1.1"},
				// Chain and name are checked by verifyPeer instead.
				InsecureSkipVerify: true,
				VerifyConnection: func(cs tls.ConnectionState) error {
					return verifyPeer(cs, roots, host)
				},
			})
			// The dial may outlive the request that started it; the
			// deadline bounds a handshake nobody waits for any more.
			raw.SetDeadline(time.Now().Add(reply))
			if err := tc.HandshakeContext(ctx); err != nil {
				raw.Close()
				return nil, err
			}
			raw.SetDeadline(time.Time{})
			return tc, nil
		},
		ForceAttemptHTTP2:     true,
		ResponseHeaderTimeout: reply,
		IdleConnTimeout:       10 * time.Second,
		MaxIdleConnsPerHost:   2,
	}
	hc := &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is a non-200 answer
		},
	}
	if c.httpClients == nil {
		c.httpClients = make(map[string]*http.Client)
	}
	c.httpClients[realm] = hc
	return hc, nil
}

// CloseIdleConnections closes the idle HTTPS connections to KDC proxies
// that the client keeps for reuse (they close by themselves after 10 s).
func (c *Client) CloseIdleConnections() {
	c.httpMu.Lock()
	defer c.httpMu.Unlock()
	for _, hc := range c.httpClients {
		hc.CloseIdleConnections()
	}
}

// ErrAnchors means the realm's http_anchors could not be loaded.
var ErrAnchors = errors.New("cannot load http_anchors")

// loadAnchors reads http_anchors values as MIT's k5tls load_anchor:
// "FILE:path" (PEM certificates), "DIR:path" (every file of the directory
// not starting with '.', at least one of which must hold certificates),
// "ENV:NAME" (the variable's value is itself one of these forms). No
// values means the system roots (nil). Any value that fails makes the
// whole set fail, so that no connection is made with fewer anchors than
// configured.
func loadAnchors(values []string) (*x509.CertPool, error) {
	if len(values) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	for _, v := range values {
		if err := loadAnchor(pool, v, 0); err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrAnchors, v, err)
		}
	}
	return pool, nil
}

func loadAnchor(pool *x509.CertPool, loc string, depth int) error {
	switch {
	case strings.HasPrefix(loc, "FILE:"):
		return loadAnchorFile(pool, loc[5:])
	case strings.HasPrefix(loc, "DIR:"):
		entries, err := os.ReadDir(loc[4:])
		if err != nil {
			return err
		}
		found := false
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") && loadAnchorFile(pool, filepath.Join(loc[4:], e.Name())) == nil {
				found = true
			}
		}
		if !found {
			return errors.New("no certificate in the directory")
		}
		return nil
	case strings.HasPrefix(loc, "ENV:"):
		v, ok := os.LookupEnv(loc[4:])
		if !ok {
			return fmt.Errorf("environment variable %s is not set", loc[4:])
		}
		if depth > 4 {
			return errors.New("ENV: anchors nested too deep")
		}
		return loadAnchor(pool, v, depth+1)
	}
	return errors.New("not a FILE:, DIR: or ENV: anchor")
}

// loadAnchorFile adds the PEM certificates of path; a file with none is an
// error (MIT: ENOENT).
func loadAnchorFile(pool *x509.CertPool, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: no PEM certificate", path)
	}
	return nil
}

// verifyPeer checks the proxy's certificate: it must chain to roots (nil:
// the system roots) for TLS server authentication, and name host, the
// URL's host, by MIT's rules. A failure is a
// *tls.CertificateVerificationError.
func verifyPeer(cs tls.ConnectionState, roots *x509.CertPool, host string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("TLS server certificate not received")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err == nil && !certMatchesHost(leaf, host) {
		err = x509.HostnameError{Certificate: leaf, Host: host}
	}
	if err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	return nil
}

// certMatchesHost is k5tls's check_cert_name_or_ip: an IP address must be
// among the iPAddress subjectAltNames, or, when there are none, equal the
// subject's CN; a host name must match a dNSName subjectAltName (a "*"
// first label matches one label, in names of three or more labels), or,
// when there are none, the CN, case-insensitively for ASCII.
func certMatchesHost(cert *x509.Certificate, host string) bool {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if ip := net.ParseIP(host); ip != nil {
		for _, a := range cert.IPAddresses {
			if a.Equal(ip) {
				return true
			}
		}
		return len(cert.IPAddresses) == 0 && cert.Subject.CommonName == host
	}
	for _, n := range cert.DNSNames {
		if domainMatch(n, host) {
			return true
		}
	}
	return len(cert.DNSNames) == 0 && cert.Subject.CommonName != "" && domainMatch(cert.Subject.CommonName, host)
}

// domainMatch is k5tls's domain_match.
func domainMatch(presented, expected string) bool {
	p := strings.Split(presented, ".")
	e := strings.Split(expected, ".")
	if len(p) != len(e) {
		return false
	}
	for i := range p {
		if i == 0 && p[i] == "*" {
			if len(p) <= 2 {
				return false
			}
			continue
		}
		if !asciiEqualFold(p[i], e[i]) {
			return false
		}
	}
	return true
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}
