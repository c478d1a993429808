package transport

import (
	"context"
	"encoding/binary"
	"net"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// fuzzResolver answers SRV and URI queries with fixed records.
type fuzzResolver struct {
	srv []*net.SRV
	uri []URI
}

func (r fuzzResolver) LookupSRV(context.Context, string, string, string) (string, []*net.SRV, error) {
	return "", r.srv, nil
}

func (r fuzzResolver) LookupURI(context.Context, string) ([]URI, error) { return r.uri, nil }

// uriAnswer builds a DNS answer with URI records, as a name server sends
// for _kerberos.REALM.
func uriAnswer(tb testing.TB, id uint16, targets ...string) []byte {
	tb.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: true, Authoritative: true})
	name := dnsmessage.MustNewName("_kerberos.R.TEST.")
	if err := b.StartQuestions(); err != nil {
		tb.Fatal(err)
	}
	if err := b.Question(dnsmessage.Question{Name: name, Type: typeURI, Class: dnsmessage.ClassINET}); err != nil {
		tb.Fatal(err)
	}
	if err := b.StartAnswers(); err != nil {
		tb.Fatal(err)
	}
	for i, t := range targets {
		data := binary.BigEndian.AppendUint16(nil, uint16(10*i))
		data = binary.BigEndian.AppendUint16(data, 1)
		data = append(data, t...)
		if err := b.UnknownResource(dnsmessage.ResourceHeader{Name: name, Type: typeURI, Class: dnsmessage.ClassINET, TTL: 60},
			dnsmessage.UnknownResource{Type: typeURI, Data: data}); err != nil {
			tb.Fatal(err)
		}
	}
	msg, err := b.Finish()
	if err != nil {
		tb.Fatal(err)
	}
	return msg
}

// srvData packs SRV records as the fuzz target reads them: priority,
// weight, port (16 bits each), target length (8 bits), target.
func srvData(recs ...net.SRV) []byte {
	var b []byte
	for _, r := range recs {
		b = binary.BigEndian.AppendUint16(b, r.Priority)
		b = binary.BigEndian.AppendUint16(b, r.Weight)
		b = binary.BigEndian.AppendUint16(b, r.Port)
		b = append(b, byte(len(r.Target)))
		b = append(b, r.Target...)
	}
	return b
}

func unpackSRV(b []byte) []*net.SRV {
	var out []*net.SRV
	for len(b) >= 7 {
		n := int(b[6])
		if len(b) < 7+n {
			break
		}
		out = append(out, &net.SRV{Priority: binary.BigEndian.Uint16(b), Weight: binary.BigEndian.Uint16(b[2:]),
			Port: binary.BigEndian.Uint16(b[4:]), Target: string(b[7 : 7+n])})
		b = b[7+n:]
	}
	return out
}

// FuzzKDCListFromDNS: a DNS answer to a URI query and a set of SRV
// records, as a hostile name server chooses them. Parsing the answer
// never panics; the KDC list built from the records holds only usable
// servers (a host, a port), and no more of them than records.
func FuzzKDCListFromDNS(f *testing.F) {
	f.Add(uriAnswer(f, 0x1234, "krb5srv:m:udp:kdc1.r.test:88", "krb5srv::tcp:[2001:db8::1]:8888", "krb5srv::kkdcp:https://proxy.r.test/KdcProxy"),
		srvData(net.SRV{Priority: 0, Weight: 5, Port: 88, Target: "kdc2.r.test."}, net.SRV{Target: ".", Port: 88}))
	f.Add(uriAnswer(f, 1, "krb5srv:x:", "mailto:x", "krb5srv:m:udp:[::1"), srvData(net.SRV{Port: 0, Target: "a."}))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, msg, srv []byte) {
		var id uint16
		if len(msg) >= 2 {
			id = binary.BigEndian.Uint16(msg)
		}
		uris, _, _ := parseURIResponse(msg, id)
		recs := unpackSRV(srv)
		c := &Client{Resolver: fuzzResolver{srv: recs, uri: uris}}
		servers, err := c.KDCs(context.Background(), "R.TEST")
		if err != nil {
			return
		}
		if len(servers) > len(uris)+2*len(recs) {
			t.Fatalf("%d servers from %d URI and %d SRV records", len(servers), len(uris), len(recs))
		}
		for _, s := range servers {
			if s.Host == "" {
				t.Fatalf("a server without a host: %+v", s)
			}
			if s.Port <= 0 || s.Port > 65535 {
				t.Fatalf("a server with port %d", s.Port)
			}
		}
	})
}
