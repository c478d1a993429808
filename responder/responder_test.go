package responder

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResponseSet(t *testing.T) {
	var rs ResponseSet
	assert.True(t, rs.Empty())
	rs.Ask(QuestionOTP, `{"tokenInfo":[{"flags":1}]}`)
	rs.Ask(QuestionPassword, "")
	rs.Ask(QuestionOTP, `{"tokenInfo":[{"flags":3}]}`) // asked again: keeps its place
	assert.Equal(t, []string{QuestionOTP, QuestionPassword}, rs.Questions())
	c, ok := rs.Challenge(QuestionOTP)
	assert.True(t, ok)
	assert.Equal(t, `{"tokenInfo":[{"flags":3}]}`, c)

	err := rs.SetAnswer(QuestionPKINIT, "{}")
	assert.ErrorIs(t, err, ErrNotAsked)
	require.NoError(t, SetPassword(&rs, "s3cret"))
	a, ok := rs.Answer(QuestionPassword)
	assert.True(t, ok)
	assert.Equal(t, "s3cret", a)
	assert.Equal(t, []string{QuestionOTP}, rs.Unanswered())
	assert.NotContains(t, rs.String(), "s3cret", "answers are secrets")

	var other ResponseSet
	require.NoError(t, SetPassword(&other, "x"), "SetPassword on a set without the question does nothing")
	_, ok = other.Answer(QuestionPassword)
	assert.False(t, ok)
}

func TestFuncAdapter(t *testing.T) {
	stop := errors.New("stop")
	var r Responder = Func(func(context.Context, *ResponseSet) error { return stop })
	assert.ErrorIs(t, r.Respond(context.Background(), &ResponseSet{}), stop)
}

// TestOTPJSONIsMITs checks the exact strings MIT's responder uses
// (preauth_otp.c codec): what the MIT KDC's single bare token looks like,
// and an answer.
func TestOTPJSONIsMITs(t *testing.T) {
	c := OTPChallenge{TokenInfo: []OTPTokenInfo{{Flags: OTPCollectToken}}}
	s, err := c.Encode()
	require.NoError(t, err)
	assert.Equal(t, `{"tokenInfo":[{"flags":1}]}`, s)

	var rs ResponseSet
	rs.Ask(QuestionOTP, s)
	got, ok, err := OTPChallengeOf(&rs)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int32(OTPCollectToken), got.TokenInfo[0].Flags)

	require.NoError(t, SetOTPAnswer(&rs, OTPAnswer{TokenInfo: 0, Value: "123456", PIN: "9876"}))
	ans, _ := rs.Answer(QuestionOTP)
	assert.Equal(t, `{"tokeninfo":0,"value":"123456","pin":"9876"}`, ans)
	parsed, err := ParseOTPAnswer(ans)
	require.NoError(t, err)
	assert.Equal(t, "123456", parsed.Value)

	_, err = ParseOTPAnswer(`{"value":"123456"`)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "123456", "an answer never shows up in an error")
	_, err = ParseOTPChallenge(`{"tokenInfo":[]}`)
	assert.Error(t, err)
}

func TestPKINITJSON(t *testing.T) {
	id := "PKCS11:module_name=/usr/lib/softhsm/libsofthsm2.so:token=carolcard"
	c := PKINITChallenge{id: PKINITUserPINCountLow}
	s, err := c.Encode()
	require.NoError(t, err)
	assert.Equal(t, `{"`+id+`":1}`, s)
	var rs ResponseSet
	rs.Ask(QuestionPKINIT, s)
	got, ok, err := PKINITChallengeOf(&rs)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, c, got)
	require.NoError(t, SetPKINITAnswer(&rs, map[string]string{id: "1234"}))
	ans, _ := rs.Answer(QuestionPKINIT)
	pins, err := ParsePKINITAnswer(ans)
	require.NoError(t, err)
	assert.Equal(t, "1234", pins[id])
	_, err = ParsePKINITAnswer(`{"x":`)
	assert.Error(t, err)
}
