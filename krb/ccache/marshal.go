package ccache

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Marshal encodes c as a version 4 FILE credential cache, the format MIT
// writes by default (see the package documentation for the layout). The
// header carries the KDC time offset only when HasKDCOffset is set; Version
// is ignored.
//
// Values that do not fit the format are errors, not truncated: lengths and
// counts above 2^32-1, enctypes and authdata types outside int16, address
// types outside uint16, times before the Unix epoch or after
// 2106-02-07T06:28:15Z (the zero time.Time is written as 0), and KDC
// offsets beyond about ±2^31 s. Sub-second parts of times and
// sub-microsecond parts of the KDC offset are dropped, since the format has
// no room for them.
func (c *Cache) Marshal() ([]byte, error) {
	w := &writer{}
	w.u16(0x0504)
	if c.HasKDCOffset {
		sec, usec, err := splitOffset(c.KDCOffset)
		if err != nil {
			return nil, err
		}
		w.u16(12) // header length: one field of 2+2+8 bytes
		w.u16(tagKDCOffset)
		w.u16(8)
		w.u32(uint32(sec))
		w.u32(uint32(usec))
	} else {
		w.u16(0)
	}
	w.principal("default principal", c.DefaultPrincipal)
	if w.err != nil {
		return nil, fmt.Errorf("ccache: %w", w.err)
	}
	for i := range c.Credentials {
		w.credential(&c.Credentials[i])
		if w.err != nil {
			return nil, fmt.Errorf("ccache: credential %d: %w", i, w.err)
		}
	}
	return w.b, nil
}

// splitOffset turns d into the header's signed seconds and microseconds,
// normally with |usec| < 10^6. MIT does not require that normal form when
// reading, so a parsed offset may exceed what int32 seconds hold; the excess
// then stays in the microseconds, so that every offset Parse accepts can be
// written back unchanged.
func splitOffset(d time.Duration) (sec, usec int32, err error) {
	s := int64(d / time.Second)
	us := int64(d%time.Second) / int64(time.Microsecond)
	clamped := max(math.MinInt32, min(math.MaxInt32, s))
	us += (s - clamped) * 1e6
	if us < math.MinInt32 || us > math.MaxInt32 {
		return 0, 0, fmt.Errorf("ccache: KDC offset %v does not fit in 32-bit seconds and microseconds", d)
	}
	return int32(clamped), int32(us), nil
}

// writer appends big-endian fields to b and keeps the first error.
type writer struct {
	b   []byte
	err error
}

func (w *writer) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf(format, args...)
	}
}

func (w *writer) u8(v uint8)   { w.b = append(w.b, v) }
func (w *writer) u16(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }

// length writes n as a 32-bit count or length.
func (w *writer) length(what string, n int) {
	if uint64(n) > math.MaxUint32 {
		w.fail("%s: length %d does not fit in 32 bits", what, n)
		return
	}
	w.u32(uint32(n))
}

func (w *writer) data(what string, p []byte) {
	w.length(what, len(p))
	w.b = append(w.b, p...)
}

// int16 writes a signed 16-bit field (enctype, authdata type).
func (w *writer) int16(what string, v int32) {
	if v < math.MinInt16 || v > math.MaxInt16 {
		w.fail("%s %d does not fit in 16 bits", what, v)
	}
	w.u16(uint16(v))
}

func (w *writer) time(what string, t time.Time) {
	if t.IsZero() {
		w.u32(0)
		return
	}
	s := t.Unix()
	if s < 0 || s > math.MaxUint32 {
		w.fail("%s %v is outside the 32-bit unsigned range of the format", what, t)
	}
	w.u32(uint32(s))
}

func (w *writer) principal(what string, p Principal) {
	w.u32(uint32(p.NameType))
	w.length(what+" component count", len(p.Components))
	w.data(what+" realm", []byte(p.Realm))
	for _, comp := range p.Components {
		w.data(what+" component", []byte(comp))
	}
}

func (w *writer) credential(c *Credential) {
	w.principal("client", c.Client)
	w.principal("server", c.Server)
	w.int16("key enctype", c.KeyType)
	w.data("key", c.Key)
	w.time("authtime", c.AuthTime)
	w.time("starttime", c.StartTime)
	w.time("endtime", c.EndTime)
	w.time("renew_till", c.RenewTill)
	if c.IsSKey {
		w.u8(1)
	} else {
		w.u8(0)
	}
	w.u32(c.TicketFlags)
	w.length("address count", len(c.Addresses))
	for _, a := range c.Addresses {
		if a.Type < 0 || a.Type > math.MaxUint16 {
			w.fail("address type %d does not fit in 16 bits", a.Type)
		}
		w.u16(uint16(a.Type))
		w.data("address", a.Data)
	}
	w.length("authdata count", len(c.AuthData))
	for _, ad := range c.AuthData {
		w.int16("authdata type", ad.Type)
		w.data("authdata", ad.Data)
	}
	w.data("ticket", c.Ticket)
	w.data("second ticket", c.SecondTicket)
}
