package otp

import (
	"errors"
	"unicode/utf8"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The RFC 6560 ASN.1 module uses IMPLICIT TAGS, unlike RFC 4120's: a
// field's context tag replaces the universal tag of its type. Fields are
// read and written in order with cryptobyte, which also refuses anything
// that is not DER.

// OTPFlags bits (RFC 6560 §4.1), as a 32-bit KerberosFlags value: bit 0 is
// the most significant.
const (
	flagNextOTP          = 0x40000000 // nextOTP
	flagCombine          = 0x20000000 // combine
	flagCollectPIN       = 0x10000000 // collect-pin
	flagNoCollectPIN     = 0x08000000 // do-not-collect-pin
	flagMustEncryptNonce = 0x04000000 // must-encrypt-nonce
	flagSeparatePIN      = 0x02000000 // separate-pin-required
	flagCheckDigit       = 0x01000000 // check-digit
)

// OTPFormat values (RFC 6560 §4.1) beyond the responder's three.
const (
	formatBinary = 3
	formatBase64 = 4
)

// challenge is PA-OTP-CHALLENGE (RFC 6560 §4.1). Its salt and s2kparams,
// for tokens that hash the OTP into a key, are read and dropped: like MIT,
// the client serves no such token.
type challenge struct {
	nonce     []byte
	service   string
	tokenInfo []tokenInfo
}

// tokenInfo is OTP-TOKENINFO (RFC 6560 §4.1). Absent integers are nil.
type tokenInfo struct {
	flags          uint32
	vendor         string
	challenge      []byte
	length         *int32
	format         *int32
	tokenID        []byte
	algID          string
	hashAlgs       bool // supportedHashAlg is present
	iterationCount *int32
}

var errMalformed = errors.New("malformed PA-OTP-CHALLENGE")

func tag(n uint8) cbasn1.Tag { return cbasn1.Tag(n).ContextSpecific() }

// decodeChallenge decodes PA-OTP-CHALLENGE:
//
//	PA-OTP-CHALLENGE ::= SEQUENCE {
//	  nonce            [0] OCTET STRING,
//	  otp-service      [1] UTF8String OPTIONAL,
//	  otp-tokenInfo    [2] SEQUENCE (SIZE(1..MAX)) OF OTP-TOKENINFO,
//	  salt             [3] KerberosString OPTIONAL,
//	  s2kparams        [4] OCTET STRING OPTIONAL,
//	  ...
//	}
func decodeChallenge(b []byte) (*challenge, error) {
	in := cryptobyte.String(b)
	var seq, nonce, infos cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&nonce, tag(0)) {
		return nil, errMalformed
	}
	c := &challenge{nonce: nonce}
	service, ok := readUTF8(&seq, 1)
	if !ok || !seq.ReadASN1(&infos, tag(2).Constructed()) || infos.Empty() ||
		!seq.SkipOptionalASN1(tag(3)) || !seq.SkipOptionalASN1(tag(4)) || !skipExtensions(&seq, 4) {
		return nil, errMalformed
	}
	c.service = service
	for !infos.Empty() {
		var ti cryptobyte.String
		if !infos.ReadASN1(&ti, cbasn1.SEQUENCE) {
			return nil, errMalformed
		}
		info, ok := decodeTokenInfo(ti)
		if !ok {
			return nil, errMalformed
		}
		c.tokenInfo = append(c.tokenInfo, info)
	}
	return c, nil
}

// decodeTokenInfo decodes the contents of OTP-TOKENINFO:
//
//	OTP-TOKENINFO ::= SEQUENCE {
//	  flags            [0] OTPFlags,
//	  otp-vendor       [1] UTF8String OPTIONAL,
//	  otp-challenge    [2] OCTET STRING (SIZE(1..MAX)) OPTIONAL,
//	  otp-length       [3] Int32 OPTIONAL,
//	  otp-format       [4] OTPFormat OPTIONAL,
//	  otp-tokenID      [5] OCTET STRING OPTIONAL,
//	  otp-algID        [6] AnyURI OPTIONAL,
//	  supportedHashAlg [7] SEQUENCE OF AlgorithmIdentifier OPTIONAL,
//	  iterationCount   [8] Int32 OPTIONAL,
//	  ...
//	}
func decodeTokenInfo(s cryptobyte.String) (ti tokenInfo, ok bool) {
	var flags cryptobyte.String
	if !s.ReadASN1(&flags, tag(0)) {
		return ti, false
	}
	if ti.flags, ok = decodeFlags(flags); !ok {
		return ti, false
	}
	var present bool
	if ti.vendor, ok = readUTF8(&s, 1); !ok ||
		!s.ReadOptionalASN1((*cryptobyte.String)(&ti.challenge), &present, tag(2)) {
		return ti, false
	}
	if ti.length, ok = readInt32(&s, 3); !ok {
		return ti, false
	}
	if ti.format, ok = readInt32(&s, 4); !ok ||
		!s.ReadOptionalASN1((*cryptobyte.String)(&ti.tokenID), &present, tag(5)) {
		return ti, false
	}
	if ti.algID, ok = readUTF8(&s, 6); !ok ||
		!s.ReadOptionalASN1(new(cryptobyte.String), &ti.hashAlgs, tag(7).Constructed()) {
		return ti, false
	}
	if ti.iterationCount, ok = readInt32(&s, 8); !ok {
		return ti, false
	}
	return ti, skipExtensions(&s, 8)
}

// decodeFlags reads the contents of a KerberosFlags BIT STRING as a 32-bit
// value, bit 0 first; bits past 31 are ignored, as MIT does.
func decodeFlags(s cryptobyte.String) (uint32, bool) {
	if len(s) == 0 || s[0] > 7 || (len(s) == 1 && s[0] != 0) {
		return 0, false
	}
	var v uint32
	for i := range 4 {
		v <<= 8
		if i+1 < len(s) {
			v |= uint32(s[i+1])
		}
	}
	return v, true
}

// readUTF8 reads an optional [n] IMPLICIT UTF8String.
func readUTF8(s *cryptobyte.String, n uint8) (string, bool) {
	var v cryptobyte.String
	var present bool
	if !s.ReadOptionalASN1(&v, &present, tag(n)) || !utf8.Valid(v) {
		return "", false
	}
	return string(v), true
}

// readInt32 reads an optional [n] IMPLICIT Int32; nil when absent. Like
// MIT's decoder (opt_int32_minus1), it reads -1 as absent.
func readInt32(s *cryptobyte.String, n uint8) (*int32, bool) {
	if !s.PeekASN1Tag(tag(n)) {
		return nil, true
	}
	var v int64
	if !s.ReadASN1Int64WithTag(&v, tag(n)) || v != int64(int32(v)) {
		return nil, false
	}
	if v == -1 {
		return nil, true
	}
	v32 := int32(v)
	return &v32, true
}

// skipExtensions accepts what follows the last known field after an ASN.1
// extension marker: context-tagged fields numbered above last.
func skipExtensions(s *cryptobyte.String, last uint8) bool {
	for !s.Empty() {
		var t cbasn1.Tag
		if !s.ReadAnyASN1(new(cryptobyte.String), &t) || t&0xc0 != 0x80 || uint8(t&0x1f) <= last {
			return false
		}
	}
	return true
}

// otpRequest is what goes into PA-OTP-REQUEST.
type otpRequest struct {
	flags   uint32
	value   string // otp-value, with a combined PIN in front
	pin     string // otp-pin, for separate-pin-required tokens
	format  *int32
	tokenID []byte
	algID   string
	vendor  string
}

// encodeRequest encodes PA-OTP-REQUEST with the KDC's nonce encrypted in
// the armor key (key usage 45, KEY_USAGE_PA_OTP_REQUEST):
//
//	PA-OTP-REQUEST ::= SEQUENCE {
//	  flags          [0]  OTPFlags,
//	  nonce          [1]  OCTET STRING OPTIONAL,
//	  encData        [2]  EncryptedData,   -- PA-OTP-ENC-REQUEST
//	  hashAlg        [3]  AlgorithmIdentifier OPTIONAL,
//	  iterationCount [4]  Int32 OPTIONAL,
//	  otp-value      [5]  OCTET STRING OPTIONAL,
//	  otp-pin        [6]  UTF8String OPTIONAL,
//	  otp-challenge  [7]  OCTET STRING (SIZE(1..MAX)) OPTIONAL,
//	  otp-time       [8]  KerberosTime OPTIONAL,
//	  otp-counter    [9]  OCTET STRING OPTIONAL,
//	  otp-format     [10] OTPFormat OPTIONAL,
//	  otp-tokenID    [11] OCTET STRING OPTIONAL,
//	  otp-algID      [12] AnyURI OPTIONAL,
//	  otp-vendor     [13] UTF8String OPTIONAL,
//	  ...
//	}
//	PA-OTP-ENC-REQUEST ::= SEQUENCE { nonce [0] OCTET STRING, ... }
//
// Empty optional fields are left out, as MIT does.
func encodeRequest(r *otpRequest, nonce []byte, armorKey types.EncryptionKey) ([]byte, error) {
	var enc cryptobyte.Builder
	enc.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(tag(0), func(b *cryptobyte.Builder) { b.AddBytes(nonce) })
	})
	plain, err := enc.Bytes()
	if err != nil {
		return nil, err
	}
	ed, err := crypto.GetEncryptedData(plain, armorKey, usageOTPRequest, 0)
	if err != nil {
		return nil, err
	}
	edDER, err := asn1.Marshal(ed)
	if err != nil {
		return nil, err
	}
	var edFields cryptobyte.String
	if s := cryptobyte.String(edDER); !s.ReadASN1(&edFields, cbasn1.SEQUENCE) {
		return nil, errors.New("encoding EncryptedData")
	}

	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(tag(0), func(b *cryptobyte.Builder) {
			b.AddBytes([]byte{0, byte(r.flags >> 24), byte(r.flags >> 16), byte(r.flags >> 8), byte(r.flags)})
		})
		b.AddASN1(tag(2).Constructed(), func(b *cryptobyte.Builder) { b.AddBytes(edFields) })
		addOctets(b, 5, []byte(r.value))
		addOctets(b, 6, []byte(r.pin))
		if r.format != nil {
			b.AddASN1Int64WithTag(int64(*r.format), tag(10))
		}
		addOctets(b, 11, r.tokenID)
		addOctets(b, 12, []byte(r.algID))
		addOctets(b, 13, []byte(r.vendor))
	})
	return out.Bytes()
}

// addOctets adds [n] IMPLICIT OCTET STRING (or UTF8String), unless v is
// empty.
func addOctets(b *cryptobyte.Builder, n uint8, v []byte) {
	if len(v) > 0 {
		b.AddASN1(tag(n), func(b *cryptobyte.Builder) { b.AddBytes(v) })
	}
}
