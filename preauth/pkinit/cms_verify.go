package pkinit

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	_ "crypto/sha1" // SHA-1 digests: RFC 4556's baseline, which MIT and Heimdal accept
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	stdasn1 "encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// The KDC's SignedData is verified here over encoding/asn1 and crypto/x509
// rather than by smallstep/pkcs7 (which still builds the client's): that
// library identifies signers only by issuerAndSerialNumber, so Heimdal's
// KDC, which names its certificate by subjectKeyIdentifier whenever the
// certificate has one, reads as "0 signers"; and RFC 5652 also allows BER,
// signed attributes or none, and certificates left out. Every form is
// accepted or refused here deliberately:
//
//   - SignerIdentifier: issuerAndSerialNumber or [0] subjectKeyIdentifier
//     (RFC 5652 §5.3; Heimdal 7.8 sends the latter in BER's constructed
//     form, one OCTET STRING segment inside [0]), matched against the certificates the SignedData
//     carries. Certificates left out: refused, the KDC's certificate is
//     needed to check it against the anchors (RFC 4556 §3.2.3 has the KDC
//     include it; MIT's and Heimdal's KDCs do).
//   - signedAttrs present: content-type must be the eContentType and
//     message-digest the digest of the content; the signature covers the
//     attributes' DER with a SET tag (RFC 5652 §5.4). Absent: the
//     signature covers the content itself.
//   - BER (indefinite lengths, constructed OCTET STRINGs) is turned into DER
//     first (berToDER).
//   - Digests SHA-1, SHA-256, SHA-384, SHA-512; signatures RSA PKCS#1 v1.5
//     (rsaEncryption or sha*WithRSAEncryption), RSASSA-PSS, ECDSA, Ed25519.
//     SHA-1 is RFC 4556's baseline, which MIT's and Heimdal's clients accept.
//   - Exactly one signer (RFC 4556 §3.2.3).

// Object identifiers of CMS (RFC 5652 §11) and the algorithms accepted.
var (
	oidAttrContentType   = stdasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = stdasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}

	oidSHA1   = stdasn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = stdasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = stdasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = stdasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSAEncryption = stdasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA1WithRSA   = stdasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256WithRSA = stdasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA = stdasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA = stdasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidRSAPSS        = stdasn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidECDSAWithSHA1 = stdasn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidECDSAWithSHA2 = stdasn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3} // .2 SHA-256, .3 SHA-384, .4 SHA-512
	oidEd25519       = stdasn1.ObjectIdentifier{1, 3, 101, 112}
)

// cmsSignedData is RFC 5652 §5.1's SignedData with the parts kept raw that
// are matched or re-encoded later.
type cmsSignedData struct {
	Version          int
	DigestAlgorithms stdasn1.RawValue
	EncapContentInfo encapContentInfo
	Certificates     stdasn1.RawValue   `asn1:"optional,tag:0"`
	CRLs             stdasn1.RawValue   `asn1:"optional,tag:1"`
	SignerInfos      []stdasn1.RawValue `asn1:"set"`
}

// cmsSignerInfo is RFC 5652 §5.3's SignerInfo.
type cmsSignerInfo struct {
	Version            int
	SID                stdasn1.RawValue // issuerAndSerialNumber or [0] subjectKeyIdentifier
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        stdasn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      stdasn1.RawValue `asn1:"optional,tag:1"`
}

type cmsIssuerAndSerial struct {
	Issuer stdasn1.RawValue
	Serial *big.Int
}

type cmsAttribute struct {
	Type   stdasn1.ObjectIdentifier
	Values []stdasn1.RawValue `asn1:"set"`
}

// cmsVerified is a SignedData whose one signature verified: its content,
// content type, signer certificate and the other certificates it carried.
type cmsVerified struct {
	Content     []byte
	ContentType stdasn1.ObjectIdentifier
	Signer      *x509.Certificate
	Certs       []*x509.Certificate
}

// verifyCMSSignedData parses a ContentInfo holding a SignedData (DER or
// BER) and verifies its single signature, as described above. It does not
// check the signer's certificate chain or names; the caller does. Errors
// wrap ErrBadReply (undecodable) or ErrKDCSignature.
func verifyCMSSignedData(b []byte) (v *cmsVerified, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%w: undecodable SignedData", ErrBadReply)
		}
	}()
	der, err := berToDER(b)
	if err != nil {
		return nil, fmt.Errorf("%w: SignedData: %v", ErrBadReply, err)
	}
	var ci contentInfo
	if rest, err := stdasn1.Unmarshal(der, &ci); err != nil || len(rest) > 0 || !ci.ContentType.Equal(oidSignedData) ||
		ci.Content.Class != stdasn1.ClassContextSpecific || ci.Content.Tag != 0 {
		return nil, fmt.Errorf("%w: not a CMS SignedData", ErrBadReply)
	}
	var sd cmsSignedData
	if rest, err := stdasn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: SignedData: %v", ErrBadReply, err)
	}
	v = &cmsVerified{ContentType: sd.EncapContentInfo.EContentType}
	if ec := sd.EncapContentInfo.EContent; len(ec.FullBytes) > 0 {
		if ec.Class != stdasn1.ClassContextSpecific || ec.Tag != 0 {
			return nil, fmt.Errorf("%w: eContent is not [0]", ErrBadReply)
		}
		if _, err := stdasn1.Unmarshal(ec.Bytes, &v.Content); err != nil {
			return nil, fmt.Errorf("%w: eContent: %v", ErrBadReply, err)
		}
	} else {
		return nil, fmt.Errorf("%w: detached content", ErrBadReply)
	}
	// certificates [0] IMPLICIT SET OF CertificateChoices: only plain
	// certificates are used; other choices (attribute certificates) are
	// [n]-tagged and skipped.
	for rest := sd.Certificates.Bytes; len(rest) > 0; {
		var c stdasn1.RawValue
		if rest, err = stdasn1.Unmarshal(rest, &c); err != nil {
			return nil, fmt.Errorf("%w: certificates: %v", ErrBadReply, err)
		}
		if c.Class != stdasn1.ClassUniversal || c.Tag != stdasn1.TagSequence {
			continue
		}
		cert, err := x509.ParseCertificate(c.FullBytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate: %v", ErrBadReply, err)
		}
		v.Certs = append(v.Certs, cert)
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("%w: %d signers", ErrKDCSignature, len(sd.SignerInfos))
	}
	var si cmsSignerInfo
	if rest, err := stdasn1.Unmarshal(sd.SignerInfos[0].FullBytes, &si); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: SignerInfo: %v", ErrBadReply, err)
	}
	if v.Signer, err = findSigner(si.SID, v.Certs); err != nil {
		return nil, err
	}
	hash, err := cmsDigest(si.DigestAlgorithm.Algorithm)
	if err != nil {
		return nil, err
	}
	signed := v.Content
	if len(si.SignedAttrs.FullBytes) > 0 {
		if err := checkSignedAttrs(si.SignedAttrs.Bytes, v.ContentType, hash, v.Content); err != nil {
			return nil, err
		}
		// The signature covers the attributes with an explicit SET OF tag.
		signed = append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
	}
	if err := checkCMSSignature(v.Signer, si.SignatureAlgorithm, hash, signed, si.Signature); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKDCSignature, err)
	}
	return v, nil
}

// findSigner picks the certificate that sid names.
func findSigner(sid stdasn1.RawValue, certs []*x509.Certificate) (*x509.Certificate, error) {
	switch {
	case sid.Class == stdasn1.ClassUniversal && sid.Tag == stdasn1.TagSequence:
		var ias cmsIssuerAndSerial
		if _, err := stdasn1.Unmarshal(sid.FullBytes, &ias); err != nil || ias.Serial == nil {
			return nil, fmt.Errorf("%w: issuerAndSerialNumber: %v", ErrBadReply, err)
		}
		for _, c := range certs {
			if c.SerialNumber.Cmp(ias.Serial) == 0 && bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) {
				return c, nil
			}
		}
	case sid.Class == stdasn1.ClassContextSpecific && sid.Tag == 0:
		// [0] IMPLICIT OCTET STRING, primitive, or constructed from
		// OCTET STRING segments as BER allows (Heimdal 7.8's KDC sends
		// one segment).
		ski := sid.Bytes
		if sid.IsCompound {
			ski = nil
			for rest := sid.Bytes; len(rest) > 0; {
				var seg stdasn1.RawValue
				var err error
				if rest, err = stdasn1.Unmarshal(rest, &seg); err != nil || seg.Class != stdasn1.ClassUniversal ||
					seg.Tag != stdasn1.TagOctetString || seg.IsCompound {
					return nil, fmt.Errorf("%w: subjectKeyIdentifier is not an OCTET STRING", ErrBadReply)
				}
				ski = append(ski, seg.Bytes...)
			}
		}
		for _, c := range certs {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, ski) {
				return c, nil
			}
		}
	default:
		return nil, fmt.Errorf("%w: unknown SignerIdentifier", ErrBadReply)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: the SignedData carries no certificate to verify it with", ErrKDCSignature)
	}
	return nil, fmt.Errorf("%w: the signer's certificate is missing", ErrKDCSignature)
}

func cmsDigest(oid stdasn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(oidSHA1):
		return crypto.SHA1, nil
	case oid.Equal(oidSHA256):
		return crypto.SHA256, nil
	case oid.Equal(oidSHA384):
		return crypto.SHA384, nil
	case oid.Equal(oidSHA512):
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("%w: digest algorithm %v is not supported", ErrKDCSignature, oid)
}

// checkSignedAttrs applies RFC 5652 §5.4 and §11: exactly one content-type
// equal to the eContentType and one message-digest equal to the content's.
func checkSignedAttrs(b []byte, contentType stdasn1.ObjectIdentifier, hash crypto.Hash, content []byte) error {
	var gotType, gotDigest bool
	for len(b) > 0 {
		var a cmsAttribute
		var err error
		if b, err = stdasn1.Unmarshal(b, &a); err != nil {
			return fmt.Errorf("%w: signed attribute: %v", ErrBadReply, err)
		}
		switch {
		case a.Type.Equal(oidAttrContentType):
			var t stdasn1.ObjectIdentifier
			if gotType || len(a.Values) != 1 {
				return fmt.Errorf("%w: content-type attribute repeated", ErrKDCSignature)
			}
			if _, err := stdasn1.Unmarshal(a.Values[0].FullBytes, &t); err != nil || !t.Equal(contentType) {
				return fmt.Errorf("%w: the signed content type %v is not the content's %v", ErrKDCSignature, t, contentType)
			}
			gotType = true
		case a.Type.Equal(oidAttrMessageDigest):
			var d []byte
			if gotDigest || len(a.Values) != 1 {
				return fmt.Errorf("%w: message-digest attribute repeated", ErrKDCSignature)
			}
			if _, err := stdasn1.Unmarshal(a.Values[0].FullBytes, &d); err != nil {
				return fmt.Errorf("%w: message-digest: %v", ErrBadReply, err)
			}
			h := hash.New()
			h.Write(content)
			if !bytes.Equal(h.Sum(nil), d) {
				return fmt.Errorf("%w: the message digest does not match the content", ErrKDCSignature)
			}
			gotDigest = true
		}
	}
	if !gotType || !gotDigest {
		return fmt.Errorf("%w: signed attributes without content-type and message-digest", ErrKDCSignature)
	}
	return nil
}

// checkCMSSignature verifies sig over data with the signer's public key.
func checkCMSSignature(cert *x509.Certificate, alg pkix.AlgorithmIdentifier, hash crypto.Hash, data, sig []byte) error {
	digest := func(h crypto.Hash) []byte {
		d := h.New()
		d.Write(data)
		return d.Sum(nil)
	}
	oid := alg.Algorithm
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		switch {
		case oid.Equal(oidRSAEncryption):
		case oid.Equal(oidSHA1WithRSA):
			hash = crypto.SHA1
		case oid.Equal(oidSHA256WithRSA):
			hash = crypto.SHA256
		case oid.Equal(oidSHA384WithRSA):
			hash = crypto.SHA384
		case oid.Equal(oidSHA512WithRSA):
			hash = crypto.SHA512
		case oid.Equal(oidRSAPSS):
			return rsa.VerifyPSS(pub, hash, digest(hash), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		default:
			return fmt.Errorf("signature algorithm %v does not fit an RSA key", oid)
		}
		return rsa.VerifyPKCS1v15(pub, hash, digest(hash), sig)
	case *ecdsa.PublicKey:
		switch {
		case oid.Equal(oidECPublicKey):
		case oid.Equal(oidECDSAWithSHA1):
			hash = crypto.SHA1
		case len(oid) == 7 && oid[:6].Equal(oidECDSAWithSHA2) && oid[6] >= 2 && oid[6] <= 4:
			hash = []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}[oid[6]-2]
		default:
			return fmt.Errorf("signature algorithm %v does not fit an ECDSA key", oid)
		}
		if !ecdsa.VerifyASN1(pub, digest(hash), sig) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	case ed25519.PublicKey:
		if !oid.Equal(oidEd25519) || !ed25519.Verify(pub, data, sig) {
			return errors.New("Ed25519 signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("unsupported public key %T", cert.PublicKey)
}

// berToDER re-encodes BER as DER where they differ in form (RFC 5652
// allows BER for SignedData): indefinite lengths become definite, long
// forms shortest, and constructed OCTET STRINGs (as BER may split eContent)
// one primitive string. Signed attributes are DER already (RFC 5652 §5.4)
// and pass through unchanged. Nesting deeper than 64 is refused.
func berToDER(b []byte) ([]byte, error) {
	out, rest, err := berElement(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(rest))
	}
	return out, nil
}

// berElement converts one element and returns the bytes after it.
func berElement(b []byte, depth int) (der, rest []byte, err error) {
	if depth > 64 {
		return nil, nil, errors.New("BER nested too deep")
	}
	if len(b) < 2 {
		return nil, nil, errors.New("truncated BER")
	}
	// Identifier octets (high tag numbers span several).
	i := 1
	if b[0]&0x1f == 0x1f {
		for i < len(b) && b[i]&0x80 != 0 {
			i++
		}
		i++
		if i >= len(b) {
			return nil, nil, errors.New("truncated BER tag")
		}
	}
	ident := b[:i]
	constructed := b[0]&0x20 != 0
	l := int(b[i])
	i++
	var content []byte
	if l == 0x80 { // indefinite: constructed elements until end-of-contents
		if !constructed {
			return nil, nil, errors.New("indefinite length on a primitive")
		}
		rest = b[i:]
		var parts [][]byte
		for {
			if len(rest) >= 2 && rest[0] == 0 && rest[1] == 0 {
				rest = rest[2:]
				break
			}
			var part []byte
			if part, rest, err = berElement(rest, depth+1); err != nil {
				return nil, nil, err
			}
			parts = append(parts, part)
		}
		content = bytes.Join(parts, nil)
	} else {
		if l > 0x80 {
			n := l & 0x7f
			if n > 4 || i+n > len(b) {
				return nil, nil, errors.New("bad BER length")
			}
			l = 0
			for _, c := range b[i : i+n] {
				l = l<<8 | int(c)
			}
			i += n
		}
		if l < 0 || i+l > len(b) {
			return nil, nil, errors.New("BER length beyond the data")
		}
		content, rest = b[i:i+l], b[i+l:]
		if constructed {
			var parts [][]byte
			for c := content; len(c) > 0; {
				var part []byte
				if part, c, err = berElement(c, depth+1); err != nil {
					return nil, nil, err
				}
				parts = append(parts, part)
			}
			content = bytes.Join(parts, nil)
		}
	}
	if constructed && len(ident) == 1 && ident[0] == 0x24 { // constructed OCTET STRING
		var joined []byte
		for c := content; len(c) > 0; {
			var s stdasn1.RawValue
			if c, err = stdasn1.Unmarshal(c, &s); err != nil || s.Tag != stdasn1.TagOctetString || s.IsCompound {
				return nil, nil, errors.New("bad constructed OCTET STRING")
			}
			joined = append(joined, s.Bytes...)
		}
		ident, content = []byte{0x04}, joined
	}
	return append(append(append([]byte{}, ident...), derLength(len(content))...), content...), rest, nil
}

func derLength(n int) []byte {
	if n < 0x80 {
		return []byte{byte(n)}
	}
	var l []byte
	for ; n > 0; n >>= 8 {
		l = append([]byte{byte(n)}, l...)
	}
	return append([]byte{0x80 | byte(len(l))}, l...)
}
