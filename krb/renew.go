package krb

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Key usages of a TGS exchange (RFC 4120 §7.5.1).
const (
	usageTGSReqChecksum = 6 // PA-TGS-REQ authenticator checksum
	usageTGSReqAuth     = 7 // PA-TGS-REQ authenticator
	usageTGSRepSession  = 8 // TGS-REP enc-part, session key
	paTGSReq            = 1
	tagTGSRep           = 0x60 | asnAppTag.TGSREP
)

// ErrNotRenewable means the ticket cannot be renewed: it is not renewable,
// or its renewable life is over.
var ErrNotRenewable = fmt.Errorf("ticket is not renewable")

// RenewOption configures Renew and Validate. They take only what they use:
// the krb5.conf (RenewWithConfig; default: LoadConfig()), the transport
// (RenewWithTransport; default: krb5.conf's KDCs) and the trace
// (RenewWithTrace).
// (A login's Option does not convert to one.)
type RenewOption struct{ apply Option }

// RenewWithConfig is WithConfig for Renew and Validate.
func RenewWithConfig(cfg *Config) RenewOption { return RenewOption{WithConfig(cfg)} }

// RenewWithTransport is WithTransport for Renew and Validate.
func RenewWithTransport(t Transport) RenewOption { return RenewOption{WithTransport(t)} }

// RenewWithTrace is WithTrace for Renew and Validate: the lines of the
// TGS exchange, escaped as WithTrace's.
func RenewWithTrace(f func(format string, args ...any)) RenewOption {
	return RenewOption{WithTrace(f)}
}

// Renew asks the KDC for a fresh copy of a renewable ticket-granting ticket
// (kinit -R; RFC 4120 §3.3.3, the RENEW option of a TGS request
// authenticated by the ticket itself). The new ticket ends at the KDC's
// usual lifetime from now, but not after the ticket's renew-till.
func Renew(ctx context.Context, c *Credentials, opts ...RenewOption) (*Credentials, error) {
	if c == nil {
		return nil, ErrNoCredentials
	}
	if !c.Renewable() || c.RenewTill.IsZero() {
		return nil, fmt.Errorf("%w: %s has no renewable flag", ErrNotRenewable, c.Server)
	}
	return tgsAgain(ctx, c, flags.Renew, "renewing", opts)
}

// Validate asks the KDC to validate a postdated ticket once its start time
// has come (kinit -v; RFC 4120 §2.2, the VALIDATE option). The ticket comes
// back without the invalid flag.
func Validate(ctx context.Context, c *Credentials, opts ...RenewOption) (*Credentials, error) {
	if c == nil {
		return nil, ErrNoCredentials
	}
	if !c.HasFlag(flags.Invalid) {
		return nil, fmt.Errorf("%s is not a postdated (invalid) ticket", c.Server)
	}
	return tgsAgain(ctx, c, flags.Validate, "validating", opts)
}

// tgsAgain sends the ticket back to the KDC with the RENEW or VALIDATE
// option, authenticated by itself, and returns the new ticket.
func tgsAgain(ctx context.Context, c *Credentials, option int, doing string, opts []RenewOption) (*Credentials, error) {
	var o options
	for _, opt := range opts {
		if opt.apply != nil {
			opt.apply(&o)
		}
	}
	if o.cfg == nil {
		cfg, err := LoadConfig()
		if err != nil {
			return nil, err
		}
		o.cfg = cfg
	}
	// The KDC's clock, as the cache recorded it, when kdc_timesync allows.
	now := time.Now()
	if o.cfg.LibDefaults.KDCTimeSync != 0 {
		now = now.Add(c.KDCOffset)
	}
	if option == flags.Renew && now.After(c.RenewTill) {
		return nil, fmt.Errorf("%w: its renewable life ended at %s", ErrNotRenewable, c.RenewTill.UTC().Format(time.RFC3339))
	}
	tr := o.transport
	if tr == nil {
		tr = newTransport(o.cfg, o.trace)
	}
	req, nonce, err := renewRequest(c, now, option)
	if err != nil {
		return nil, err
	}
	reply, err := tr.Exchange(ctx, c.Server.Realm, req, false)
	if err != nil {
		return nil, withContext(err, " while "+doing+" credentials")
	}
	creds, err := renewReply(reply, c, nonce)
	if err != nil {
		return nil, withContext(err, " while "+doing+" credentials")
	}
	return creds, nil
}

// renewRequest builds the TGS-REQ: the body asks for the same server with
// the RENEW or VALIDATE option, and PA-TGS-REQ carries an AP-REQ with the ticket and an
// authenticator whose checksum binds the body (RFC 4120 §5.4.1).
func renewRequest(c *Credentials, now time.Time, option int) (req []byte, nonce int, err error) {
	opts := types.NewKrbFlags()
	for _, f := range []int{flags.Forwardable, flags.Proxiable, flags.Renewable} {
		if c.HasFlag(f) {
			types.SetFlag(&opts, f)
		}
	}
	types.SetFlag(&opts, option)
	till := c.RenewTill
	if option == flags.Validate {
		till = c.EndTime
	}
	var nb [4]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return nil, 0, err
	}
	nonce = int(binary.BigEndian.Uint32(nb[:]) & 0x7fffffff)
	body, err := asn1.Marshal(kdcReqBody{
		KDCOptions: opts,
		Realm:      c.Server.Realm,
		SName:      c.Server.Name,
		Till:       till.UTC(),
		RTime:      c.RenewTill.UTC(),
		Nonce:      nonce,
		EType:      []int32{c.SessionKey.KeyType},
	})
	if err != nil {
		return nil, 0, fmt.Errorf("encoding KDC-REQ-BODY: %w", err)
	}
	et, err := crypto.GetEtype(c.SessionKey.KeyType)
	if err != nil {
		return nil, 0, err
	}
	sum, err := et.GetChecksumHash(c.SessionKey.KeyValue, body, usageTGSReqChecksum)
	if err != nil {
		return nil, 0, err
	}
	var tkt messages.Ticket
	if err := tkt.Unmarshal(c.Ticket); err != nil {
		return nil, 0, fmt.Errorf("the ticket to renew: %w", err)
	}
	auth, err := types.NewAuthenticator(c.Client.Realm, c.Client.Name)
	if err != nil {
		return nil, 0, err
	}
	auth.CTime, auth.Cusec = now.UTC().Truncate(time.Second), now.Nanosecond()/1000
	auth.Cksum = types.Checksum{CksumType: et.GetHashID(), Checksum: sum}
	ab, err := auth.Marshal()
	if err != nil {
		return nil, 0, err
	}
	enc, err := crypto.GetEncryptedData(ab, c.SessionKey, usageTGSReqAuth, 0)
	if err != nil {
		return nil, 0, err
	}
	ap := messages.APReq{PVNO: 5, MsgType: msgtype.KRB_AP_REQ, APOptions: types.NewKrbFlags(), Ticket: tkt, EncryptedAuthenticator: enc}
	apb, err := ap.Marshal()
	if err != nil {
		return nil, 0, err
	}
	wrapped, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: body})
	if err != nil {
		return nil, 0, err
	}
	b, err := asn1.Marshal(kdcReq{
		PVNO: 5, MsgType: msgtype.KRB_TGS_REQ,
		PAData:  types.PADataSequence{{PADataType: paTGSReq, PADataValue: apb}},
		ReqBody: asn1.RawValue{FullBytes: wrapped},
	})
	if err != nil {
		return nil, 0, fmt.Errorf("encoding TGS-REQ: %w", err)
	}
	return asn1tools.AddASNAppTag(b, asnAppTag.TGSREQ), nonce, nil
}

// renewReply checks the KDC's answer to a renewal: a TGS-REP for the same
// client and server with our nonce, encrypted in the old session key.
func renewReply(reply []byte, old *Credentials, nonce int) (*Credentials, error) {
	if len(reply) == 0 {
		return nil, fmt.Errorf("%w: empty reply", ErrBadReply)
	}
	if reply[0] == tagKRBError {
		e, err := decodeKRBError(reply)
		if err != nil {
			return nil, err
		}
		return nil, kdcError(e, old.Client)
	}
	if reply[0] != tagTGSRep {
		return nil, fmt.Errorf("%w: unexpected message (first byte 0x%02x)", ErrBadReply, reply[0])
	}
	rep, err := decodeKDCRep(reply, asnAppTag.TGSREP, msgtype.KRB_TGS_REP)
	if err != nil {
		return nil, err
	}
	plain, err := decrypt(rep.EncPart, old.SessionKey, usageTGSRepSession)
	if err != nil {
		return nil, fmt.Errorf("%w: the reply does not decrypt with the session key", ErrBadReply)
	}
	enc, err := decodeEncASRepPart(plain)
	if err != nil {
		return nil, err
	}
	if err := ticketMatches(rep, enc); err != nil {
		return nil, err
	}
	switch {
	case enc.Nonce != nonce:
		return nil, fmt.Errorf("%w: nonce mismatch", ErrBadReply)
	case rep.CRealm != old.Client.Realm || !sameName(rep.CName, old.Client.Name):
		return nil, fmt.Errorf("%w: renewed ticket is for client %s", ErrBadReply, unparse(rep.CName.NameString, rep.CRealm))
	case enc.SRealm != old.Server.Realm || !sameName(enc.SName, old.Server.Name):
		return nil, fmt.Errorf("%w: renewed ticket is for server %s", ErrBadReply, unparse(enc.SName.NameString, enc.SRealm))
	case !old.RenewTill.IsZero() && enc.EndTime.After(old.RenewTill):
		return nil, fmt.Errorf("%w: renewed ticket ends after its renewable life", ErrBadReply)
	}
	creds := newCredentials(rep, enc)
	creds.KDCOffset, creds.FASTAvailable = old.KDCOffset, old.FASTAvailable
	creds.PAType, creds.CCConfig = old.PAType, old.CCConfig
	return creds, nil
}
