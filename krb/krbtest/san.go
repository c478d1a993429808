package krbtest

import (
	stdasn1 "encoding/asn1"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/types"
)

// The certificate fields of PKINIT (RFC 4556 §3.2.2), encoded here rather
// than taken from package preauth/pkinit so that importing krbtest never
// links PKCS#11 (cgo): a test that only needs a KDC builds with
// CGO_ENABLED=0. The client's own encoder is checked against certificates
// made with these by the PKINIT tests, which MIT's KDC accepts.
var (
	oidKPClientAuth = stdasn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 3, 4} // id-pkinit-KPClientAuth
	oidKPKdc        = stdasn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 3, 5} // id-pkinit-KPKdc
	oidPKINITSAN    = stdasn1.ObjectIdentifier{1, 3, 6, 1, 5, 2, 2}    // id-pkinit-san
)

// marshalPKINITSAN returns a subjectAltName extension value holding one
// otherName id-pkinit-san with the KRB5PrincipalName realm and name
// (RFC 4556 §3.2.2).
func marshalPKINITSAN(realm string, nameType int32, components ...string) ([]byte, error) {
	kpn, err := asn1.Marshal(struct {
		Realm         string              `asn1:"generalstring,explicit,tag:0"`
		PrincipalName types.PrincipalName `asn1:"explicit,tag:1"`
	}{realm, types.PrincipalName{NameType: nameType, NameString: components}})
	if err != nil {
		return nil, err
	}
	// OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY },
	// as GeneralName's [0] IMPLICIT alternative.
	other, err := stdasn1.Marshal(struct {
		TypeID stdasn1.ObjectIdentifier
		Value  stdasn1.RawValue
	}{oidPKINITSAN, stdasn1.RawValue{Class: stdasn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: kpn}})
	if err != nil {
		return nil, err
	}
	var seq stdasn1.RawValue
	if _, err := stdasn1.Unmarshal(other, &seq); err != nil {
		return nil, err
	}
	gn, err := stdasn1.Marshal(stdasn1.RawValue{Class: stdasn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: seq.Bytes})
	if err != nil {
		return nil, err
	}
	return stdasn1.Marshal(stdasn1.RawValue{Class: stdasn1.ClassUniversal, Tag: stdasn1.TagSequence, IsCompound: true, Bytes: gn})
}
