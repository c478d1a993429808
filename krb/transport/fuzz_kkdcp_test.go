package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// FuzzDecodeProxyReply: whatever a KDC proxy answers, decoding gives either
// the Kerberos message its prefix declares or an ErrProxyReply, never a
// panic; and what decodes re-encodes to the same message.
func FuzzDecodeProxyReply(f *testing.F) {
	good, _ := marshalProxyMessage([]byte("reply"), "EXAMPLE.COM", nil)
	f.Add(good)
	hint := int64(-1)
	withHint, _ := marshalProxyMessage([]byte{0x7e, 0x00}, "", &hint)
	f.Add(withHint)
	f.Add([]byte{0x30, 0x06, 0xa0, 0x04, 0x04, 0x02, 0, 0})
	f.Add([]byte{0x30, 0x80, 0xa0, 0x80, 0x04, 0x00, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := decodeProxyReply(data)
		if err != nil {
			if msg != nil || !errors.Is(err, ErrProxyReply) {
				t.Fatalf("msg %d bytes, err %v", len(msg), err)
			}
			return
		}
		m, err := unmarshalProxyMessage(data)
		if err != nil {
			t.Fatal(err)
		}
		if binary.BigEndian.Uint32(m.KerbMessage) != uint32(len(msg)) || !bytes.Equal(m.KerbMessage[4:], msg) {
			t.Fatal("message does not match its prefix")
		}
		again, err := marshalProxyMessage(msg, m.TargetDomain, m.DCLocatorHint)
		if err != nil {
			t.Fatal(err)
		}
		if m.TargetDomain != "" && !bytes.Equal(again, data) {
			t.Fatalf("DER does not round-trip: %x vs %x", again, data)
		}
	})
}

// FuzzParseURIResponse: any DNS answer gives records or a *net.DNSError,
// never a panic; every record it returns parses back from its RDATA, and
// ParseKrb5srvURI gives either a usable server or ok == false.
func FuzzParseURIResponse(f *testing.F) {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, Response: true})
	b.StartQuestions()
	name := dnsmessage.MustNewName("_kerberos.EXAMPLE.COM.")
	b.Question(dnsmessage.Question{Name: name, Type: typeURI, Class: dnsmessage.ClassINET})
	b.StartAnswers()
	b.UnknownResource(dnsmessage.ResourceHeader{Name: name, Type: typeURI, Class: dnsmessage.ClassINET},
		dnsmessage.UnknownResource{Data: append([]byte{0, 1, 0, 2}, "krb5srv:m:kkdcp:https://p.example.com/KdcProxy"...)})
	msg, _ := b.Finish()
	f.Add(msg)
	f.Add([]byte{0, 7, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, _, err := parseURIResponse(data, 7)
		if err != nil && recs != nil && !strings.Contains(err.Error(), "malformed") {
			t.Fatalf("records with a non-parse error: %v", err)
		}
		for _, r := range recs {
			rd := binary.BigEndian.AppendUint16(nil, r.Priority)
			rd = binary.BigEndian.AppendUint16(rd, r.Weight)
			if back, ok := ParseURIData(append(rd, r.Target...)); !ok || back != r {
				t.Fatalf("record %+v does not round-trip", r)
			}
			checkKrb5srv(t, r.Target)
		}
	})
}

// FuzzParseKrb5srvURI: a parsed record names a host and a port in range.
func FuzzParseKrb5srvURI(f *testing.F) {
	for _, s := range []string{"krb5srv:m:udp:kdc.example.com", "krb5srv::tcp:[::1]:750", "krb5srv::kkdcp:https://p/KdcProxy", "krb5srv:::", "krb5srv::udp:1:2:3"} {
		f.Add(s)
	}
	f.Fuzz(checkKrb5srv)
}

func checkKrb5srv(t *testing.T, uri string) {
	s, ok := ParseKrb5srvURI(uri, DefaultPort)
	if !ok {
		if s != (Server{}) {
			t.Fatalf("not ok but %+v", s)
		}
		return
	}
	if s.Host == "" || s.Port < 1 || s.Port > 65535 || s.Protocol == ProtocolAny {
		t.Fatalf("%q parsed as %+v", uri, s)
	}
}
