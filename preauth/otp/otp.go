// Package otp is one-time password preauthentication (RFC 6560), as MIT
// krb5's client does it. It runs only inside FAST (RFC 6113): the KDC sends
// PA-OTP-CHALLENGE describing the tokens it accepts (RFC 6560 §3.2, §4.1);
// the client asks the application's responder the "otp" question with MIT's
// JSON challenge (see responder.OTPChallenge), or prompts for the value when
// the responder gives no answer, and sends the value in PA-OTP-REQUEST
// (§3.3, §4.2) together with the KDC's nonce encrypted in the armor key. The
// KDC checks the value with a back end (MIT's KDC asks a RADIUS server) and
// encrypts its reply in the armor key, strengthened by FAST (§3.6): no
// long-term key is involved.
//
// The engine lists the mechanism itself; applications need not import
// this package except for its errors.
package otp

import (
	"context"
	"errors"
	"fmt"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/types"
)

// PA types (RFC 6560 §4).
const (
	PATypeOTPChallenge = 141 // PA-OTP-CHALLENGE, from the KDC
	PATypeOTPRequest   = 142 // PA-OTP-REQUEST, to the KDC
)

// usageOTPRequest is KEY_USAGE_PA_OTP_REQUEST (RFC 6560 §4.2), the key
// usage of PA-OTP-REQUEST's encData.
const usageOTPRequest = 45

var (
	// ErrNeedFAST means the KDC offered OTP to an unarmored request. OTP
	// sends the one-time password to the KDC, so RFC 6560 allows it only
	// inside FAST: armor the login (krb.WithArmor, kinit -T).
	ErrNeedFAST = fmt.Errorf("%w: OTP preauthentication needs FAST armor (krb.WithArmor, kinit -T)", preauth.ErrFASTRequired)
	// ErrNoUsableToken means none of the tokens the KDC's challenge
	// describes can be used by this client (MIT's "No supported tokens"),
	// or the value entered matches none of them. The login fails as with
	// KDC_ERR_PREAUTH_FAILED.
	ErrNoUsableToken = fmt.Errorf("%w: no supported OTP token", preauth.ErrPreauthFailed)
)

// Mechanism is the OTP mechanism.
var Mechanism preauth.Mechanism = mechanism{}

type mechanism struct{}

func (mechanism) Name() string { return "otp" }

func (mechanism) PATypes() []preauth.PAType {
	return []preauth.PAType{{Type: PATypeOTPChallenge, Kind: preauth.Real}}
}

func (mechanism) NewRequest() preauth.Request { return &request{} }

// request is one login's state: the round's challenge, with only the
// tokens the client supports, or why it cannot be used.
type request struct {
	chal *challenge
	err  error
}

// FillResponseSet decodes the KDC's challenge and asks the "otp" question
// with MIT's JSON for it. Without armor it asks nothing: Process reports
// ErrNeedFAST.
func (r *request) FillResponseSet(_ context.Context, cb preauth.Callbacks, in *preauth.Input, rs *responder.ResponseSet) error {
	r.chal, r.err = nil, nil
	if cb.ArmorKey() == nil {
		return nil
	}
	c, err := decodeChallenge(in.PAData.PADataValue)
	if err != nil {
		r.err = err
		return err
	}
	if c.tokenInfo = supportedTokens(c.tokenInfo); len(c.tokenInfo) == 0 {
		r.err = ErrNoUsableToken
		return r.err
	}
	question, err := challengeJSON(c)
	if err != nil {
		r.err = err
		return err
	}
	r.chal = c
	rs.Ask(responder.QuestionOTP, question)
	return nil
}

// Process sends the one-time password: from the responder's answer, else
// from the prompter. It then makes the armor key the reply key and, as
// MIT does, disables fallback: the KDC has counted the attempt.
func (r *request) Process(ctx context.Context, cb preauth.Callbacks, in *preauth.Input) ([]types.PAData, error) {
	if in.Reply {
		return nil, nil // the AS-REP carries nothing for OTP
	}
	armor := cb.ArmorKey()
	switch {
	case armor == nil:
		return nil, ErrNeedFAST
	case r.err != nil:
		return nil, r.err
	case r.chal == nil:
		return nil, nil
	}
	ti, value, pin, err := r.collect(ctx, cb)
	if err != nil {
		return nil, err
	}
	req, err := newRequest(ti, value, pin)
	if err != nil {
		return nil, err
	}
	b, err := encodeRequest(req, r.chal.nonce, *armor)
	if err != nil {
		return nil, fmt.Errorf("encoding PA-OTP-REQUEST: %w", err)
	}
	cb.SetASKey(*armor)
	cb.DisableFallback()
	return []types.PAData{{PADataType: PATypeOTPRequest, PADataValue: b}}, nil
}

// collect returns the chosen token, value and PIN: the responder's answer
// when it names one of the challenge's tokens, else what the prompter
// gets. MIT also prompts when the answer cannot be used.
func (r *request) collect(ctx context.Context, cb preauth.Callbacks) (ti *tokenInfo, value, pin string, err error) {
	a, ok := cb.Answer(responder.QuestionOTP)
	if !ok {
		return promptToken(ctx, cb.Prompter(), r.chal.tokenInfo)
	}
	ans, err := responder.ParseOTPAnswer(a)
	if err == nil && ans.TokenInfo >= len(r.chal.tokenInfo) {
		err = fmt.Errorf("the otp answer names token %d; the challenge lists tokens 0 to %d", ans.TokenInfo, len(r.chal.tokenInfo)-1)
	}
	if err != nil {
		if cb.Prompter() == nil {
			return nil, "", "", err
		}
		return promptToken(ctx, cb.Prompter(), r.chal.tokenInfo)
	}
	return &r.chal.tokenInfo[ans.TokenInfo], ans.Value, ans.PIN, nil
}

// newRequest builds the request for the chosen token (MIT's make_request):
// its description is echoed, and the PIN goes in otp-pin for a token that
// requires it separately, else in front of the value.
func newRequest(ti *tokenInfo, value, pin string) (*otpRequest, error) {
	req := &otpRequest{
		flags:   ti.flags & flagNextOTP,
		value:   value,
		format:  ti.format,
		tokenID: ti.tokenID,
		algID:   ti.algID,
		vendor:  ti.vendor,
	}
	switch {
	case separatePIN(ti) && pin == "":
		return nil, errors.New("the OTP token needs its PIN sent separately, and none was given")
	case separatePIN(ti):
		req.pin = pin
	default:
		req.value = pin + value
	}
	return req, nil
}

func separatePIN(ti *tokenInfo) bool {
	return ti.flags&flagCollectPIN != 0 && ti.flags&flagSeparatePIN != 0
}

// supportedTokens keeps the tokens MIT's client can serve
// (is_tokeninfo_supported): no flags but the PIN ones, no hashing of the
// value into a key (supportedHashAlg, iterationCount), a printable vendor
// and challenge, and no base64 format.
func supportedTokens(tis []tokenInfo) []tokenInfo {
	const supported = flagCollectPIN | flagNoCollectPIN | flagSeparatePIN
	var out []tokenInfo
	for _, ti := range tis {
		if ti.flags&^supported == 0 && !ti.hashAlgs && ti.iterationCount == nil &&
			printable([]byte(ti.vendor)) && printable(ti.challenge) &&
			(ti.format == nil || *ti.format != formatBase64) {
			out = append(out, ti)
		}
	}
	return out
}

// printable is C's isprint in the C locale, byte by byte.
func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// challengeJSON is the "otp" question's challenge (MIT's
// codec_encode_challenge). The responder's flags say what to collect: the
// value always, the PIN when the token collects one, and whether it goes
// separately. Binary and base64 formats are left out, as MIT does.
func challengeJSON(c *challenge) (string, error) {
	out := responder.OTPChallenge{Service: c.service}
	for _, ti := range c.tokenInfo {
		flags := int32(responder.OTPCollectToken)
		if ti.flags&flagCollectPIN != 0 {
			flags |= responder.OTPCollectPIN
		}
		if separatePIN(&ti) {
			flags |= responder.OTPSeparatePIN
		}
		if ti.flags&flagNextOTP != 0 {
			flags |= responder.OTPNextOTP
		}
		format := ti.format
		if format != nil && (*format == formatBinary || *format == formatBase64) {
			format = nil
		}
		out.TokenInfo = append(out.TokenInfo, responder.OTPTokenInfo{
			Flags:     flags,
			Vendor:    ti.vendor,
			Challenge: string(ti.challenge),
			Length:    ti.length,
			Format:    format,
			TokenID:   string(ti.tokenID),
			AlgID:     ti.algID,
		})
	}
	return out.Encode()
}
