package krb

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"time"

	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/krb/prf"
	"github.com/gokinit/gokinit/preauth"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// FAST (RFC 6113) numbers.
const (
	paFXFast       = 136
	paFXError      = 137
	paReqEncPARep  = 149
	paASFreshness  = 150
	armorAPRequest = 1 // FX_FAST_ARMOR_AP_REQUEST

	usageAPReqAuth      = 11 // AP-REQ authenticator (RFC 4120 §7.5.1)
	usageASReq          = 56 // PA-REQ-ENC-PA-REP checksum (RFC 6806 §11)
	usageFastReqChksum  = 50
	usageFastEnc        = 51
	usageFastRep        = 52
	usageFastFinished   = 53
	ticketFlagEncPARep  = 15 // RFC 4120 ticket flag bit: enc-pa-rep
	fastAvailConfigKey  = "fast_avail"
	paTypeConfigKey     = "pa_type"
	maxFASTResponseSize = 1 << 20
)

// ErrUnarmoredReply means the KDC answered an armored (FAST) request
// without armor. The reply is refused: accepting it would let an attacker
// strip FAST and downgrade the exchange (RFC 6113 §5.4.3).
var ErrUnarmoredReply = errors.New("KDC reply is not FAST-armored")

// ErrFASTRequired means FAST was required but is not possible: no armor
// was given, the KDC does not offer FAST, or the KDC offers the client's
// mechanisms (OTP) only inside FAST and the login has no armor.
var ErrFASTRequired = preauth.ErrFASTRequired

// krbFastArmor is KrbFastArmor (RFC 6113 §5.4.1).
type krbFastArmor struct {
	ArmorType  int32  `asn1:"explicit,tag:0"`
	ArmorValue []byte `asn1:"explicit,tag:1"`
}

// krbFastArmoredReq is KrbFastArmoredReq (RFC 6113 §5.4.2).
type krbFastArmoredReq struct {
	Armor       krbFastArmor        `asn1:"explicit,optional,tag:0"`
	ReqChecksum types.Checksum      `asn1:"explicit,tag:1"`
	EncFastReq  types.EncryptedData `asn1:"explicit,tag:2"`
}

// krbFastReq is KrbFastReq (RFC 6113 §5.4.2); the body is the request's
// KDC-REQ-BODY, its [2] wrapper built by hand.
type krbFastReq struct {
	FastOptions asn1.BitString       `asn1:"explicit,tag:0"`
	PAData      types.PADataSequence `asn1:"explicit,tag:1"`
	ReqBody     asn1.RawValue
}

// krbFastArmoredRep is KrbFastArmoredRep (RFC 6113 §5.4.3).
type krbFastArmoredRep struct {
	EncFastRep types.EncryptedData `asn1:"explicit,tag:0"`
}

// krbFastResponse is KrbFastResponse (RFC 6113 §5.4.3).
type krbFastResponse struct {
	PAData        types.PADataSequence `asn1:"explicit,tag:0"`
	StrengthenKey types.EncryptionKey  `asn1:"explicit,optional,tag:1"`
	Finished      krbFastFinished      `asn1:"explicit,optional,tag:2"`
	Nonce         int64                `asn1:"explicit,tag:3"`
}

// krbFastFinished is KrbFastFinished (RFC 6113 §5.4.3).
type krbFastFinished struct {
	Timestamp      time.Time           `asn1:"generalized,explicit,tag:0"`
	Usec           int                 `asn1:"explicit,tag:1"`
	CRealm         string              `asn1:"generalstring,explicit,tag:2"`
	CName          types.PrincipalName `asn1:"explicit,tag:3"`
	TicketChecksum types.Checksum      `asn1:"explicit,tag:4"`
}

// fastState is one exchange's armor: the AP-REQ that carries it and the
// armor key both sides derive.
type fastState struct {
	armor    []byte              // encoded AP-REQ
	armorKey types.EncryptionKey // KRB-FX-CF2(subkey, ticket session key)
}

// Armor is a ticket-granting ticket used to armor a login with FAST:
// usually a host's TGT from its keytab, or an anonymous PKINIT TGT.
type Armor struct {
	Client     Principal
	Ticket     []byte // the TGT as encoded
	SessionKey types.EncryptionKey
	Realm      string // the TGT's realm: it armors logins to this realm
	// FASTAvailable is true when the cache recorded that this realm's KDC
	// supports FAST (MIT's fast_avail configuration entry).
	FASTAvailable bool
}

// ArmorFromCCache takes the armor TGT for realm from a credential cache,
// such as one written by kinit -k or by WriteCCache (kinit -T).
func ArmorFromCCache(cc *ccache.Cache, realm string) (*Armor, error) {
	tgt, err := TGTFromCCache(cc, realm)
	if err != nil {
		return nil, fmt.Errorf("armor cache: %w", err)
	}
	if time.Now().After(tgt.EndTime) {
		return nil, fmt.Errorf("armor ticket for %s expired at %s", realm, tgt.EndTime.UTC().Format(time.RFC3339))
	}
	return ArmorFromCredentials(tgt), nil
}

// ArmorFromCredentials uses credentials from a login (a service's own TGT
// kept in memory) as armor.
func ArmorFromCredentials(c *Credentials) *Armor {
	return &Armor{Client: c.Client, Ticket: c.Ticket, SessionKey: c.SessionKey, Realm: c.Server.Realm, FASTAvailable: c.FASTAvailable}
}

// newFASTState builds the armor for one exchange: an AP-REQ with a fresh
// subkey, and the armor key KRB-FX-CF2(subkey, session key, "subkeyarmor",
// "ticketarmor") (RFC 6113 §5.4.1.1).
func newFASTState(a *Armor) (*fastState, error) {
	var tkt messages.Ticket
	if err := tkt.Unmarshal(a.Ticket); err != nil {
		return nil, fmt.Errorf("armor ticket: %w", err)
	}
	auth, err := types.NewAuthenticator(a.Client.Realm, a.Client.Name)
	if err != nil {
		return nil, err
	}
	auth.CTime = auth.CTime.Truncate(time.Second)
	if auth.SubKey, err = prf.RandomKey(a.SessionKey.KeyType); err != nil {
		return nil, fmt.Errorf("armor subkey: %w", err)
	}
	ab, err := auth.Marshal()
	if err != nil {
		return nil, err
	}
	// MIT's KDC reads the armor with the ordinary AP-REQ authenticator usage
	// (11); gokrb5's NewAPReq would use the TGS one for a krbtgt ticket.
	enc, err := crypto.GetEncryptedData(ab, a.SessionKey, usageAPReqAuth, 0)
	if err != nil {
		return nil, err
	}
	ap := messages.APReq{PVNO: 5, MsgType: msgtype.KRB_AP_REQ, APOptions: types.NewKrbFlags(), Ticket: tkt, EncryptedAuthenticator: enc}
	apb, err := ap.Marshal()
	if err != nil {
		return nil, err
	}
	key, err := prf.CF2(auth.SubKey, a.SessionKey, "subkeyarmor", "ticketarmor")
	if err != nil {
		return nil, fmt.Errorf("armor key: %w", err)
	}
	return &fastState{armor: apb, armorKey: key}, nil
}

// wrap builds the armored AS-REQ (RFC 6113 §5.4.2): the outer request
// carries only PA-FX-FAST; the inner KrbFastReq carries the real padata and
// the body, encrypted in the armor key; the checksum binds the outer body.
func (f *fastState) wrap(padata types.PADataSequence, body []byte) ([]byte, error) {
	wrappedBody, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, IsCompound: true, Bytes: body})
	if err != nil {
		return nil, err
	}
	if padata == nil {
		padata = types.PADataSequence{}
	}
	inner, err := asn1.Marshal(krbFastReq{FastOptions: types.NewKrbFlags(), PAData: padata, ReqBody: asn1.RawValue{FullBytes: wrappedBody}})
	if err != nil {
		return nil, fmt.Errorf("encoding KrbFastReq: %w", err)
	}
	et, err := crypto.GetEtype(f.armorKey.KeyType)
	if err != nil {
		return nil, err
	}
	sum, err := et.GetChecksumHash(f.armorKey.KeyValue, body, usageFastReqChksum)
	if err != nil {
		return nil, err
	}
	enc, err := crypto.GetEncryptedData(inner, f.armorKey, usageFastEnc, 0)
	if err != nil {
		return nil, err
	}
	armored, err := asn1.Marshal(krbFastArmoredReq{
		Armor:       krbFastArmor{ArmorType: armorAPRequest, ArmorValue: f.armor},
		ReqChecksum: types.Checksum{CksumType: et.GetHashID(), Checksum: sum},
		EncFastReq:  enc,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding KrbFastArmoredReq: %w", err)
	}
	choice, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: armored})
	if err != nil {
		return nil, err
	}
	return encodeASReq(types.PADataSequence{{PADataType: paFXFast, PADataValue: choice}}, body)
}

// unwrap decrypts the KrbFastResponse in a KDC message's PA-FX-FAST and
// checks its nonce against the request's.
func (f *fastState) unwrap(pas types.PADataSequence, nonce int) (*krbFastResponse, error) {
	v, ok := preauth.Find(pas, paFXFast)
	if !ok {
		return nil, ErrUnarmoredReply
	}
	resp, err := decodeFASTReply(v, f.armorKey)
	if err != nil {
		return nil, err
	}
	if resp.Nonce != int64(nonce) {
		return nil, fmt.Errorf("%w: nonce modified in FAST response", ErrBadReply)
	}
	return resp, nil
}

// decodeFASTReply decodes PA-FX-FAST-REPLY and decrypts its KrbFastResponse
// with the armor key (usage 52).
func decodeFASTReply(b []byte, armorKey types.EncryptionKey) (resp *krbFastResponse, err error) {
	defer recoverDecode("PA-FX-FAST-REPLY", &err)
	var choice asn1.RawValue
	if _, err := asn1.Unmarshal(b, &choice); err != nil || choice.Class != asn1.ClassContextSpecific || choice.Tag != 0 {
		return nil, fmt.Errorf("%w: PA-FX-FAST-REPLY is not armored-data", ErrBadReply)
	}
	var rep krbFastArmoredRep
	if _, err := asn1.Unmarshal(choice.Bytes, &rep); err != nil {
		return nil, fmt.Errorf("%w: KrbFastArmoredRep: %v", ErrBadReply, err)
	}
	plain, err := decrypt(rep.EncFastRep, armorKey, usageFastRep)
	if err != nil {
		return nil, fmt.Errorf("%w: FAST response does not decrypt with the armor key", ErrBadReply)
	}
	return decodeFASTResponse(plain)
}

// decodeFASTResponse decodes a decrypted KrbFastResponse.
func decodeFASTResponse(b []byte) (resp *krbFastResponse, err error) {
	defer recoverDecode("KrbFastResponse", &err)
	var r krbFastResponse
	rest, err := asn1.Unmarshal(b, &r)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d trailing bytes", len(rest))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: KrbFastResponse: %v", ErrBadReply, err)
	}
	return &r, nil
}

// decodeFXError decodes PA-FX-ERROR: the KDC's real KRB-ERROR, carried
// inside the armored response (RFC 6113 §5.4.3).
func decodeFXError(b []byte) (*messages.KRBError, error) {
	return decodeKRBError(b)
}

// verifyFinished checks KrbFastFinished: the ticket checksum binds the
// ticket to the armored exchange (usage 53). It returns the client name the
// KDC authenticated, which replaces the unprotected one in the AS-REP.
func (f *fastState) verifyFinished(resp *krbFastResponse, ticket []byte) (Principal, error) {
	fin := resp.Finished
	if fin.TicketChecksum.CksumType == 0 && len(fin.TicketChecksum.Checksum) == 0 {
		return Principal{}, fmt.Errorf("%w: FAST response missing finish message in KDC reply", ErrBadReply)
	}
	et, err := crypto.GetChksumEtype(fin.TicketChecksum.CksumType)
	if err != nil || et.GetETypeID() != f.armorKey.KeyType {
		return Principal{}, fmt.Errorf("%w: FAST finished checksum of type %d", ErrBadReply, fin.TicketChecksum.CksumType)
	}
	want, err := et.GetChecksumHash(f.armorKey.KeyValue, ticket, usageFastFinished)
	if err != nil || !hmac.Equal(want, fin.TicketChecksum.Checksum) {
		return Principal{}, fmt.Errorf("%w: ticket modified in KDC reply (FAST finished checksum mismatch)", ErrBadReply)
	}
	return Principal{Name: fin.CName, Realm: fin.CRealm}, nil
}

// reqEncPARepValid checks the KDC's PA-REQ-ENC-PA-REP (RFC 6806 §11): a
// checksum, under the reply key, of the AS-REQ we sent. It is required when
// the ticket's enc-pa-rep flag says the KDC honoured our request for it;
// a KDC that ignores the request (Active Directory) sets no flag.
func reqEncPARepValid(encPA types.PADataSequence, req []byte, key types.EncryptionKey) error {
	v, ok := preauth.Find(encPA, paReqEncPARep)
	if !ok {
		return fmt.Errorf("%w: enc-pa-rep flag set but no PA-REQ-ENC-PA-REP", ErrBadReply)
	}
	var sum types.Checksum
	if _, err := asn1.Unmarshal(v, &sum); err != nil {
		return fmt.Errorf("%w: PA-REQ-ENC-PA-REP: %v", ErrBadReply, err)
	}
	et, err := crypto.GetChksumEtype(sum.CksumType)
	if err != nil {
		return fmt.Errorf("%w: PA-REQ-ENC-PA-REP checksum type %d", ErrBadReply, sum.CksumType)
	}
	want, err := et.GetChecksumHash(key.KeyValue, req, usageASReq)
	if err != nil || !hmac.Equal(want, sum.Checksum) {
		return fmt.Errorf("%w: request modified in transit (PA-REQ-ENC-PA-REP mismatch)", ErrBadReply)
	}
	return nil
}
