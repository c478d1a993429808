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

// ParseOTPAnswer decodes the answer JSON of the "otp" question. It never
// includes the answer's text in its error, which may hold a token value.
func ParseOTPAnswer(answer string) (*OTPAnswer, error) {
	var a OTPAnswer
	if err := json.Unmarshal([]byte(answer), &a); err != nil {
		return nil, fmt.Errorf("responder: the otp answer is not valid JSON of the form {\"tokeninfo\":N,\"value\":...,\"pin\":...}")
	}
	if a.TokenInfo < 0 {
		return nil, fmt.Errorf("responder: the otp answer names token %d", a.TokenInfo)
	}
	return &a, nil
}
