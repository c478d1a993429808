package pkinit

import (
	stdasn1 "encoding/asn1"
	"errors"
	"fmt"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Object identifiers (RFC 4556 §3.1, RFC 8636 §7, RFC 3279).
var (
	oidPKINITAuthData  = stdasn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 3, 1} // id-pkinit-authData
	oidPKINITDHKeyData = stdasn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 3, 2} // id-pkinit-DHKeyData
	oidPKINITKPClient  = stdasn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 3, 4} // id-pkinit-KPClientAuth
	oidPKINITKPKdc     = stdasn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 3, 5} // id-pkinit-KPKdc
	oidPKINITSAN       = stdasn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 2}    // id-pkinit-san
	oidDHPublicNumber  = stdasn1.ObjectIdentifier{1, 2, 840, 10046, 2, 1} // dhpublicnumber (X9.42)
	oidSignedData      = stdasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidECPublicKey     = stdasn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}

	// RFC 8636 §7 key derivation functions, in the order offered.
	oidKDFSHA1   = stdasn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 3, 6, 1}
	oidKDFSHA256 = stdasn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 3, 6, 2}
	oidKDFSHA512 = stdasn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 3, 6, 3}
)

// PA types and typed-data types this package handles.
const (
	PATypePKASReq   = 16  // PA-PK-AS-REQ
	PATypePKASRep   = 17  // PA-PK-AS-REP
	PATypePKINITKX  = 147 // PA-PKINIT-KX (RFC 8062 §7)
	PATypeFreshness = 150 // PA-AS-FRESHNESS (RFC 8070)

	tdDHParameters = 109 // TD-DH-PARAMETERS (RFC 4556 §3.2.2)
)

// KDC error codes of RFC 4556 §3.1.3 that the mechanism reacts to.
const (
	errDHKeyParametersNotAccepted = 65 // KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED
)

// paPKASReq is PA-PK-AS-REQ (RFC 4556 §3.2.1), without the optional
// trustedCertifiers and kdcPkId.
type paPKASReq struct {
	SignedAuthPack []byte `asn1:"tag:0"`
}

// pkAuthenticator is PKAuthenticator (RFC 4556 §3.2.1, RFC 8070 §4).
type pkAuthenticator struct {
	Cusec          int       `asn1:"explicit,tag:0"`
	Ctime          time.Time `asn1:"generalized,explicit,tag:1"`
	Nonce          int64     `asn1:"explicit,tag:2"`
	PAChecksum     []byte    `asn1:"optional,explicit,tag:3"`
	FreshnessToken []byte    `asn1:"optional,explicit,tag:4"`
}

// kdfAlgorithmID is KDFAlgorithmId (RFC 8636 §6).
type kdfAlgorithmID struct {
	KDFID stdasn1.ObjectIdentifier `asn1:"explicit,tag:0"`
}

// authPack is AuthPack (RFC 4556 §3.2.1, RFC 8636 §6). ClientPublicValue
// is the [1] wrapper around a SubjectPublicKeyInfo, built by hand because
// encoding/asn1 ignores "explicit" on a RawValue.
type authPack struct {
	PKAuthenticator   pkAuthenticator `asn1:"explicit,tag:0"`
	ClientPublicValue stdasn1.RawValue
	SupportedKDFs     []kdfAlgorithmID `asn1:"optional,explicit,tag:4"`
}

// dhRepInfo is DHRepInfo (RFC 4556 §3.2.3, RFC 8636 §6).
type dhRepInfo struct {
	DHSignedData  []byte         `asn1:"tag:0"`
	ServerDHNonce []byte         `asn1:"optional,explicit,tag:1"`
	KDF           kdfAlgorithmID `asn1:"optional,explicit,tag:2"`
}

// kdcDHKeyInfo is KDCDHKeyInfo (RFC 4556 §3.2.3.1).
type kdcDHKeyInfo struct {
	SubjectPublicKey stdasn1.BitString `asn1:"explicit,tag:0"`
	Nonce            int64             `asn1:"explicit,tag:1"`
	DHKeyExpiration  time.Time         `asn1:"generalized,optional,explicit,tag:2"`
}

// domainParameters is X9.42 DomainParameters (RFC 3279 §2.3.3).
type domainParameters struct {
	P, G, Q stdasn1.RawValue
	Rest    []stdasn1.RawValue `asn1:"optional"`
}

// algorithmIdentifier keeps parameters raw.
type algorithmIdentifier struct {
	Algorithm  stdasn1.ObjectIdentifier
	Parameters stdasn1.RawValue `asn1:"optional"`
}

// subjectPublicKeyInfo is the X.509 SubjectPublicKeyInfo.
type subjectPublicKeyInfo struct {
	Algorithm algorithmIdentifier
	PublicKey stdasn1.BitString
}

// krb5PrincipalName is KRB5PrincipalName (RFC 4556 §3.2.2), the form of
// id-pkinit-san and of the RFC 8636 party names.
type krb5PrincipalName struct {
	Realm         string              `asn1:"generalstring,explicit,tag:0"`
	PrincipalName types.PrincipalName `asn1:"explicit,tag:1"`
}

// typedData is one TYPED-DATA element (RFC 4120 §5.9.1).
type typedData struct {
	DataType  int32  `asn1:"explicit,tag:0"`
	DataValue []byte `asn1:"optional,explicit,tag:1"`
}

// decodeReqBody decodes the request's KDC-REQ-BODY (RFC 4120 §5.4.1): the
// mechanism reads the names for the KDF and the nonce for the
// PKAuthenticator.
func decodeReqBody(b []byte) (*messages.KDCReqBody, error) {
	var body messages.KDCReqBody
	if err := body.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("pkinit: decoding the request body: %w", err)
	}
	return &body, nil
}

// ErrBadReply means the KDC's PA-PK-AS-REP could not be decoded or does not
// match the request.
var ErrBadReply = errors.New("malformed PKINIT reply from the KDC")

// parsedReply is a decoded PA-PK-AS-REP with the DH choice.
type parsedReply struct {
	signedData []byte         // dhSignedData: a CMS ContentInfo
	kdf        kdfAlgorithmID // zero when the KDC chose none
	nonce      []byte         // serverDHNonce
}

// parsePKASRep decodes PA-PK-AS-REP (RFC 4556 §3.2.3). Only the DH choice
// is accepted: the client never offers RSA key transport.
func parsePKASRep(b []byte) (*parsedReply, error) {
	var choice stdasn1.RawValue
	rest, err := stdasn1.Unmarshal(b, &choice)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReply, err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: trailing data", ErrBadReply)
	}
	if choice.Class != stdasn1.ClassContextSpecific {
		return nil, fmt.Errorf("%w: not a PA-PK-AS-REP", ErrBadReply)
	}
	switch choice.Tag {
	case 0:
	case 1:
		return nil, fmt.Errorf("%w: the KDC used RSA key transport, which was not offered", ErrBadReply)
	default:
		return nil, fmt.Errorf("%w: unknown PA-PK-AS-REP choice %d", ErrBadReply, choice.Tag)
	}
	var info dhRepInfo
	if rest, err := stdasn1.Unmarshal(choice.Bytes, &info); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: DHRepInfo: %v", ErrBadReply, err)
	}
	if len(info.DHSignedData) == 0 {
		return nil, fmt.Errorf("%w: empty dhSignedData", ErrBadReply)
	}
	return &parsedReply{signedData: info.DHSignedData, kdf: info.KDF, nonce: info.ServerDHNonce}, nil
}

// parseTDDHParameters decodes TD-DH-PARAMETERS from a KRB-ERROR's e-data
// (TYPED-DATA, RFC 4556 §3.2.2): the key agreement parameters the KDC
// accepts, in its order of preference.
func parseTDDHParameters(edata []byte) ([]algorithmIdentifier, error) {
	var tds []typedData
	if _, err := asn1.Unmarshal(edata, &tds); err != nil {
		return nil, fmt.Errorf("%w: e-data is not TYPED-DATA: %v", ErrBadReply, err)
	}
	for _, td := range tds {
		if td.DataType != tdDHParameters {
			continue
		}
		var algs []algorithmIdentifier
		if _, err := stdasn1.Unmarshal(td.DataValue, &algs); err != nil {
			return nil, fmt.Errorf("%w: TD-DH-PARAMETERS: %v", ErrBadReply, err)
		}
		return algs, nil
	}
	return nil, fmt.Errorf("%w: no TD-DH-PARAMETERS in the error", ErrBadReply)
}

// contextExplicit wraps der in an explicit context tag.
func contextExplicit(tag int, der []byte) stdasn1.RawValue {
	return stdasn1.RawValue{Class: stdasn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: der}
}
