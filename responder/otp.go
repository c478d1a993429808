package responder

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// OTP token flags in an OTP challenge (KRB5_RESPONDER_OTP_FLAGS_*).
const (
	OTPCollectToken = 0x0001 // the token value must be collected
	OTPCollectPIN   = 0x0002 // a PIN must be collected
	OTPNextOTP      = 0x0004 // the token wants its next value (resync)
	OTPSeparatePIN  = 0x0008 // the PIN goes separately, not prepended to the value
)

// OTP token value formats (KRB5_RESPONDER_OTP_FORMAT_*).
const (
	OTPFormatDecimal      = 0
	OTPFormatHexadecimal  = 1
	OTPFormatAlphanumeric = 2
)

// OTPChallenge is the challenge of the "otp" question: the KDC's
// PA-OTP-CHALLENGE (RFC 6560 §4.1) as MIT presents it to a responder.
type OTPChallenge struct {
	Service   string         `json:"service,omitempty"`
	TokenInfo []OTPTokenInfo `json:"tokenInfo"`
}

// OTPTokenInfo describes one token the KDC accepts (RFC 6560 §4.1,
// OTP-TOKENINFO). Optional fields are nil or empty when the KDC left them out.
type OTPTokenInfo struct {
	Flags     int32  `json:"flags"`
	Vendor    string `json:"vendor,omitempty"`
	Challenge string `json:"challenge,omitempty"`
	Length    *int32 `json:"length,omitempty"`
	Format    *int32 `json:"format,omitempty"`
	TokenID   string `json:"tokenID,omitempty"`
	AlgID     string `json:"algID,omitempty"`
}

// OTPAnswer is the answer to the "otp" question: which token (an index into
// OTPChallenge.TokenInfo) and its value and PIN.
type OTPAnswer struct {
	TokenInfo int    `json:"tokeninfo"`
	Value     string `json:"value,omitempty"`
	PIN       string `json:"pin,omitempty"`
}

// ParseOTPChallenge decodes the challenge JSON of the "otp" question.
func ParseOTPChallenge(challenge string) (*OTPChallenge, error) {
	var c OTPChallenge
	if err := json.Unmarshal([]byte(challenge), &c); err != nil {
		return nil, fmt.Errorf("responder: bad otp challenge: %w", err)
	}
	if len(c.TokenInfo) == 0 {
		return nil, fmt.Errorf("responder: otp challenge lists no token")
	}
	return &c, nil
}

// OTPChallengeOf returns the parsed challenge of the "otp" question in rs,
// or ok == false when the round did not ask it.
func OTPChallengeOf(rs *ResponseSet) (c *OTPChallenge, ok bool, err error) {
	s, asked := rs.Challenge(QuestionOTP)
	if !asked {
		return nil, false, nil
	}
	c, err = ParseOTPChallenge(s)
	return c, true, err
}

// Encode returns the challenge as MIT's JSON.
func (c *OTPChallenge) Encode() (string, error) {
	return marshalMIT(c)
}

// SetOTPAnswer answers the "otp" question.
func SetOTPAnswer(rs *ResponseSet, a OTPAnswer) error {
	s, err := marshalMIT(a)
	if err != nil {
		return err
	}
	return rs.SetAnswer(QuestionOTP, s)
}

// marshalMIT encodes v as MIT's k5_json does: compact, and without
// json.Marshal's HTML escaping (MIT writes a vendor "A&B" as "A&B", not
// "A\u0026B").
func marshalMIT(v any) (string, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// ParseOTPAnswer decodes the answer JSON of the "otp" question: an object
// with "tokeninfo" (a number, required, as MIT's preauth_otp.c reads it)
// and optional "value" and "pin" strings. Anything of another type (null,
// an array, a number for the value) is refused, so that a malformed answer
// never reaches the KDC as an OTP. It never includes the answer's text in
// its error, which may hold a token value.
func ParseOTPAnswer(answer string) (*OTPAnswer, error) {
	bad := fmt.Errorf("responder: the otp answer is not valid JSON of the form {\"tokeninfo\":N,\"value\":...,\"pin\":...}")
	fields, ok := jsonObject(answer)
	if !ok || jsonKind(fields["tokeninfo"]) != '0' {
		return nil, bad
	}
	for _, k := range []string{"value", "pin"} {
		if raw, present := fields[k]; present && jsonKind(raw) != '"' {
			return nil, bad
		}
	}
	var a OTPAnswer
	if err := json.Unmarshal([]byte(answer), &a); err != nil {
		return nil, bad
	}
	if a.TokenInfo < 0 {
		return nil, fmt.Errorf("responder: the otp answer names token %d", a.TokenInfo)
	}
	return &a, nil
}

// jsonObject decodes s as one JSON object, keeping its members raw; null
// and every other kind of value are refused.
func jsonObject(s string) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// jsonKind returns the kind of a raw JSON value by its first byte: '"' for
// a string, '0' for a number, '{', '[', 't'/'f', 'n' (null), or 0 when
// absent.
func jsonKind(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	switch c := raw[0]; {
	case c == '-' || (c >= '0' && c <= '9'):
		return '0'
	default:
		return c
	}
}
