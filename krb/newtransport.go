package krb

import "github.com/gokinit/gokinit/krb/transport"

// newTransport returns the transport that reads cfg as MIT does: kdc,
// kpasswd_server and admin_server lines ("https://" ones are MS-KKDCP
// proxies), http_anchors, dns_lookup_kdc (dns_fallback) and dns_uri_lookup.
func newTransport(cfg *Config, trace func(format string, args ...any)) *transport.Client {
	t := transport.New(cfg.Config)
	t.Profile = cfg
	t.Trace = trace
	t.NoDNS = !cfg.LibDefaults.DNSLookupKDC
	return t
}

// transportTrace is the trace a login gives its transport: nil without
// WithTrace, else the login's escaping trace (DNS names and proxy errors
// come from the network).
func (l *Login) transportTrace() func(string, ...any) {
	if l.o.trace == nil {
		return nil
	}
	return l.trace
}
