package ccache

import (
	"encoding/binary"
	"fmt"
	"time"
)

// ParseError describes why Parse rejected its input and where. Err is
// ErrFormat or ErrVersion, so errors.Is(err, ErrFormat) works on it.
type ParseError struct {
	Offset int    // byte offset in the input where the problem was found
	Msg    string // what is wrong
	Err    error  // ErrFormat or ErrVersion
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%v at offset %d: %s", e.Err, e.Offset, e.Msg)
}

// Unwrap returns ErrFormat or ErrVersion.
func (e *ParseError) Unwrap() error { return e.Err }

// Sizes used to bound counts read from the file by the bytes left: a
// component is at least its 4-byte length, an address or authdata element
// at least a 2-byte type and a 4-byte length. A hostile count therefore fails
// before anything is allocated for it.
const (
	minComponentSize = 4
	minElementSize   = 6
	tagKDCOffset     = 1 // FCC_TAG_DELTATIME
)

// Parse decodes a version 3 or 4 FILE credential cache (see the package
// documentation for the layout). It is strict: every length and count is
// checked against the bytes that remain, and any error is a *ParseError
// wrapping ErrFormat, or ErrVersion for a version other than 3 and 4. The
// result does not share memory with b.
//
// Like MIT, Parse skips header tags it does not know and accepts any nonzero
// is_skey byte as true. The credential list simply ends where the data ends,
// so input cut exactly between two credentials parses as a shorter cache;
// input cut anywhere else fails.
func Parse(b []byte) (*Cache, error) {
	r := &reader{b: b}
	c := &Cache{}
	if magic := r.u8("file format magic"); r.err == nil && magic != 5 {
		r.fail(0, "first byte is 0x%02x, not 0x05: not a credential cache", magic)
	}
	version := r.u8("file format version")
	if r.err != nil {
		return nil, r.err
	}
	switch version {
	case 3, 4:
		c.Version = int(version)
	case 1, 2:
		return nil, &ParseError{1, fmt.Sprintf("version %d (native byte order) is not supported, only 3 and 4", version), ErrVersion}
	default:
		return nil, &ParseError{1, fmt.Sprintf("unknown version 0x05%02x", version), ErrVersion}
	}
	if version == 4 {
		r.header(c)
	}
	c.DefaultPrincipal = r.principal("default principal")
	for r.err == nil && r.off < len(b) {
		start := r.off
		cr := r.credential(c.Version)
		if r.err != nil {
			r.err.Msg = fmt.Sprintf("credential %d (from offset %d): %s", len(c.Credentials), start, r.err.Msg)
			break
		}
		c.Credentials = append(c.Credentials, cr)
	}
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

// reader is a cursor over the input that remembers the first error; once
// r.err is set every read returns zero values, so decoding code can read a
// whole structure and check the error once.
type reader struct {
	b   []byte
	off int
	err *ParseError
}

func (r *reader) fail(off int, format string, args ...any) {
	if r.err == nil {
		r.err = &ParseError{off, fmt.Sprintf(format, args...), ErrFormat}
	}
}

// take returns the next n bytes (aliasing the input) or fails naming what.
func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.fail(r.off, "%s needs %d bytes but only %d remain", what, n, len(r.b)-r.off)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8(what string) uint8 {
	if p := r.take(1, what); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if p := r.take(2, what); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if p := r.take(4, what); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

// data reads a 32-bit length and that many bytes, copied; empty data is nil.
func (r *reader) data(what string) []byte {
	at := r.off
	n := r.u32(what + " length")
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.b)-r.off) {
		r.fail(at, "%s length %d exceeds the %d bytes that remain", what, n, len(r.b)-r.off)
		return nil
	}
	if n == 0 {
		return nil
	}
	return append([]byte(nil), r.take(int(n), what)...)
}

// count reads a 32-bit element count and checks that the remaining input
// could hold that many elements of at least minSize bytes each.
func (r *reader) count(what string, minSize int) int {
	at := r.off
	n := r.u32(what)
	if r.err != nil {
		return 0
	}
	if uint64(n) > uint64((len(r.b)-r.off)/minSize) {
		r.fail(at, "%s %d is more than the %d remaining bytes can hold", what, n, len(r.b)-r.off)
		return 0
	}
	return int(n)
}

// header reads the version 4 header: a 16-bit length and tagged fields.
func (r *reader) header(c *Cache) {
	at := r.off
	n := int(r.u16("header length"))
	h := r.take(n, "header")
	if r.err != nil {
		return
	}
	hr := &reader{b: h}
	for hr.err == nil && hr.off < len(h) {
		tagAt := hr.off
		tag := hr.u16("header field tag")
		val := hr.take(int(hr.u16("header field length")), "header field value")
		if hr.err != nil {
			break
		}
		if tag != tagKDCOffset {
			continue // unknown tags are skipped, as the format doc asks
		}
		if len(val) != 8 {
			hr.fail(tagAt, "KDC time offset field has length %d, want 8", len(val))
			break
		}
		if c.HasKDCOffset {
			continue // MIT uses the first offset field
		}
		sec := int32(binary.BigEndian.Uint32(val))
		usec := int32(binary.BigEndian.Uint32(val[4:]))
		c.KDCOffset = time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond
		c.HasKDCOffset = true
	}
	if hr.err != nil {
		hr.err.Offset += at + 2
		r.err = hr.err
	}
}

func (r *reader) principal(what string) Principal {
	var p Principal
	p.NameType = int32(r.u32(what + " name type"))
	n := r.count(what+" component count", minComponentSize)
	p.Realm = string(r.data(what + " realm"))
	if n > 0 && r.err == nil {
		p.Components = make([]string, n)
		for i := range p.Components {
			p.Components[i] = string(r.data(fmt.Sprintf("%s component %d", what, i)))
		}
	}
	return p
}

// time reads a 32-bit unsigned timestamp; 0 is the zero time.Time.
func (r *reader) time(what string) time.Time {
	if s := r.u32(what); s != 0 {
		return time.Unix(int64(s), 0).UTC()
	}
	return time.Time{}
}

func (r *reader) credential(version int) Credential {
	var c Credential
	c.Client = r.principal("client")
	c.Server = r.principal("server")
	c.KeyType = int32(int16(r.u16("key enctype")))
	if version == 3 {
		r.u16("repeated key enctype") // ignored, as MIT does
	}
	c.Key = r.data("key")
	c.AuthTime = r.time("authtime")
	c.StartTime = r.time("starttime")
	c.EndTime = r.time("endtime")
	c.RenewTill = r.time("renew_till")
	c.IsSKey = r.u8("is_skey") != 0
	c.TicketFlags = r.u32("ticket flags")
	if n := r.count("address count", minElementSize); n > 0 {
		c.Addresses = make([]Address, n)
		for i := range c.Addresses {
			c.Addresses[i].Type = int32(r.u16("address type"))
			c.Addresses[i].Data = r.data("address")
		}
	}
	if n := r.count("authdata count", minElementSize); n > 0 {
		c.AuthData = make([]AuthData, n)
		for i := range c.AuthData {
			c.AuthData[i].Type = int32(int16(r.u16("authdata type")))
			c.AuthData[i].Data = r.data("authdata")
		}
	}
	c.Ticket = r.data("ticket")
	c.SecondTicket = r.data("second ticket")
	return c
}
