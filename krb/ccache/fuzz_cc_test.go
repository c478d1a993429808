package ccache

import (
	"encoding/binary"
	"errors"
	"testing"
)

// kcmSeeds are KCM reply bodies as sssd-kcm sends them: a status, then a
// name, a UUID list or a credential list.
func kcmSeeds(t testing.TB) [][]byte {
	c := principalCache(t, "alice")
	list := binary.BigEndian.AppendUint32(nil, 0) // status
	list = binary.BigEndian.AppendUint32(list, uint32(len(c.Credentials)))
	for i := range c.Credentials {
		b, err := MarshalCredential(&c.Credentials[i])
		noErr(t, err)
		list = binary.BigEndian.AppendUint32(list, uint32(len(b)))
		list = append(list, b...)
	}
	return [][]byte{
		list,
		append(binary.BigEndian.AppendUint32(nil, 0), "0:65310\x00"...),
		append(binary.BigEndian.AppendUint32(nil, 0), make([]byte, 32)...),
		binary.BigEndian.AppendUint32(nil, 0x96c73ac3), // KRB5_FCC_NOFILE
		{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
		{},
	}
}

// FuzzKCMReply feeds a KCM reply body to every decoder of KCM results:
// none may panic, each fails with ErrKCMReply or a *KCMError, and a
// credential list it accepts re-encodes to credentials that parse the same.
func FuzzKCMReply(f *testing.F) {
	for _, s := range kcmSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rest, err := parseKCMReply(kcmOpGetCredList, body)
		if err != nil {
			var ke *KCMError
			if !errors.Is(err, ErrKCMReply) && !errors.As(err, &ke) && !errors.Is(err, errKCMUnsupported) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if _, err := parseKCMName(rest); err != nil && !errors.Is(err, ErrKCMReply) {
			t.Fatalf("name: untyped error: %v", err)
		}
		if u, err := parseKCMUUIDs(rest); err == nil {
			if len(u)*kcmUUIDLen != len(rest) {
				t.Fatalf("%d UUIDs from %d bytes", len(u), len(rest))
			}
		} else if !errors.Is(err, ErrKCMReply) {
			t.Fatalf("UUIDs: untyped error: %v", err)
		}
		creds, err := parseKCMCredList(rest)
		if err != nil {
			if !errors.Is(err, ErrKCMReply) {
				t.Fatalf("credential list: untyped error: %v", err)
			}
			return
		}
		for i := range creds {
			b, err := MarshalCredential(&creds[i])
			noErr(t, err, "re-encoding a parsed credential")
			again, err := ParseCredential(b)
			noErr(t, err)
			eq(t, again, creds[i])
		}
		if _, err := ParsePrincipal(rest); err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("principal: untyped error: %v", err)
		}
	})
}

// FuzzKeyringPayload feeds a key's payload to the keyring decoders: the
// collection's primary key, the principal key and a credential key.
func FuzzKeyringPayload(f *testing.F) {
	c := principalCache(f, "alice")
	p, err := MarshalPrincipal(c.DefaultPrincipal)
	noErr(f, err)
	cr, err := MarshalCredential(&c.Credentials[0])
	noErr(f, err)
	f.Add(p)
	f.Add(cr)
	f.Add([]byte("\x00\x00\x00\x01\x00\x00\x00\x03tkt"))
	f.Add([]byte("\x00\x00\x00\x01\xff\xff\xff\xfftkt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, name, err := ParsePrimaryKey(b); err == nil {
			if len(name) > len(b)-8 {
				t.Fatalf("name of %d bytes from %d", len(name), len(b))
			}
		} else if !errors.Is(err, ErrFormat) {
			t.Fatalf("primary key: untyped error: %v", err)
		}
		if pr, err := ParsePrincipal(b); err == nil {
			out, err := MarshalPrincipal(pr)
			noErr(t, err)
			again, err := ParsePrincipal(out)
			noErr(t, err)
			eq(t, again, pr)
		} else if !errors.Is(err, ErrFormat) {
			t.Fatalf("principal: untyped error: %v", err)
		}
		if cred, err := ParseCredential(b); err == nil {
			out, err := MarshalCredential(&cred)
			noErr(t, err)
			again, err := ParseCredential(out)
			noErr(t, err)
			eq(t, again, cred)
		} else if !errors.Is(err, ErrFormat) {
			t.Fatalf("credential: untyped error: %v", err)
		}
	})
}
