package ccache

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

var (
	alice = Principal{NameType: 1, Realm: "EXAMPLE.COM", Components: []string{"alice"}}
	tgs   = Principal{NameType: 2, Realm: "EXAMPLE.COM", Components: []string{"krbtgt", "EXAMPLE.COM"}}
	http  = Principal{NameType: 3, Realm: "EXAMPLE.COM", Components: []string{"HTTP", "www.example.com"}}
)

// derTicket returns a DER Ticket for server whose enc-part has enctype 18,
// so that klist -e can decode it.
func derTicket(t testing.TB, server Principal) []byte {
	tkt := messages.Ticket{
		TktVNO:  5,
		Realm:   server.Realm,
		SName:   types.PrincipalName{NameType: server.NameType, NameString: server.Components},
		EncPart: types.EncryptedData{EType: 18, KVNO: 1, Cipher: []byte("not really encrypted")},
	}
	b, err := tkt.Marshal()
	noErr(t, err)
	return b
}

func unix(s int64) time.Time { return time.Unix(s, 0).UTC() }

// sampleCache exercises every field: a KDC offset, a TGT with addresses and
// authdata, a user-to-user service ticket with a second ticket, and two
// configuration entries as MIT's kinit writes them.
func sampleCache(t testing.TB) *Cache {
	c := &Cache{
		Version:          4,
		HasKDCOffset:     true,
		KDCOffset:        -90*time.Second - 250*time.Microsecond,
		DefaultPrincipal: alice,
	}
	c.Credentials = []Credential{{
		Client:      alice,
		Server:      tgs,
		KeyType:     18,
		Key:         []byte("0123456789abcdef0123456789abcdef"),
		AuthTime:    unix(1700000000),
		StartTime:   unix(1700000100),
		EndTime:     unix(1700036000),
		RenewTill:   unix(1700600000),
		TicketFlags: FlagForwardable | FlagRenewable | FlagInitial | FlagPreAuthent,
		Addresses:   []Address{{Type: 2, Data: []byte{192, 0, 2, 7}}, {Type: 24, Data: []byte("2001:db8::1 16 b")}},
		AuthData:    []AuthData{{Type: 1, Data: []byte{0x30, 0x00}}, {Type: -129, Data: []byte("neg")}},
		Ticket:      derTicket(t, tgs),
	}, {
		Client:       alice,
		Server:       http,
		KeyType:      -1,
		Key:          []byte("k"),
		AuthTime:     unix(1700000000),
		EndTime:      unix(1700036000),
		IsSKey:       true,
		TicketFlags:  FlagForwarded | FlagOKAsDelegate,
		Ticket:       derTicket(t, http),
		SecondTicket: derTicket(t, tgs),
	}}
	c.SetConfig("fast_avail", &tgs, []byte("yes"))
	c.SetConfig("pa_type", &tgs, []byte("2"))
	return c
}

func TestRoundTrip(t *testing.T) {
	c := sampleCache(t)
	b, err := c.Marshal()
	noErr(t, err)
	got, err := Parse(b)
	noErr(t, err)
	eq(t, got, c)

	// The header carries the offset as seconds and microseconds.
	eq(t, b[:8], []byte{5, 4, 0, 12, 0, 1, 0, 8})
	eq(t, int32(binary.BigEndian.Uint32(b[8:])), int32(-90))
	eq(t, int32(binary.BigEndian.Uint32(b[12:])), int32(-250))

	// Without an offset the header is empty.
	c.HasKDCOffset, c.KDCOffset = false, 0
	b, err = c.Marshal()
	noErr(t, err)
	eq(t, b[:4], []byte{5, 4, 0, 0})
	got, err = Parse(b)
	noErr(t, err)
	eq(t, got, c)
}

func TestParseCopiesInput(t *testing.T) {
	b, err := sampleCache(t).Marshal()
	noErr(t, err)
	c, err := Parse(b)
	noErr(t, err)
	want := append([]byte(nil), c.Credentials[0].Ticket...)
	for i := range b {
		b[i] = 0xff
	}
	eq(t, c.Credentials[0].Ticket, want)
}

// The testdata/mit-v*.ccache files were written by MIT krb5 1.20.1's kinit
// and kvno (ccache_type = 1..4 in krb5.conf) against a throwaway KDC for
// realm GOKINIT.TEST: alice's TGT, a host/svc.gokinit.test ticket, and the
// fast_avail and pa_type configuration entries kinit adds.
func readFixture(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	noErr(t, err)
	return b
}

func TestMITv4Fixture(t *testing.T) {
	raw := readFixture(t, "mit-v4.ccache")
	c, err := Parse(raw)
	noErr(t, err)
	checkMITCache(t, c)
	eq(t, c.Version, 4)
	check(t, c.HasKDCOffset, "kinit records the KDC offset")

	// Our encoder reproduces MIT's bytes exactly.
	b, err := c.Marshal()
	noErr(t, err)
	eq(t, b, raw)
}

func TestMITv3Fixture(t *testing.T) {
	c, err := Parse(readFixture(t, "mit-v3.ccache"))
	noErr(t, err)
	eq(t, c.Version, 3)
	check(t, !c.HasKDCOffset)
	checkMITCache(t, c)

	// Rewritten as version 4 it holds the same entries.
	b, err := c.Marshal()
	noErr(t, err)
	again, err := Parse(b)
	noErr(t, err)
	c.Version = 4
	eq(t, again, c)
}

func checkMITCache(t *testing.T, c *Cache) {
	t.Helper()
	realm := "GOKINIT.TEST"
	krbtgt := Principal{NameType: 2, Realm: realm, Components: []string{"krbtgt", realm}}
	host := Principal{NameType: 3, Realm: realm, Components: []string{"host", "svc.gokinit.test"}}
	eq(t, c.DefaultPrincipal.String(), "alice@GOKINIT.TEST")
	if len(c.Credentials) != 4 {
		t.Fatalf("got %d credentials, want 4", len(c.Credentials))
	}

	// kinit stores the configuration before the TGT.
	check(t, c.Credentials[0].IsConfig())
	check(t, c.Credentials[1].IsConfig())
	eq(t, c.Credentials[0].Server.String(), "krb5_ccache_conf_data/fast_avail/krbtgt\\/GOKINIT.TEST\\@GOKINIT.TEST@X-CACHECONF:")
	v, ok := c.Config("fast_avail", &krbtgt)
	check(t, ok)
	eq(t, string(v), "yes")
	v, ok = c.Config("pa_type", &krbtgt)
	check(t, ok)
	eq(t, string(v), "2") // encrypted timestamp
	_, ok = c.Config("fast_avail", nil)
	check(t, !ok)

	tgt, ok := c.Find(krbtgt)
	if !ok {
		t.Fatal("not found")
	}
	eq(t, tgt.KeyType, int32(18))
	eq(t, len(tgt.Key), 32)
	// MIT 1.20 KDCs also set enc-pa-rep (RFC 6806), which klist does not show.
	eq(t, tgt.TicketFlags, FlagForwardable|FlagRenewable|FlagInitial|FlagPreAuthent|FlagEncPARep)
	eq(t, tgt.EndTime.Sub(tgt.StartTime), 10*time.Hour)
	eq(t, tgt.RenewTill.Sub(tgt.StartTime), 3*24*time.Hour)
	eq(t, tgt.Ticket[0], byte(0x61), "Ticket is [APPLICATION 1]")

	svc, ok := c.Find(host)
	if !ok {
		t.Fatal("not found")
	}
	eq(t, svc.TicketFlags, FlagForwardable|FlagRenewable|FlagPreAuthent|FlagTransitPolicyChecked|FlagEncPARep)
	eq(t, svc.Client.Components, alice.Components)
}

func TestVersions(t *testing.T) {
	for _, name := range []string{"mit-v1.ccache", "mit-v2.ccache"} {
		_, err := Parse(readFixture(t, name))
		isErr(t, err, ErrVersion, name)
		check(t, !errors.Is(err, ErrFormat), name)
		check(t, err != nil && strings.Contains(err.Error(), "native byte order"), name)
	}
	for _, b := range [][]byte{{5, 0}, {5, 5, 0, 0}, {5, 0xff}} {
		_, err := Parse(b)
		isErr(t, err, ErrVersion, "%x", b)
	}
	for _, b := range [][]byte{nil, {5}, {6, 4, 0, 0}, {0x50, 0x4b, 3, 4}} {
		_, err := Parse(b)
		isErr(t, err, ErrFormat, "%x", b)
	}
}

// builder assembles cache bytes by hand, independently of Marshal.
type builder []byte

func (b *builder) u8(v byte) *builder    { *b = append(*b, v); return b }
func (b *builder) u16(v uint16) *builder { *b = binary.BigEndian.AppendUint16(*b, v); return b }
func (b *builder) u32(v uint32) *builder { *b = binary.BigEndian.AppendUint32(*b, v); return b }
func (b *builder) data(s string) *builder {
	b.u32(uint32(len(s)))
	*b = append(*b, s...)
	return b
}
func (b *builder) princ(nt uint32, realm string, comps ...string) *builder {
	b.u32(nt).u32(uint32(len(comps))).data(realm)
	for _, c := range comps {
		b.data(c)
	}
	return b
}

// handV3 is a version 3 cache written field by field: no header, and the
// key's enctype twice.
func handV3() []byte {
	b := &builder{}
	b.u16(0x0503)
	b.princ(1, "EXAMPLE.COM", "alice")
	b.princ(1, "EXAMPLE.COM", "alice")
	b.princ(2, "EXAMPLE.COM", "krbtgt", "EXAMPLE.COM")
	b.u16(17).u16(17).data("0123456789abcdef")      // keyblock
	b.u32(1700000000).u32(0).u32(1700036000).u32(0) // times
	b.u8(0).u32(FlagForwardable | FlagInitial)      // is_skey, flags
	b.u32(1).u16(2).data("\x0a\x00\x00\x01")        // addresses
	b.u32(1).u16(0xfffe).data("ad")                 // authdata, type -2
	b.data("\x61\x03\x02\x01\x05").data("")         // ticket, second ticket
	return *b
}

func TestHandBuiltV3(t *testing.T) {
	c, err := Parse(handV3())
	noErr(t, err)
	want := &Cache{
		Version:          3,
		DefaultPrincipal: alice,
		Credentials: []Credential{{
			Client:      alice,
			Server:      tgs,
			KeyType:     17,
			Key:         []byte("0123456789abcdef"),
			AuthTime:    unix(1700000000),
			EndTime:     unix(1700036000),
			TicketFlags: FlagForwardable | FlagInitial,
			Addresses:   []Address{{Type: 2, Data: []byte{10, 0, 0, 1}}},
			AuthData:    []AuthData{{Type: -2, Data: []byte("ad")}},
			Ticket:      []byte{0x61, 3, 2, 1, 5},
		}},
	}
	eq(t, c, want)
}

func TestHeader(t *testing.T) {
	princ := func(b builder) []byte { return *b.princ(1, "R", "u") }

	// Unknown tags are skipped; the first offset tag wins.
	b := &builder{}
	b.u16(0x0504).u16(4 + 3 + 12 + 12)
	b.u16(7).u16(3).u8(1).u8(2).u8(3)
	b.u16(1).u16(8).u32(5).u32(1)
	b.u16(1).u16(8).u32(9).u32(9)
	c, err := Parse(princ(*b))
	noErr(t, err)
	check(t, c.HasKDCOffset)
	eq(t, c.KDCOffset, 5*time.Second+time.Microsecond)

	for name, hdr := range map[string]builder{
		"offset tag length 4":      *(&builder{}).u16(0x0504).u16(8).u16(1).u16(4).u32(0),
		"field longer than header": *(&builder{}).u16(0x0504).u16(6).u16(7).u16(4).u16(0),
		"header past end":          *(&builder{}).u16(0x0504).u16(100).u16(0),
		"partial field":            *(&builder{}).u16(0x0504).u16(2).u16(1),
	} {
		_, err := Parse(princ(hdr))
		isErr(t, err, ErrFormat, name)
	}
}

func TestParseErrorOffsets(t *testing.T) {
	b := &builder{}
	b.u16(0x0504).u16(0).u32(1).u32(1).u32(0xffffffff)
	_, err := Parse(*b)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a *ParseError", err)
	}
	eq(t, pe.Offset, 12)
	eq(t, err.Error(), "ccache: malformed credential cache at offset 12: default principal realm length 4294967295 exceeds the 0 bytes that remain")

	raw := readFixture(t, "mit-v4.ccache")
	_, err = Parse(raw[:len(raw)-1])
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a *ParseError", err)
	}
	check(t, strings.Contains(err.Error(), "credential 3 (from offset "), err)
}

// credentialEnds returns the offsets at which each credential of the
// version 4 cache b ends, by parsing the prefixes that are valid caches.
func credentialEnds(t *testing.T, c *Cache) []int {
	t.Helper()
	head := &Cache{HasKDCOffset: c.HasKDCOffset, KDCOffset: c.KDCOffset, DefaultPrincipal: c.DefaultPrincipal}
	var ends []int
	for i := 0; i <= len(c.Credentials); i++ {
		head.Credentials = c.Credentials[:i]
		b, err := head.Marshal()
		noErr(t, err)
		ends = append(ends, len(b))
	}
	return ends
}

func TestTruncation(t *testing.T) {
	mit, err := Parse(readFixture(t, "mit-v4.ccache"))
	noErr(t, err)
	for name, c := range map[string]*Cache{"sample": sampleCache(t), "mit": mit} {
		b, err := c.Marshal()
		noErr(t, err)
		ends := credentialEnds(t, c)
		for n := 0; n < len(b); n++ {
			got, err := Parse(b[:n])
			k := indexOf(ends, n)
			if k < 0 {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("%s cut at %d: got %v, want a *ParseError", name, n, err)
				}
				isErr(t, err, ErrFormat, name, n)
				check(t, pe.Offset <= n, name, " cut at ", n, ": offset ", pe.Offset)
				continue
			}
			// Cut between credentials: a valid cache with the first k.
			noErr(t, err, "%s cut at %d", name, n)
			eq(t, len(got.Credentials), k, name, " cut at ", n)
		}
	}
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestHostileCounts(t *testing.T) {
	hdr := func() *builder { return (&builder{}).u16(0x0504).u16(0) }
	cred := func(b *builder) *builder { // a credential up to its addresses
		b.princ(1, "R", "u").princ(1, "R", "s").u16(18).data("k")
		return b.u32(1).u32(1).u32(2).u32(0).u8(0).u32(0)
	}
	cases := map[string][]byte{
		"components 2^31":    *hdr().u32(1).u32(1 << 31).data("R"),
		"components 2^32-1":  *hdr().u32(1).u32(0xffffffff).data("R").data("a"),
		"realm length 2^31":  *hdr().u32(1).u32(0).u32(1 << 31),
		"addresses 2^31":     *cred(hdr().princ(1, "R", "u")).u32(1 << 31).u16(2).data("abcd"),
		"authdata 2^31":      *cred(hdr().princ(1, "R", "u")).u32(0).u32(1 << 31),
		"ticket length 2^32": *cred(hdr().princ(1, "R", "u")).u32(0).u32(0).u32(0xffffffff),
		// Each component needs 4 bytes, so 3 cannot fit in 11 bytes.
		"components just too many": *hdr().u32(1).u32(3).data("").u16(0).u8(0).u32(0),
	}
	for name, b := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Parse(b)
		runtime.ReadMemStats(&after)
		isErr(t, err, ErrFormat, name)
		if d := after.TotalAlloc - before.TotalAlloc; d > 64<<10 {
			t.Errorf("%s: Parse allocated %d bytes", name, d)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	for name, mutate := range map[string]func(c *Cache){
		"time before 1970":    func(c *Cache) { c.Credentials[0].AuthTime = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) },
		"time after 2106":     func(c *Cache) { c.Credentials[0].EndTime = unix(1 << 32) },
		"enctype too large":   func(c *Cache) { c.Credentials[1].KeyType = 40000 },
		"enctype too small":   func(c *Cache) { c.Credentials[1].KeyType = -40000 },
		"address type":        func(c *Cache) { c.Credentials[0].Addresses[0].Type = -1 },
		"authdata type":       func(c *Cache) { c.Credentials[0].AuthData[0].Type = 1 << 16 },
		"KDC offset too wide": func(c *Cache) { c.KDCOffset = (1 << 32) * time.Second },
	} {
		c := sampleCache(t)
		mutate(c)
		_, err := c.Marshal()
		check(t, err != nil, name, ": no error")
	}

	// The largest values that fit are accepted and read back.
	c := sampleCache(t)
	c.Credentials[0].EndTime = unix(1<<32 - 1)
	c.Credentials[0].KeyType = -32768
	c.Credentials[0].Addresses[0].Type = 65535
	c.KDCOffset = -(1<<31)*time.Second - 999999*time.Microsecond
	b, err := c.Marshal()
	noErr(t, err)
	got, err := Parse(b)
	noErr(t, err)
	eq(t, got, c)
	eq(t, got.Credentials[0].EndTime.Year(), 2106)

	// An offset just past int32 seconds keeps the excess in microseconds,
	// as a file MIT accepts may.
	c.KDCOffset = (1 << 31) * time.Second
	b, err = c.Marshal()
	noErr(t, err)
	eq(t, b[8:16], []byte{0x7f, 0xff, 0xff, 0xff, 0, 0x0f, 0x42, 0x40})
	got, err = Parse(b)
	noErr(t, err)
	eq(t, got.KDCOffset, c.KDCOffset)

	// Sub-second precision is dropped rather than rejected.
	c.Credentials[0].AuthTime = unix(1700000000).Add(999 * time.Millisecond)
	c.KDCOffset = 1500*time.Microsecond + 999
	b, err = c.Marshal()
	noErr(t, err)
	got, err = Parse(b)
	noErr(t, err)
	eq(t, got.Credentials[0].AuthTime, unix(1700000000))
	eq(t, got.KDCOffset, 1500*time.Microsecond)
}

func TestPrincipalString(t *testing.T) {
	for want, p := range map[string]Principal{
		"alice@EXAMPLE.COM":                    alice,
		"krbtgt/EXAMPLE.COM@EXAMPLE.COM":       tgs,
		"@EMPTY":                               {Realm: "EMPTY"},
		`a\/b/c\@d@R`:                          {Realm: "R", Components: []string{"a/b", "c@d"}},
		`back\\slash/\0\t\n\b@R\@\/`:           {Realm: "R@/", Components: []string{`back\slash`, "\x00\t\n\b"}},
		"/@":                                   {Components: []string{"", ""}},
		"user@":                                {Components: []string{"user"}},
		"caf\xc3\xa9@\xff":                     {Realm: "\xff", Components: []string{"café"}},
		"krb5_ccache_conf_data/k@X-CACHECONF:": configServer("k", nil),
	} {
		eq(t, p.String(), want)
	}
}

func TestConfig(t *testing.T) {
	c := &Cache{DefaultPrincipal: alice}
	_, ok := c.Config("k", nil)
	check(t, !ok)

	c.SetConfig("k", nil, []byte("one"))
	c.SetConfig("k", &tgs, []byte("for tgs"))
	c.SetConfig("k", nil, []byte("two")) // replaces
	if len(c.Credentials) != 2 {
		t.Fatalf("got %d credentials, want 2", len(c.Credentials))
	}
	eq(t, c.Credentials[0].Client, alice)
	eq(t, c.Credentials[0].Server, Principal{NameType: 1, Realm: "X-CACHECONF:", Components: []string{"krb5_ccache_conf_data", "k"}})
	v, ok := c.Config("k", nil)
	check(t, ok)
	eq(t, string(v), "two")
	v, _ = c.Config("k", &tgs)
	eq(t, string(v), "for tgs")

	// SetConfig copies its argument.
	buf := []byte("abc")
	c.SetConfig("copy", nil, buf)
	buf[0] = 'X'
	v, _ = c.Config("copy", nil)
	eq(t, string(v), "abc")

	// An empty value is still a value.
	c.SetConfig("empty", nil, nil)
	v, ok = c.Config("empty", nil)
	check(t, ok)
	eq(t, len(v), 0)

	check(t, c.DeleteConfig("k", nil))
	check(t, !c.DeleteConfig("k", nil))
	_, ok = c.Config("k", nil)
	check(t, !ok)
	_, ok = c.Config("k", &tgs)
	check(t, ok)

	// Entries MIT removed in place do not count.
	c = &Cache{DefaultPrincipal: alice}
	c.SetConfig("k", nil, []byte("v"))
	c.Credentials[0].Server.Realm = "X-RMED-CONF:"
	_, ok = c.Config("k", nil)
	check(t, !ok)
	c.SetConfig("k", nil, []byte("new"))
	eq(t, len(c.Credentials), 2)
	v, _ = c.Config("k", nil)
	eq(t, string(v), "new")
}

func TestFind(t *testing.T) {
	c := sampleCache(t)
	// A config entry "for" the TGS does not shadow the TGT.
	c.Credentials = append(c.Credentials[2:], c.Credentials[:2]...)
	cr, ok := c.Find(tgs)
	if !ok {
		t.Fatal("not found")
	}
	eq(t, cr.KeyType, int32(18))
	cr.KeyType = 17 // points into the cache
	eq(t, c.Credentials[2].KeyType, int32(17))

	// The name type does not matter.
	_, ok = c.Find(Principal{NameType: 1, Realm: http.Realm, Components: http.Components})
	check(t, ok)
	_, ok = c.Find(Principal{Realm: "EXAMPLE.COM", Components: []string{"HTTP"}})
	check(t, !ok)
	_, ok = c.Find(configServer("fast_avail", &tgs))
	check(t, !ok)

	// A removed entry (endtime 0, authtime set) is skipped.
	c.Credentials[2].EndTime = time.Time{}
	_, ok = c.Find(tgs)
	check(t, !ok)
}

func TestReadFileErrors(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "missing"))
	isErr(t, err, os.ErrNotExist)

	p := filepath.Join(t.TempDir(), "v2")
	noErr(t, os.WriteFile(p, readFixture(t, "mit-v2.ccache"), 0o600))
	_, err = ReadFile(p)
	isErr(t, err, ErrVersion)
	check(t, err != nil && strings.Contains(err.Error(), p), err)

	c, err := ReadFile(filepath.Join("testdata", "mit-v4.ccache"))
	noErr(t, err)
	eq(t, len(c.Credentials), 4)
}

func TestErrorsAreDistinct(t *testing.T) {
	all := []error{ErrFormat, ErrVersion, ErrNoName, ErrUnsupportedType}
	for i, a := range all {
		for j, b := range all {
			eq(t, errors.Is(a, b), i == j)
		}
	}
}
