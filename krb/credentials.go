package krb

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Credentials are the result of a login: a ticket and what the client
// needs to use it (RFC 4120 §5.4.2 EncKDCRepPart).
type Credentials struct {
	Client     Principal // as the KDC named it (canonical)
	Server     Principal
	SessionKey types.EncryptionKey
	AuthTime   time.Time
	StartTime  time.Time
	EndTime    time.Time
	RenewTill  time.Time // zero unless renewable
	// Flags are the ticket flags as MIT stores them: RFC 4120 bit 0 is the
	// most significant bit (forwardable is 0x40000000).
	Flags uint32
	// Ticket is the ticket exactly as the KDC encoded it.
	Ticket []byte
	// KeyExpiration is the reply's key-expiration field, zero when absent.
	KeyExpiration time.Time
	// PasswordExpires and AccountExpires are when the password and the
	// account expire, zero when the KDC did not say: from the reply's
	// last-req entries, else (password only) key-expiration, as MIT's
	// get_expiry_times; ExpiryFromLastReq says which.
	PasswordExpires   time.Time
	AccountExpires    time.Time
	ExpiryFromLastReq bool
	// KDCOffset is the KDC's clock minus ours, stored in the ccache header.
	KDCOffset time.Duration
	// FASTAvailable is true when the KDC proved (in its encrypted reply)
	// that it supports FAST; the ccache records it as MIT's fast_avail, so a
	// login armored with this cache uses FAST from its first request.
	FASTAvailable bool
	// PAType is the preauthentication type the login used (0 for none);
	// the ccache records it as MIT's pa_type, and a login given the cache
	// with WithInputCCache uses only that type.
	PAType int32
	// CCConfig holds what the login's mechanisms stored for the next login
	// (preauth.Callbacks.SetCCConfig); the ccache records it as MIT's
	// pa_config_data.
	CCConfig map[string]string
}

// HasFlag reports whether a ticket flag (gokrb5's iana/flags numbers,
// RFC 4120 §5.3) is set.
func (c *Credentials) HasFlag(bit int) bool {
	return bit >= 0 && bit < 32 && c.Flags&(1<<(31-bit)) != 0
}

func newCredentials(rep *asRep, enc *messages.EncKDCRepPart) *Credentials {
	var fl [4]byte
	copy(fl[:], enc.Flags.Bytes)
	start := enc.StartTime
	if start.IsZero() {
		start = enc.AuthTime
	}
	pw, acct, fromLR := expiryTimes(enc)
	return &Credentials{
		PasswordExpires: pw, AccountExpires: acct, ExpiryFromLastReq: fromLR,
		Client:        Principal{Name: rep.CName, Realm: rep.CRealm},
		Server:        Principal{Name: enc.SName, Realm: enc.SRealm},
		SessionKey:    enc.Key,
		AuthTime:      enc.AuthTime,
		StartTime:     start,
		EndTime:       enc.EndTime,
		RenewTill:     enc.RenewTill,
		Flags:         binary.BigEndian.Uint32(fl[:]),
		Ticket:        rep.Ticket.Bytes,
		KeyExpiration: enc.KeyExpiration,
	}
}

// verify checks the reply against the request, as MIT's verify_as_reply
// does (RFC 4120 §3.1.5): the nonce, the session key's enctype, the names
// (unless canonicalization let the KDC change them) and the times.
func (l *Login) verify(rep *asRep, enc *messages.EncKDCRepPart) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadReply, fmt.Sprintf(format, args...))
	}
	if enc.Nonce != l.body.Nonce {
		return bad("nonce mismatch")
	}
	if !containsEtype(l.etypes, enc.Key.KeyType) {
		return bad("session key enctype %d was not requested", enc.Key.KeyType)
	}
	if err := ticketMatches(rep, enc); err != nil {
		return err
	}
	canon := l.canonicalize()
	if l.o.anonymous {
		// The KDC names the client WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS
		// (RFC 8062 §4.1), not the name we asked with.
		if anon := AnonymousPrincipal(AnonymousRealm); rep.CRealm != anon.Realm || !sameName(rep.CName, anon.Name) {
			return bad("anonymous request answered for client %s", unparse(rep.CName.NameString, rep.CRealm))
		}
		if enc.SRealm != l.server.Realm || !sameName(enc.SName, l.server.Name) {
			return bad("reply is for server %s, not %s", unparse(enc.SName.NameString, enc.SRealm), l.server)
		}
	} else if !canon {
		if rep.CRealm != l.client.Realm || !sameName(rep.CName, l.client.Name) {
			return bad("reply is for client %s, not %s", unparse(rep.CName.NameString, rep.CRealm), l.client)
		}
		if enc.SRealm != l.server.Realm || !sameName(enc.SName, l.server.Name) {
			return bad("reply is for server %s, not %s", unparse(enc.SName.NameString, enc.SRealm), l.server)
		}
	} else if l.o.service == "" && (len(enc.SName.NameString) != 2 || enc.SName.NameString[0] != "krbtgt") {
		return bad("asked for a TGT, got a ticket for %s", unparse(enc.SName.NameString, enc.SRealm))
	}
	if enc.EndTime.After(l.till) {
		return bad("ticket ends after the requested time")
	}
	if !l.rtill.IsZero() && enc.RenewTill.After(l.rtill) {
		return bad("ticket is renewable beyond the requested time")
	}
	if !l.from.IsZero() {
		// A postdated ticket must start when asked (MIT: starttime == from).
		if !enc.StartTime.Equal(l.from) {
			return bad("postdated ticket starts at %s, not %s", enc.StartTime.UTC().Format(time.RFC3339), l.from.Format(time.RFC3339))
		}
	} else if l.cfg.LibDefaults.KDCTimeSync == 0 {
		skew := l.cfg.LibDefaults.Clockskew
		if skew == 0 {
			skew = 5 * time.Minute
		}
		start := enc.StartTime
		if start.IsZero() {
			start = enc.AuthTime
		}
		// Against the time the request was sent, as MIT does: a person
		// may take minutes to type the password asked for the reply.
		if d := start.Sub(l.reqTime); d > skew || d < -skew {
			return fmt.Errorf("%w: ticket start time is %s from the local clock", ErrClockSkew, d.Round(time.Second))
		}
	}
	return nil
}

func containsEtype(list []int32, e int32) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

// CCache returns the credentials as a FILE credential cache with the client
// as its default principal.
func (c *Credentials) CCache() *ccache.Cache {
	cc := &ccache.Cache{
		DefaultPrincipal: ccPrincipal(c.Client),
		Credentials: []ccache.Credential{{
			Client:      ccPrincipal(c.Client),
			Server:      ccPrincipal(c.Server),
			KeyType:     c.SessionKey.KeyType,
			Key:         c.SessionKey.KeyValue,
			AuthTime:    c.AuthTime,
			StartTime:   c.StartTime,
			EndTime:     c.EndTime,
			RenewTill:   c.RenewTill,
			TicketFlags: c.Flags,
			Ticket:      c.Ticket,
		}},
	}
	if c.KDCOffset != 0 {
		cc.KDCOffset, cc.HasKDCOffset = c.KDCOffset, true
	}
	tgs := ccPrincipal(TGSPrincipal(c.Server.Realm))
	if c.FASTAvailable {
		cc.SetConfig(fastAvailConfigKey, &tgs, []byte("yes"))
	}
	if c.PAType != 0 {
		cc.SetConfig(paTypeConfigKey, &tgs, []byte(strconv.Itoa(int(c.PAType))))
	}
	if len(c.CCConfig) > 0 {
		cc.SetConfig(paConfigDataKey, &tgs, encodePAConfigData(c.CCConfig))
	}
	return cc
}

// WriteCCache stores the credentials in a FILE cache at path, replacing it
// atomically: a reader sees the old cache or the new one, never a part.
func (c *Credentials) WriteCCache(path string) error {
	if c == nil {
		return ErrNoCredentials
	}
	return ccache.WriteFile(path, c.CCache())
}

func ccPrincipal(p Principal) ccache.Principal {
	return ccache.Principal{NameType: p.Name.NameType, Realm: p.Realm, Components: p.Name.NameString}
}

// Renewable reports whether the ticket can be renewed.
func (c *Credentials) Renewable() bool { return c.HasFlag(flags.Renewable) }

// TGTFromCCache returns the ticket-granting ticket for realm
// (krbtgt/REALM@REALM) held in a credential cache, with the cache's
// fast_avail, pa_type and pa_config_data notes.
func TGTFromCCache(cc *ccache.Cache, realm string) (*Credentials, error) {
	tgs := ccPrincipal(TGSPrincipal(realm))
	cred, ok := cc.Find(tgs)
	if !ok {
		return nil, fmt.Errorf("no ticket for %s in the credential cache", tgs)
	}
	v, _ := cc.Config(fastAvailConfigKey, &tgs)
	var paType int32
	if pt, ok := cc.Config(paTypeConfigKey, &tgs); ok {
		if n, err := strconv.ParseInt(string(pt), 10, 32); err == nil {
			paType = int32(n)
		}
	}
	var ccConfig map[string]string
	if d, ok := cc.Config(paConfigDataKey, &tgs); ok {
		ccConfig = decodePAConfigData(d)
	}
	return &Credentials{
		PAType:        paType,
		CCConfig:      ccConfig,
		Client:        Principal{Name: types.PrincipalName{NameType: cred.Client.NameType, NameString: cred.Client.Components}, Realm: cred.Client.Realm},
		Server:        Principal{Name: types.PrincipalName{NameType: cred.Server.NameType, NameString: cred.Server.Components}, Realm: cred.Server.Realm},
		SessionKey:    types.EncryptionKey{KeyType: cred.KeyType, KeyValue: cred.Key},
		AuthTime:      cred.AuthTime,
		StartTime:     cred.StartTime,
		EndTime:       cred.EndTime,
		RenewTill:     cred.RenewTill,
		Flags:         cred.TicketFlags,
		Ticket:        cred.Ticket,
		KDCOffset:     cc.KDCOffset,
		FASTAvailable: string(v) == "yes",
	}, nil
}

// ticketMatches checks that the ticket, which travels outside the encrypted
// part, names the server the encrypted part names (MIT's verify_as_reply:
// KRB5_KDCREP_MODIFIED): otherwise someone on the path swapped it.
func ticketMatches(rep *asRep, enc *messages.EncKDCRepPart) error {
	var t messages.Ticket
	if err := t.Unmarshal(rep.Ticket.Bytes); err != nil { // decoded once already
		return fmt.Errorf("%w: ticket: %v", ErrBadReply, err)
	}
	if t.Realm != enc.SRealm || !sameName(t.SName, enc.SName) {
		return fmt.Errorf("%w: the ticket names server %s, the encrypted reply %s", ErrBadReply,
			unparse(t.SName.NameString, t.Realm), unparse(enc.SName.NameString, enc.SRealm))
	}
	return nil
}

// canonicalize says whether the request asked the KDC to canonicalize
// names (kinit -C, -E, or krb5.conf's canonicalize).
func (l *Login) canonicalize() bool {
	return l.o.canonicalize || l.o.enterprise || l.cfg.LibDefaults.Canonicalize
}
