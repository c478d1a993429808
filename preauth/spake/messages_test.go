package spake

import (
	"encoding/hex"
	"testing"

	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMessageRoundTrip encodes each PA-SPAKE alternative and decodes it
// back; each is under its EXPLICIT context tag [0]..[3].
func TestMessageRoundTrip(t *testing.T) {
	enc := types.EncryptedData{EType: 18, Cipher: []byte{1, 2, 3}}
	for _, tc := range []struct {
		v     any
		first byte
		check func(t *testing.T, m message)
	}{
		{support{Groups: []int32{1, 4}}, 0xa0, func(t *testing.T, m message) {
			require.NotNil(t, m.support)
			assert.Equal(t, []int32{1, 4}, m.support.Groups)
		}},
		{challenge{Group: 2, PubKey: []byte{9}, Factors: []secondFactor{{Type: 1}, {Type: 2, Data: []byte("x")}}}, 0xa1, func(t *testing.T, m message) {
			require.NotNil(t, m.challenge)
			assert.Equal(t, int32(2), m.challenge.Group)
			assert.Equal(t, []secondFactor{{Type: 1}, {Type: 2, Data: []byte("x")}}, m.challenge.Factors)
		}},
		{response{PubKey: []byte{7, 7}, Factor: enc}, 0xa2, func(t *testing.T, m message) {
			require.NotNil(t, m.response)
			assert.Equal(t, []byte{7, 7}, m.response.PubKey)
			assert.Equal(t, enc.Cipher, m.response.Factor.Cipher)
		}},
		{enc, 0xa3, func(t *testing.T, m message) {
			require.NotNil(t, m.encdata)
			assert.Equal(t, int32(18), m.encdata.EType)
		}},
	} {
		b, err := encodeMessage(tc.v)
		require.NoError(t, err)
		assert.Equal(t, tc.first, b[0], "%T", tc.v)
		m, err := decodeMessage(b)
		require.NoError(t, err, "%T", tc.v)
		tc.check(t, m)
	}
	_, err := encodeMessage(42)
	assert.Error(t, err)
}

// TestFactorNone is SPAKESecondFactor {factor-type [0] 1}, as MIT encodes it.
func TestFactorNone(t *testing.T) {
	b, err := encodeFactorNone()
	require.NoError(t, err)
	assert.Equal(t, "3005a003020101", hex.EncodeToString(b))
}

func TestDecodeRejects(t *testing.T) {
	for name, h := range map[string]string{
		"empty":            "",
		"universal tag":    "3003020101",
		"primitive [0]":    "8003020101",
		"unknown choice":   "a4053003020101",
		"truncated":        "a00930",
		"trailing":         "a0093007a005300302010100",
		"inner trailing":   "a00a3007a005300302010100",
		"group not int32":  "a00d300ba0093007020500ffffffff",
		"wrong inner type": "a1050403010203",
	} {
		b, err := hex.DecodeString(h)
		require.NoError(t, err, name)
		_, err = decodeMessage(b)
		assert.ErrorIs(t, err, ErrMalformed, name)
	}
}
