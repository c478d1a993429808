package otp

import (
	"regexp"
	"testing"

	"github.com/gokinit/gokinit/responder"
	"github.com/stretchr/testify/require"
)

// The seed corpora are in testdata/fuzz: MIT's challenge, hand-made ones
// with every field, and broken ones; MIT-style challenge and answer JSON.

// FuzzDecodeChallenge feeds PA-OTP-CHALLENGE bytes from a KDC: decoding
// never panics, what decodes encodes back to the same challenge, and the
// tokens kept for the responder always give JSON it can parse.
func FuzzDecodeChallenge(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeChallenge(b)
		if err != nil {
			require.ErrorIs(t, err, errMalformed)
			return
		}
		again, err := decodeChallenge(encodeChallenge(c))
		require.NoError(t, err)
		require.Equal(t, normalize(c), normalize(again))

		c.tokenInfo = supportedTokens(c.tokenInfo)
		if len(c.tokenInfo) == 0 {
			return
		}
		j, err := challengeJSON(c)
		require.NoError(t, err)
		parsed, err := responder.ParseOTPChallenge(j)
		require.NoError(t, err)
		require.Len(t, parsed.TokenInfo, len(c.tokenInfo))
	})
}

// normalize makes empty optional byte fields nil: absent and empty encode
// alike.
func normalize(c *challenge) *challenge {
	out := *c
	out.tokenInfo = nil
	for _, ti := range c.tokenInfo {
		if len(ti.challenge) == 0 {
			ti.challenge = nil
		}
		if len(ti.tokenID) == 0 {
			ti.tokenID = nil
		}
		out.tokenInfo = append(out.tokenInfo, ti)
	}
	if len(out.nonce) == 0 {
		out.nonce = nil
	}
	return &out
}

// FuzzOTPChallengeJSON feeds the responder's challenge parser, as a
// responder would call it: it never panics, and what it accepts encodes
// back to the same challenge.
func FuzzOTPChallengeJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		c, err := responder.ParseOTPChallenge(s)
		if err != nil {
			return
		}
		enc, err := c.Encode()
		require.NoError(t, err)
		again, err := responder.ParseOTPChallenge(enc)
		require.NoError(t, err)
		require.Equal(t, c, again)
	})
}

// answerError is every error ParseOTPAnswer may give: none quotes the
// answer, which holds a one-time password.
var answerError = regexp.MustCompile(`^responder: the otp answer (is not valid JSON of the form .*|names token -[0-9]+)$`)

// FuzzOTPAnswerJSON feeds the answer parser the mechanism runs on a
// responder's answer: it never panics, never puts the answer in its error,
// and what it accepts survives SetOTPAnswer.
func FuzzOTPAnswerJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		a, err := responder.ParseOTPAnswer(s)
		if err != nil {
			require.Regexp(t, answerError, err.Error())
			return
		}
		var rs responder.ResponseSet
		rs.Ask(responder.QuestionOTP, "")
		require.NoError(t, responder.SetOTPAnswer(&rs, *a))
		raw, _ := rs.Answer(responder.QuestionOTP)
		again, err := responder.ParseOTPAnswer(raw)
		require.NoError(t, err)
		require.Equal(t, a, again)
	})
}
