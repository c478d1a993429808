package ccache

import (
	"encoding/binary"
	"fmt"
)

// The KEYRING and KCM types carry principals and credentials one at a time
// in the FILE version 4 encoding (MIT's k5_marshal_princ and
// k5_marshal_cred with version 4); these helpers are those encodings.

// MarshalPrincipal encodes p as in a version 4 FILE cache.
func MarshalPrincipal(p Principal) ([]byte, error) {
	w := &writer{}
	w.principal("principal", p)
	if w.err != nil {
		return nil, fmt.Errorf("ccache: %w", w.err)
	}
	return w.b, nil
}

// MarshalCredential encodes one credential as in a version 4 FILE cache.
func MarshalCredential(c *Credential) ([]byte, error) {
	w := &writer{}
	w.credential(c)
	if w.err != nil {
		return nil, fmt.Errorf("ccache: %w", w.err)
	}
	return w.b, nil
}

// ParsePrincipal decodes a principal in the version 4 encoding from the
// start of b, as MIT's k5_unmarshal_princ (bytes after it are ignored).
// Errors are *ParseError wrapping ErrFormat.
func ParsePrincipal(b []byte) (Principal, error) {
	r := &reader{b: b}
	p := r.principal("principal")
	if r.err != nil {
		return Principal{}, r.err
	}
	return p, nil
}

// ParseCredential decodes one credential in the version 4 encoding from
// the start of b, as MIT's k5_unmarshal_cred (bytes after it are ignored).
// Errors are *ParseError wrapping ErrFormat.
func ParseCredential(b []byte) (Credential, error) {
	r := &reader{b: b}
	c := r.credential(4)
	if r.err != nil {
		return Credential{}, r.err
	}
	return c, nil
}

// clone returns a deep copy of c, so that caches held in memory never share
// slices with callers.
func (c *Cache) clone() *Cache {
	n := *c
	n.DefaultPrincipal = clonePrincipal(c.DefaultPrincipal)
	n.Credentials = make([]Credential, len(c.Credentials))
	for i, cr := range c.Credentials {
		cr.Client = clonePrincipal(cr.Client)
		cr.Server = clonePrincipal(cr.Server)
		cr.Key = cloneBytes(cr.Key)
		cr.Ticket = cloneBytes(cr.Ticket)
		cr.SecondTicket = cloneBytes(cr.SecondTicket)
		cr.Addresses = append([]Address(nil), cr.Addresses...)
		for j := range cr.Addresses {
			cr.Addresses[j].Data = cloneBytes(cr.Addresses[j].Data)
		}
		cr.AuthData = append([]AuthData(nil), cr.AuthData...)
		for j := range cr.AuthData {
			cr.AuthData[j].Data = cloneBytes(cr.AuthData[j].Data)
		}
		n.Credentials[i] = cr
	}
	return &n
}

func clonePrincipal(p Principal) Principal {
	p.Components = append([]string(nil), p.Components...)
	return p
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// ParsePrimaryKey decodes the payload of a keyring collection's
// "krb_ccache:primary" key: version(32) length(32) name, big-endian (MIT's
// parse_index). A payload too short for its length is ErrFormat.
func ParsePrimaryKey(b []byte) (version int32, name string, err error) {
	if len(b) < 8 {
		return 0, "", fmt.Errorf("%w: keyring primary key of %d bytes", ErrFormat, len(b))
	}
	version = int32(binary.BigEndian.Uint32(b))
	n := binary.BigEndian.Uint32(b[4:])
	if uint64(n) > uint64(len(b)-8) {
		return 0, "", fmt.Errorf("%w: keyring primary name length %d exceeds the %d bytes that remain", ErrFormat, n, len(b)-8)
	}
	return version, string(b[8 : 8+n]), nil
}
