package pkinit

import (
	"crypto/x509"
	"crypto/x509/pkix"
	stdasn1 "encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/smallstep/pkcs7"
)

// signAuthPack wraps the AuthPack in a CMS SignedData signed by the
// client's key, with content type id-pkinit-authData (RFC 4556 §3.2.1),
// SHA-256 digests and the client's certificate chain.
func signAuthPack(authPack []byte, id *identity) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(authPack)
	if err != nil {
		return nil, err
	}
	sd.GetSignedData().ContentInfo.ContentType = oidPKINITAuthData
	sd.GetSignedData().Version = 3 // CMS: eContentType other than id-data
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(id.cert, id.signer, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("pkinit: signing the AuthPack: %w", err)
	}
	for _, c := range id.chain {
		sd.AddCertificate(c)
	}
	return sd.Finish()
}

// encapContentInfo is the part of a SignedData the unsigned form needs.
type encapContentInfo struct {
	EContentType stdasn1.ObjectIdentifier
	EContent     stdasn1.RawValue `asn1:"optional"` // [0] EXPLICIT OCTET STRING, kept whole
}

type unsignedSignedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	SignerInfos      []stdasn1.RawValue `asn1:"set"`
}

// contentInfo is CMS ContentInfo; Content is the whole [0] EXPLICIT
// element (encoding/asn1 ignores "explicit" on a RawValue).
type contentInfo struct {
	ContentType stdasn1.ObjectIdentifier
	Content     stdasn1.RawValue
}

// unsignedAuthPack wraps the AuthPack in a SignedData with no signer and no
// certificate, as anonymous PKINIT sends it (RFC 8062 §4.1).
func unsignedAuthPack(authPack []byte) ([]byte, error) {
	octets, err := stdasn1.Marshal(authPack)
	if err != nil {
		return nil, err
	}
	inner, err := stdasn1.Marshal(unsignedSignedData{
		Version:          3,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{},
		EncapContentInfo: encapContentInfo{
			EContentType: oidPKINITAuthData,
			EContent:     contextExplicit(0, octets),
		},
		SignerInfos: []stdasn1.RawValue{},
	})
	if err != nil {
		return nil, err
	}
	return stdasn1.Marshal(contentInfo{ContentType: oidSignedData, Content: contextExplicit(0, inner)})
}

// KDC certificate errors.
var (
	// ErrKDCNotTrusted means the KDC's certificate does not chain to the
	// configured pkinit_anchors (MIT's KDC_ERR_KDC_NOT_TRUSTED).
	ErrKDCNotTrusted = errors.New("the KDC's certificate is not trusted")
	// ErrKDCNameMismatch means the KDC's certificate does not name the
	// realm's KDC (MIT's KDC_ERR_KDC_NAME_MISMATCH).
	ErrKDCNameMismatch = errors.New("the KDC's certificate does not name the KDC of the realm")
	// ErrKDCKeyPurpose means the KDC's certificate lacks id-pkinit-KPKdc
	// (MIT's KDC_ERR_INCONSISTENT_KEY_PURPOSE).
	ErrKDCKeyPurpose = errors.New("the KDC's certificate is not for KDC use")
	// ErrKDCSignature means the KDC's signature does not verify.
	ErrKDCSignature = errors.New("the KDC's signature does not verify")
	// ErrNoAnchors means no pkinit_anchors are configured, so the KDC
	// cannot be authenticated.
	ErrNoAnchors = errors.New("no pkinit_anchors are configured")
)

// kdcPolicy is how the KDC's certificate is checked.
type kdcPolicy struct {
	roots     *x509.CertPool
	realm     string
	hostnames []string // pkinit_kdc_hostname
	serverEKU bool     // pkinit_eku_checking = kpServerAuth
	now       time.Time
}

// verifyKDCSignedData checks the KDC's SignedData (RFC 4556 §3.2.3): a
// single signer whose signature verifies, whose certificate chains to the
// anchors, carries id-pkinit-KPKdc and names krbtgt/REALM@REALM in
// id-pkinit-san (or a pkinit_kdc_hostname in a dNSName), over content of
// type id-pkinit-DHKeyData. It returns the content.
func verifyKDCSignedData(der []byte, pol kdcPolicy) ([]byte, error) {
	v, err := verifyCMSSignedData(der)
	if err != nil {
		return nil, err
	}
	// The outer eContentType; with signed attributes the signed
	// content-type was checked against it (RFC 5652 §11.1).
	if !v.ContentType.Equal(oidPKINITDHKeyData) {
		return nil, fmt.Errorf("%w: signed content type %v is not id-pkinit-DHKeyData", ErrBadReply, v.ContentType)
	}
	if pol.roots == nil {
		return nil, ErrNoAnchors
	}
	inter := x509.NewCertPool()
	for _, c := range v.Certs {
		inter.AddCert(c)
	}
	if _, err := v.Signer.Verify(x509.VerifyOptions{
		Roots: pol.roots, Intermediates: inter, CurrentTime: pol.now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKDCNotTrusted, err)
	}
	if err := checkKDCCert(v.Signer, pol); err != nil {
		return nil, err
	}
	return v.Content, nil
}

// checkKDCCert applies RFC 4556 §3.2.4's name and key purpose checks.
func checkKDCCert(cert *x509.Certificate, pol kdcPolicy) error {
	want := types.PrincipalName{NameType: 2, NameString: []string{"krbtgt", pol.realm}}
	names, err := pkinitSANs(cert)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrKDCNameMismatch, err)
	}
	ok := false
	for _, n := range names {
		if n.Realm == pol.realm && slices.Equal(n.PrincipalName.NameString, want.NameString) {
			ok = true
		}
	}
	if !ok {
		for _, h := range pol.hostnames {
			for _, d := range cert.DNSNames {
				if strings.EqualFold(h, d) {
					ok = true
				}
			}
		}
	}
	if !ok {
		return fmt.Errorf("%w: it does not name krbtgt/%s@%s", ErrKDCNameMismatch, pol.realm, pol.realm)
	}
	for _, oid := range cert.UnknownExtKeyUsage {
		if oid.Equal(oidPKINITKPKdc) {
			return nil
		}
	}
	if pol.serverEKU && slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		return nil
	}
	return ErrKDCKeyPurpose
}

// pkinitSANs returns the id-pkinit-san names (KRB5PrincipalName) of a
// certificate's subjectAltName (RFC 4556 §3.2.2).
func pkinitSANs(cert *x509.Certificate) ([]krb5PrincipalName, error) {
	var out []krb5PrincipalName
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(stdasn1.ObjectIdentifier{2, 5, 29, 17}) {
			continue
		}
		var seq stdasn1.RawValue
		if _, err := stdasn1.Unmarshal(ext.Value, &seq); err != nil {
			return nil, err
		}
		rest := seq.Bytes
		for len(rest) > 0 {
			var gn stdasn1.RawValue
			var err error
			if rest, err = stdasn1.Unmarshal(rest, &gn); err != nil {
				return nil, err
			}
			if gn.Class != stdasn1.ClassContextSpecific || gn.Tag != 0 {
				continue // not an otherName
			}
			var other struct {
				TypeID stdasn1.ObjectIdentifier
				Value  stdasn1.RawValue // [0] EXPLICIT, unwrapped below
			}
			if _, err := stdasn1.UnmarshalWithParams(gn.FullBytes, &other, "tag:0"); err != nil {
				continue
			}
			if !other.TypeID.Equal(oidPKINITSAN) || other.Value.Class != stdasn1.ClassContextSpecific || other.Value.Tag != 0 {
				continue
			}
			var kpn krb5PrincipalName
			if _, err := asn1.Unmarshal(other.Value.Bytes, &kpn); err != nil {
				continue
			}
			out = append(out, kpn)
		}
	}
	return out, nil
}

// MarshalPKINITSAN returns the subjectAltName extension value holding one
// id-pkinit-san otherName for name@realm (RFC 4556 §3.2.2). Test
// certificate authorities use it.
func MarshalPKINITSAN(realm string, nameType int32, components ...string) ([]byte, error) {
	kpn, err := asn1.Marshal(krb5PrincipalName{Realm: realm, PrincipalName: types.PrincipalName{NameType: nameType, NameString: components}})
	if err != nil {
		return nil, err
	}
	other, err := stdasn1.Marshal(struct {
		TypeID stdasn1.ObjectIdentifier
		Value  stdasn1.RawValue
	}{oidPKINITSAN, contextExplicit(0, kpn)})
	if err != nil {
		return nil, err
	}
	// otherName is [0] IMPLICIT: replace the SEQUENCE tag.
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

// Exported object identifiers for certificate authorities (tests, tools).
var (
	OIDKPClientAuth = oidPKINITKPClient // id-pkinit-KPClientAuth
	OIDKPKdc        = oidPKINITKPKdc    // id-pkinit-KPKdc
)

// parsePKCS7 parses a SignedData with smallstep/pkcs7, turning its panics
// into errors; the KDC's SignedData is verified by verifyCMSSignedData, this
// is for tests that read certificates out of seeds.
func parsePKCS7(der []byte) (p7 *pkcs7.PKCS7, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("undecodable SignedData")
		}
	}()
	return pkcs7.Parse(der)
}
