package spake

import (
	"fmt"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/types"
)

// The PA-SPAKE CHOICE alternatives (RFC 9588 §4, Appendix A). Each is
// wrapped in an EXPLICIT context tag, as MIT's encoder (asn1_k_encode.c,
// DEFCTAGGEDTYPE) and the test vectors have it.
const (
	tagSupport   = 0
	tagChallenge = 1
	tagResponse  = 2
	tagEncdata   = 3
)

// sfNone is the SF-NONE second-factor type (RFC 9588 §8): no second
// factor, the SPAKE exchange alone authenticates the client.
const sfNone = 1

// support is SPAKESupport (RFC 9588 §4, Appendix A): the groups the client allows.
type support struct {
	Groups []int32 `asn1:"explicit,tag:0"`
}

// secondFactor is SPAKESecondFactor (RFC 9588 §4, Appendix A).
type secondFactor struct {
	Type int32  `asn1:"explicit,tag:0"`
	Data []byte `asn1:"explicit,optional,tag:1"`
}

// challenge is SPAKEChallenge (RFC 9588 §4, Appendix A): the KDC's group, its public
// element T and the second factors it offers.
type challenge struct {
	Group   int32          `asn1:"explicit,tag:0"`
	PubKey  []byte         `asn1:"explicit,tag:1"`
	Factors []secondFactor `asn1:"explicit,tag:2"`
}

// hasFactor says whether the challenge offers the second-factor type t.
func (c *challenge) hasFactor(t int32) bool {
	for _, f := range c.Factors {
		if f.Type == t {
			return true
		}
	}
	return false
}

// response is SPAKEResponse (RFC 9588 §4, Appendix A): the client's public element S
// and its second factor encrypted in K'[1].
type response struct {
	PubKey []byte              `asn1:"explicit,tag:0"`
	Factor types.EncryptedData `asn1:"explicit,tag:1"`
}

// message is one decoded PA-SPAKE value: exactly one field is set.
type message struct {
	support   *support
	challenge *challenge
	response  *response
	encdata   *types.EncryptedData
}

// encodeMessage returns the DER PA-SPAKE for the one CHOICE alternative
// v, which must be a support, challenge, response or EncryptedData.
func encodeMessage(v any) ([]byte, error) {
	var tag int
	switch v.(type) {
	case support:
		tag = tagSupport
	case challenge:
		tag = tagChallenge
	case response:
		tag = tagResponse
	case types.EncryptedData:
		tag = tagEncdata
	default:
		return nil, fmt.Errorf("spake: cannot encode %T as PA-SPAKE", v)
	}
	inner, err := asn1.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("spake: encoding PA-SPAKE: %w", err)
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: inner})
}

// decodeMessage parses a PA-SPAKE value. Any defect, including trailing
// bytes, is an error wrapping ErrMalformed; it never panics.
func decodeMessage(b []byte) (m message, err error) {
	defer func() {
		// The ASN.1 decoder is not ours; hostile input must not crash a
		// login even if it has a bug.
		if r := recover(); r != nil {
			m, err = message{}, fmt.Errorf("%w: undecodable", ErrMalformed)
		}
	}()
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(b, &raw)
	if err != nil {
		return message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(rest) != 0 {
		return message{}, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(rest))
	}
	if raw.Class != asn1.ClassContextSpecific || !raw.IsCompound {
		return message{}, fmt.Errorf("%w: not a PA-SPAKE choice (class %d, tag %d)", ErrMalformed, raw.Class, raw.Tag)
	}
	var v any
	switch raw.Tag {
	case tagSupport:
		m.support = new(support)
		v = m.support
	case tagChallenge:
		m.challenge = new(challenge)
		v = m.challenge
	case tagResponse:
		m.response = new(response)
		v = m.response
	case tagEncdata:
		m.encdata = new(types.EncryptedData)
		v = m.encdata
	default:
		return message{}, fmt.Errorf("%w: unknown PA-SPAKE choice [%d]", ErrMalformed, raw.Tag)
	}
	rest, err = asn1.Unmarshal(raw.Bytes, v)
	if err != nil {
		return message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(rest) != 0 {
		return message{}, fmt.Errorf("%w: %d trailing bytes in choice [%d]", ErrMalformed, len(rest), raw.Tag)
	}
	return m, nil
}

// encodeFactorNone returns the DER SPAKESecondFactor for SF-NONE, the
// plaintext of the response's encrypted factor (RFC 9588 §8).
func encodeFactorNone() ([]byte, error) {
	return asn1.Marshal(secondFactor{Type: sfNone})
}
