package otp

import (
	"context"
	"errors"
	"fmt"
	"github.com/gokinit/gokinit/internal/safetext"
	"slices"
	"strconv"
	"strings"

	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
)

// The prompts of MIT's OTP client module (preauth_otp.c), all hidden.
var (
	valuePrompt  = prompter.Prompt{Text: "Enter OTP Token Value", Hidden: true, Type: prompter.TypePreauth}
	pinPrompt    = prompter.Prompt{Text: "OTP Token PIN", Hidden: true, Type: prompter.TypePreauth}
	choicePrompt = prompter.Prompt{Text: "Enter #", Hidden: true, Type: prompter.TypePreauth}
)

// maxChoiceTries bounds how often an invalid token number is asked again.
const maxChoiceTries = 3

// promptToken asks the person for the value (and PIN) of one of tis, as
// MIT's prompt_for_token does: with a single token, or once a token has
// been chosen, its challenge is the banner; with several tokens, one with a
// challenge must be chosen first, else the value chooses the tokens whose
// length and format it fits.
func promptToken(ctx context.Context, p prompter.Prompter, tis []tokenInfo) (ti *tokenInfo, value, pin string, err error) {
	if len(tis) == 1 {
		ti = &tis[0]
	}
	banner := ""
	if slices.ContainsFunc(tis, func(t tokenInfo) bool { return len(t.challenge) > 0 }) {
		if ti == nil {
			if ti, err = chooseToken(ctx, p, tis); err != nil {
				return nil, "", "", err
			}
		}
		if len(ti.challenge) > 0 {
			banner = "OTP Challenge: " + safetext.String(string(ti.challenge)) + "\n" // the KDC's text
		}
	}
	prompts := []prompter.Prompt{valuePrompt}
	if ti != nil && collectsPIN(ti) {
		prompts = append(prompts, pinPrompt)
	}
	replies, err := prompter.Fallback(ctx, p, responder.QuestionOTP, banner, prompts)
	if err != nil {
		return nil, "", "", err
	}
	if ti == nil {
		if ti, err = tokenForValue(ctx, p, tis, replies[0]); err != nil {
			return nil, "", "", err
		}
		if collectsPIN(ti) {
			more, err := prompter.Fallback(ctx, p, responder.QuestionOTP, "", []prompter.Prompt{pinPrompt})
			if err != nil {
				return nil, "", "", err
			}
			replies = append(replies, more...)
		}
	}
	if len(replies) > 1 {
		pin = replies[1]
	}
	return ti, replies[0], pin, nil
}

// collectsPIN says whether to prompt for a PIN (MIT's collect_pin).
func collectsPIN(ti *tokenInfo) bool {
	return ti.flags&(flagCollectPIN|flagSeparatePIN) != 0
}

// tokenForValue picks the token whose length and format the value fits,
// asking the person to choose when several do.
func tokenForValue(ctx context.Context, p prompter.Prompter, tis []tokenInfo, value string) (*tokenInfo, error) {
	var fit []tokenInfo
	for _, ti := range tis {
		if valueFits(value, &ti) {
			fit = append(fit, ti)
		}
	}
	switch len(fit) {
	case 0:
		return nil, fmt.Errorf("%w: the OTP value does not match any token's length and format", ErrNoUsableToken)
	case 1:
		return &fit[0], nil
	}
	return chooseToken(ctx, p, fit)
}

// valueFits checks the value against the token's length and format
// (decimal, hexadecimal or alphanumeric), as MIT's
// otpvalue_matches_tokeninfo does.
func valueFits(value string, ti *tokenInfo) bool {
	if ti.length != nil && *ti.length >= 0 && len(value) != int(*ti.length) {
		return false
	}
	if ti.format == nil {
		return true
	}
	var ok func(c byte) bool
	switch *ti.format {
	case responder.OTPFormatDecimal:
		ok = func(c byte) bool { return '0' <= c && c <= '9' }
	case responder.OTPFormatHexadecimal:
		ok = func(c byte) bool { return strings.IndexByte("0123456789abcdefABCDEF", c) >= 0 }
	case responder.OTPFormatAlphanumeric:
		ok = func(c byte) bool {
			return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		}
	default:
		return true
	}
	for i := range len(value) {
		if !ok(value[i]) {
			return false
		}
	}
	return true
}

// chooseToken asks which token to use, listing them by vendor
// ("Please choose from the following:", "Enter #").
func chooseToken(ctx context.Context, p prompter.Prompter, tis []tokenInfo) (*tokenInfo, error) {
	var b strings.Builder
	b.WriteString("Please choose from the following:\n")
	for i, ti := range tis {
		fmt.Fprintf(&b, "\t%d. Vendor: %s\n", i+1, safetext.String(ti.vendor)) // the KDC's text
	}
	for range maxChoiceTries {
		replies, err := prompter.Fallback(ctx, p, responder.QuestionOTP, b.String(), []prompter.Prompt{choicePrompt})
		if err != nil {
			return nil, err
		}
		if n, err := strconv.Atoi(strings.TrimSpace(replies[0])); err == nil && 1 <= n && n <= len(tis) {
			return &tis[n-1], nil
		}
	}
	return nil, errors.New("no OTP token was chosen")
}
