package krb

import (
	"fmt"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// PA types the engine itself reads or writes (RFC 4120 §7.5.2, RFC 6113).
const (
	paPWSalt     = 3
	paETypeInfo  = 11
	paETypeInfo2 = 19
	paPACRequest = 128
	paFXCookie   = 133
)

// Leading bytes of DER-encoded KDC messages: APPLICATION tags, constructed.
const (
	tagASRep    = 0x60 | asnAppTag.ASREP    // 0x6b
	tagKRBError = 0x60 | asnAppTag.KRBError // 0x7e
)

// kdcReqBody is KDC-REQ-BODY (RFC 4120 §5.4.1) as this client sends it. The
// body is encoded once per request and the same bytes are sent and handed to
// mechanisms, which checksum them.
type kdcReqBody struct {
	KDCOptions asn1.BitString      `asn1:"explicit,tag:0"`
	CName      types.PrincipalName `asn1:"explicit,optional,tag:1"`
	Realm      string              `asn1:"generalstring,explicit,tag:2"`
	SName      types.PrincipalName `asn1:"explicit,optional,tag:3"`
	From       time.Time           `asn1:"generalized,explicit,optional,tag:4"`
	Till       time.Time           `asn1:"generalized,explicit,tag:5"`
	RTime      time.Time           `asn1:"generalized,explicit,optional,tag:6"`
	Nonce      int                 `asn1:"explicit,tag:7"`
	EType      []int32             `asn1:"explicit,tag:8"`
	Addresses  []types.HostAddress `asn1:"explicit,optional,tag:9"`
}

// kdcReq is KDC-REQ with the body kept as encoded.
type kdcReq struct {
	PVNO    int                  `asn1:"explicit,tag:1"`
	MsgType int                  `asn1:"explicit,tag:2"`
	PAData  types.PADataSequence `asn1:"explicit,optional,tag:3"`
	ReqBody asn1.RawValue        // [4] wrapper built by encodeASReq
}

// encodeASReq builds AS-REQ ::= [APPLICATION 10] KDC-REQ.
func encodeASReq(padata types.PADataSequence, body []byte) ([]byte, error) {
	if len(padata) == 0 {
		padata = nil // an empty SEQUENCE OF is still encoded; leave the field out
	}
	// The body goes in as the exact bytes mechanisms checksummed, wrapped
	// in its [4] EXPLICIT tag (FullBytes bypasses the field's tag).
	wrapped, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: body})
	if err != nil {
		return nil, fmt.Errorf("encoding AS-REQ: %w", err)
	}
	b, err := asn1.Marshal(kdcReq{PVNO: 5, MsgType: msgtype.KRB_AS_REQ, PAData: padata, ReqBody: asn1.RawValue{FullBytes: wrapped}})
	if err != nil {
		return nil, fmt.Errorf("encoding AS-REQ: %w", err)
	}
	return asn1tools.AddASNAppTag(b, asnAppTag.ASREQ), nil
}

// asRep is AS-REP (RFC 4120 §5.4.2) with the ticket kept as the KDC encoded
// it, so that the ccache holds the exact bytes.
type asRep struct {
	PVNO    int                  `asn1:"explicit,tag:0"`
	MsgType int                  `asn1:"explicit,tag:1"`
	PAData  types.PADataSequence `asn1:"explicit,optional,tag:2"`
	CRealm  string               `asn1:"generalstring,explicit,tag:3"`
	CName   types.PrincipalName  `asn1:"explicit,tag:4"`
	Ticket  asn1.RawValue        `asn1:"explicit,tag:5"` // .Bytes is the Ticket as encoded
	EncPart types.EncryptedData  `asn1:"explicit,tag:6"`
}

// decodeASRep decodes an AS-REP from the KDC. Hostile input gives an error
// wrapping ErrBadReply, never a panic.
func decodeASRep(b []byte) (*asRep, error) {
	return decodeKDCRep(b, asnAppTag.ASREP, msgtype.KRB_AS_REP)
}

// decodeKDCRep decodes a KDC-REP (RFC 4120 §5.4.2): an AS-REP or, for
// renewals, a TGS-REP, which differ only in their tags.
func decodeKDCRep(b []byte, appTag, msgType int) (rep *asRep, err error) {
	what := "AS-REP"
	if msgType == msgtype.KRB_TGS_REP {
		what = "TGS-REP"
	}
	defer recoverDecode(what, &err)
	var m asRep
	rest, err := asn1.UnmarshalWithParams(b, &m, fmt.Sprintf("application,explicit,tag:%d", appTag))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadReply, what, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %s: %d trailing bytes", ErrBadReply, what, len(rest))
	}
	if m.PVNO != 5 || m.MsgType != msgType {
		return nil, fmt.Errorf("%w: %s: pvno %d, msg-type %d", ErrBadReply, what, m.PVNO, m.MsgType)
	}
	var t messages.Ticket
	if err := t.Unmarshal(m.Ticket.Bytes); err != nil {
		return nil, fmt.Errorf("%w: %s ticket: %v", ErrBadReply, what, err)
	}
	return &m, nil
}

// decodeKRBError decodes a KRB-ERROR (RFC 4120 §5.9.1).
func decodeKRBError(b []byte) (e *messages.KRBError, err error) {
	defer recoverDecode("KRB-ERROR", &err)
	var m messages.KRBError
	if err := m.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: KRB-ERROR: %v", ErrBadReply, err)
	}
	if m.PVNO != 5 {
		return nil, fmt.Errorf("%w: KRB-ERROR: pvno %d", ErrBadReply, m.PVNO)
	}
	return &m, nil
}

// decodeMethodData decodes the e-data of a KRB-ERROR as METHOD-DATA
// (RFC 4120 §5.9.1). Other e-data (TYPED-DATA, or nothing) gives nil.
func decodeMethodData(edata []byte) (pas types.PADataSequence, err error) {
	if len(edata) == 0 {
		return nil, nil
	}
	defer recoverDecode("METHOD-DATA", &err)
	rest, err := asn1.Unmarshal(edata, &pas)
	if err != nil {
		return nil, fmt.Errorf("%w: METHOD-DATA: %v", ErrBadReply, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: METHOD-DATA: %d trailing bytes", ErrBadReply, len(rest))
	}
	return pas, nil
}

// decodeETypeInfo2 decodes PA-ETYPE-INFO2 (RFC 4120 §5.2.7.5).
func decodeETypeInfo2(b []byte) (info types.ETypeInfo2, err error) {
	defer recoverDecode("ETYPE-INFO2", &err)
	rest, err := asn1.Unmarshal(b, &info)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d trailing bytes", len(rest))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: ETYPE-INFO2: %v", ErrBadReply, err)
	}
	return info, nil
}

// decodeETypeInfo decodes the older PA-ETYPE-INFO (RFC 4120 §5.2.7.4).
func decodeETypeInfo(b []byte) (info types.ETypeInfo, err error) {
	defer recoverDecode("ETYPE-INFO", &err)
	if _, err := asn1.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%w: ETYPE-INFO: %v", ErrBadReply, err)
	}
	return info, nil
}

// decodeEncASRepPart decodes the decrypted EncASRepPart, accepting the
// EncTGSRepPart tag that some KDCs send (RFC 4120 §5.4.2 compatibility note).
func decodeEncASRepPart(b []byte) (p *messages.EncKDCRepPart, err error) {
	defer recoverDecode("EncASRepPart", &err)
	var m messages.EncKDCRepPart
	if err := m.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: EncASRepPart: %v", ErrBadReply, err)
	}
	return &m, nil
}

// recoverDecode turns a panic inside the third-party ASN.1 decoder into an
// error: KDC input must never crash the client.
func recoverDecode(what string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s: malformed encoding", ErrBadReply, what)
	}
}

// decrypt decrypts KDC data, turning a panic of gokrb5's decryption (it
// slices ciphertext shorter than confounder plus checksum without checking)
// into an error: a forged reply must never crash the client.
func decrypt(ed types.EncryptedData, key types.EncryptionKey, usage uint32) (plain []byte, err error) {
	defer func() {
		if recover() != nil {
			plain, err = nil, fmt.Errorf("%w: ciphertext too short to decrypt", ErrBadReply)
		}
	}()
	return crypto.DecryptEncPart(ed, key, usage)
}
