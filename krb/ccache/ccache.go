// Package ccache is MIT krb5's credential cache layer in Go: names and
// collections (Resolve, DefaultName, Collection) over the cache types MIT's
// tools share on Linux, FILE, DIR, KEYRING and KCM, plus MEMORY for one
// process. Caches written here are read by MIT's klist, kswitch, kdestroy
// and kvno, and caches MIT writes are read here, for every type.
//
// The types are MIT's own formats and protocols (cc_file.c, cc_dir.c,
// cc_keyring.c, cc_kcm.c), which no Go library implements with MIT's
// layout; they are written here from MIT's documentation and behaviour,
// with golang.org/x/sys/unix for the keyctl calls. gokrb5's credentials
// package reads FILE caches only and writes none.
//
// A cache's contents move as one Cache value: CCache.Read returns every
// entry and CCache.Write replaces them all in one step where the type
// allows it (see CCache.Write), which is what kinit needs.
//
// The FILE layout (also the encoding of principals and credentials in
// KEYRING keys and KCM messages) is the one described in MIT's "Credential cache file
// format" document (doc/formats/ccache_file_format.rst, published at
// https://web.mit.edu/kerberos/krb5-latest/doc/formats/ccache_file_format.html)
// and implemented by MIT's src/lib/krb5/ccache/cc_file.c and ccmarshal.c:
//
//	file       ::= 0x05 version(1 byte) [header, v4 only] principal credential*
//	header     ::= headerlen(16) { tag(16) taglen(16) value(taglen) }*
//	principal  ::= nametype(32) count(32) realm(data) component(data)*
//	credential ::= client(principal) server(principal)
//	               enctype(16) [enctype again in v3] key(data)
//	               authtime(32) starttime(32) endtime(32) renew_till(32)
//	               is_skey(8) ticket_flags(32)
//	               addrcount(32) { addrtype(16) addr(data) }*
//	               adcount(32) { adtype(16) ad(data) }*
//	               ticket(data) second_ticket(data)
//	data       ::= length(32) bytes(length)
//
// All integers are big-endian in versions 3 and 4. Versions 1 and 2 used the
// writer's native byte order, which a reader cannot know, so they are
// rejected with ErrVersion (MIT itself has not written them since 1.0).
//
// The cache is handled as a whole: Parse / ReadFile load every entry and
// Marshal / WriteFile write a complete new file, which WriteFile puts in
// place atomically. That differs from MIT, which appends entries to the live
// file under a lock; a file written here is nevertheless an ordinary version 4
// cache that MIT's tools read.
package ccache

import (
	"errors"
	"strings"
	"time"
)

// Errors returned by this package. They are sentinels to test with
// errors.Is; the returned errors carry the details.
var (
	// ErrFormat reports malformed cache data (see ParseError).
	ErrFormat = errors.New("ccache: malformed credential cache")
	// ErrVersion reports a cache whose format version is not 3 or 4.
	ErrVersion = errors.New("ccache: unsupported credential cache version")
	// ErrNoName reports an empty credential cache name.
	ErrNoName = errors.New("ccache: empty credential cache name")
)

// Ticket flags as stored in the ticket_flags field of a credential. MIT
// stores the RFC 4120 KerberosFlags bit string as a 32-bit integer whose most
// significant bit is flag bit 0 (reserved), so flag bit n is 1<<(31-n).
// These are MIT's TKT_FLG_* values; klist -f shows them with the letters in
// the comments.
const (
	FlagForwardable          uint32 = 0x40000000 // F, bit 1
	FlagForwarded            uint32 = 0x20000000 // f, bit 2
	FlagProxiable            uint32 = 0x10000000 // P, bit 3
	FlagProxy                uint32 = 0x08000000 // p, bit 4
	FlagMayPostdate          uint32 = 0x04000000 // D, bit 5
	FlagPostdated            uint32 = 0x02000000 // d, bit 6
	FlagInvalid              uint32 = 0x01000000 // i, bit 7
	FlagRenewable            uint32 = 0x00800000 // R, bit 8
	FlagInitial              uint32 = 0x00400000 // I, bit 9
	FlagPreAuthent           uint32 = 0x00200000 // A, bit 10
	FlagHWAuthent            uint32 = 0x00100000 // H, bit 11
	FlagTransitPolicyChecked uint32 = 0x00080000 // T, bit 12
	FlagOKAsDelegate         uint32 = 0x00040000 // O, bit 13
	FlagEncPARep             uint32 = 0x00010000 // bit 15 (RFC 6806)
	FlagAnonymous            uint32 = 0x00008000 // a, bit 16 (RFC 6112)
)

// Realms and names that mark configuration entries (MIT's
// krb5_cc_set_config). A configuration entry is a credential whose server
// is krb5_ccache_conf_data/KEY[/PRINCIPAL]@X-CACHECONF: and whose value is
// the ticket field. MIT's delete path (cc_file.c delete_cred) renames the
// realm of a removed entry to X-RMED-CONF: so that nothing matches it again.
const (
	ConfigRealm        = "X-CACHECONF:"
	ConfigName         = "krb5_ccache_conf_data"
	removedConfigRealm = "X-RMED-CONF:"
)

// ntPrincipal is KRB5_NT_PRINCIPAL, the name type MIT's krb5_build_principal
// infers for configuration principals (k5_infer_principal_type).
const ntPrincipal = 1

// Principal is a Kerberos principal name as stored in a credential cache
// (see "Principal format" in the ccache file format doc).
type Principal struct {
	NameType   int32
	Realm      string
	Components []string
}

// String renders p the way MIT's krb5_unparse_name does:
// comp1/comp2@REALM, with '/', '@' and '\' backslash-escaped and NUL, tab,
// newline and backspace written as \0, \t, \n, \b, in the realm as well as in
// the components. A principal without components renders as "@REALM".
func (p Principal) String() string {
	var b strings.Builder
	for i, c := range p.Components {
		if i > 0 {
			b.WriteByte('/')
		}
		quote(&b, c)
	}
	b.WriteByte('@')
	quote(&b, p.Realm)
	return b.String()
}

// quote appends s with krb5_unparse_name's escaping.
func quote(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '/', '@', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\b':
			b.WriteString(`\b`)
		default:
			b.WriteByte(c)
		}
	}
}

// Equal reports whether p and q name the same principal: same realm and
// components. Like MIT's krb5_principal_compare it ignores the name type,
// which KDCs do not preserve reliably.
func (p Principal) Equal(q Principal) bool {
	if p.Realm != q.Realm || len(p.Components) != len(q.Components) {
		return false
	}
	for i := range p.Components {
		if p.Components[i] != q.Components[i] {
			return false
		}
	}
	return true
}

// Address is a host address of a credential (addrtype is 16 bits on disk,
// read unsigned as MIT does).
type Address struct {
	Type int32
	Data []byte
}

// AuthData is an authorization-data element of a credential (ad_type is 16
// bits on disk, sign-extended as MIT does).
type AuthData struct {
	Type int32
	Data []byte
}

// Credential is one entry of a cache (see "Credential format" in the ccache
// file format doc). Configuration entries are credentials too; see
// IsConfig.
//
// Times are whole seconds since the Unix epoch stored as unsigned 32-bit
// values (MIT reads them unsigned since 1.17, so they reach 2106); the zero
// time.Time stands for 0 on disk, and Parse returns times in UTC.
type Credential struct {
	Client, Server Principal

	// KeyType is the session key's enctype (16 bits on disk, sign-extended).
	KeyType int32
	Key     []byte

	AuthTime, StartTime, EndTime, RenewTill time.Time

	// IsSKey is set for a ticket obtained with a user-to-user (ENC-TKT-IN-SKEY)
	// request.
	IsSKey bool

	// TicketFlags uses the Flag* bit layout: RFC 4120 bit 0 is the MSB.
	TicketFlags uint32

	Addresses []Address
	AuthData  []AuthData

	// Ticket and SecondTicket are the DER encodings of the Ticket (or, for a
	// configuration entry, the raw value) and of the second ticket of a
	// user-to-user request.
	Ticket       []byte
	SecondTicket []byte
}

// IsConfig reports whether c is a configuration entry: its server's realm is
// X-CACHECONF: and its first component krb5_ccache_conf_data (MIT's
// krb5_is_config_principal).
func (c *Credential) IsConfig() bool {
	s := c.Server
	return s.Realm == ConfigRealm && len(s.Components) > 0 && s.Components[0] == ConfigName
}

// IsRemoved reports whether c is an entry MIT marked as removed in place.
// MIT's krb5_cc_remove_cred (1.18 and later) overwrites the entry with
// endtime 0 and authtime -1 (0xFFFFFFFF on disk), and its iteration skips
// such entries: 1.18 to 1.21 only that exact mark, 1.22 and later any entry
// with endtime 0 and a nonzero authtime (cc_file.c cred_removed), since
// config entries and gssproxy credentials have both zero. IsRemoved uses
// the newer rule; Find and Config skip removed entries.
func (c *Credential) IsRemoved() bool {
	return c.EndTime.IsZero() && !c.AuthTime.IsZero()
}

// Cache is a parsed FILE credential cache.
type Cache struct {
	// Version is the format version read (3 or 4). Marshal always writes 4
	// and ignores this field.
	Version int

	// KDCOffset is the KDC's clock minus the client's (header tag 1,
	// FCC_TAG_DELTATIME: seconds and microseconds), valid only when
	// HasKDCOffset is set. Version 3 has no header and so no offset.
	KDCOffset    time.Duration
	HasKDCOffset bool

	DefaultPrincipal Principal

	// Credentials holds every entry in file order, configuration entries
	// and entries marked removed included.
	Credentials []Credential
}

// configServer builds the server principal MIT's k5_build_conf_principals
// uses for key and principal.
func configServer(key string, principal *Principal) Principal {
	comps := []string{ConfigName, key}
	if principal != nil {
		comps = append(comps, principal.String())
	}
	return Principal{NameType: ntPrincipal, Realm: ConfigRealm, Components: comps}
}

// findConfig returns the index of the live configuration entry for key and
// principal, or -1. Unlike MIT's krb5_cc_get_config it does not also require
// the entry's client to equal the default principal: a file holds one
// client's entries, and matching on it would only make lookups fail after
// DefaultPrincipal is changed.
func (c *Cache) findConfig(key string, principal *Principal) int {
	want := configServer(key, principal)
	for i := range c.Credentials {
		cr := &c.Credentials[i]
		if cr.IsConfig() && !cr.IsRemoved() && cr.Server.Equal(want) {
			return i
		}
	}
	return -1
}

// Config returns the value of configuration entry key, associated with
// principal when it is not nil (MIT's krb5_cc_get_config). ok is false when
// there is no such entry. The returned slice is the cache's own.
func (c *Cache) Config(key string, principal *Principal) (value []byte, ok bool) {
	if i := c.findConfig(key, principal); i >= 0 {
		return c.Credentials[i].Ticket, true
	}
	return nil, false
}

// SetConfig stores value under configuration key, associated with principal
// when it is not nil (MIT's krb5_cc_set_config): an existing entry is
// replaced in place, otherwise one is appended whose client is the current
// DefaultPrincipal and whose other fields are zero, as MIT writes them. Set
// DefaultPrincipal before adding configuration.
func (c *Cache) SetConfig(key string, principal *Principal, value []byte) {
	v := append([]byte(nil), value...)
	if i := c.findConfig(key, principal); i >= 0 {
		c.Credentials[i].Ticket = v
		return
	}
	c.Credentials = append(c.Credentials, Credential{
		Client: c.DefaultPrincipal,
		Server: configServer(key, principal),
		Ticket: v,
	})
}

// DeleteConfig removes every configuration entry for key and principal
// (MIT's krb5_cc_set_config with a NULL value) and reports whether there was
// one.
func (c *Cache) DeleteConfig(key string, principal *Principal) bool {
	found := false
	for i := c.findConfig(key, principal); i >= 0; i = c.findConfig(key, principal) {
		c.Credentials = append(c.Credentials[:i], c.Credentials[i+1:]...)
		found = true
	}
	return found
}

// Find returns the first credential for server (compared as by
// Principal.Equal), skipping configuration entries and removed entries.
// Like MIT's krb5_cc_retrieve_cred without match flags it neither checks
// expiry nor prefers later entries. The pointer refers into c.Credentials.
func (c *Cache) Find(server Principal) (*Credential, bool) {
	for i := range c.Credentials {
		cr := &c.Credentials[i]
		if !cr.IsConfig() && !cr.IsRemoved() && cr.Server.Equal(server) {
			return cr, true
		}
	}
	return nil, false
}
