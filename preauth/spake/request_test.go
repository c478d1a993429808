package spake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// body returns a stand-in for a round's DER KDC-REQ-BODY: the engine
// encodes a new one, with a new nonce, every round.
func body(t testing.TB) []byte {
	b := make([]byte, 40)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return append([]byte{0x30, 38}, b[:38]...)
}

func input(value []byte, reqBody []byte) *preauth.Input {
	return &preauth.Input{PAData: types.PAData{PADataType: PATypeSPAKE, PADataValue: value}, ReqBody: reqBody}
}

// step runs one round for the request as the engine does: FillResponseSet,
// then Process. It returns the PA-SPAKE value to send.
func step(t *testing.T, r preauth.Request, cb *fakeCallbacks, in *preauth.Input) ([]byte, error) {
	t.Helper()
	require.NoError(t, r.FillResponseSet(context.Background(), cb, in, &responder.ResponseSet{}))
	out, err := r.Process(context.Background(), cb, in)
	if err != nil {
		require.Empty(t, out)
		return nil, err
	}
	require.Len(t, out, 1)
	assert.Equal(t, int32(PATypeSPAKE), out[0].PADataType)
	return out[0].PADataValue, nil
}

// TestFakeKDCExchange runs the whole exchange in each group against the
// fake KDC: empty offer, support, challenge, response, and checks that both
// sides agree on the reply key.
func TestFakeKDCExchange(t *testing.T) {
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			cb := newFakeCallbacks(t, g.name)
			kdc := &fakeKDC{t: t, key: cb.key}
			r := Mechanism.NewRequest()

			sup, err := step(t, r, cb, input(nil, body(t)))
			require.NoError(t, err)
			m, err := decodeMessage(sup)
			require.NoError(t, err)
			require.NotNil(t, m.support)
			assert.Equal(t, []int32{g.id}, m.support.Groups)
			assert.Zero(t, cb.needKey, "a support message needs no key")
			assert.Zero(t, cb.keyCalls)
			assert.False(t, cb.noFallback, "another mechanism may follow if the KDC refuses our groups")

			reqBody := body(t)
			resp, err := step(t, r, cb, input(kdc.challenge(g.id, sup), reqBody))
			require.NoError(t, err)
			assert.Equal(t, 1, cb.needKey, "the challenge needs the long-term key")
			assert.Equal(t, 1, cb.keyCalls)
			assert.True(t, cb.noFallback, "the response commits the login")
			require.NotNil(t, cb.setKey)

			replyKey, err := kdc.verify(resp, reqBody)
			require.NoError(t, err)
			assert.Equal(t, replyKey, *cb.setKey, "both sides derive K'[0]")

			st := r.(*request)
			assert.Same(t, g, st.group)
			assert.Equal(t, sup, st.support)
			m, err = decodeMessage(resp)
			require.NoError(t, err)
			assert.Equal(t, updateTranscript(g, kdc.thash, m.response.PubKey), st.thash,
				"the client's transcript is the KDC's")
			assert.NotEqual(t, cb.key, *cb.setKey)

			_, err = kdc.verify(resp, body(t))
			assert.ErrorIs(t, err, errBadFactor, "the keys are bound to the request body")
		})
	}
}

func TestFakeKDCOptimisticChallenge(t *testing.T) {
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			cb := newFakeCallbacks(t, "edwards25519 P-256 P-384 P-521")
			kdc := &fakeKDC{t: t, key: cb.key}
			r := Mechanism.NewRequest()
			reqBody := body(t)
			resp, err := step(t, r, cb, input(kdc.challenge(g.id, nil), reqBody))
			require.NoError(t, err)
			replyKey, err := kdc.verify(resp, reqBody)
			require.NoError(t, err, "no support message in the transcript")
			assert.Equal(t, replyKey, *cb.setKey)
		})
	}
}

// TestFakeKDCChallengeInOtherGroup: a challenge in a group the client
// does not allow draws a support message, and the KDC's next challenge is
// answered with the support message in the transcript.
func TestFakeKDCChallengeInOtherGroup(t *testing.T) {
	for _, id := range []int32{GroupP256, 99} {
		cb := newFakeCallbacks(t, "P-384, edwards25519")
		kdc := &fakeKDC{t: t, key: cb.key}
		r := Mechanism.NewRequest()

		var first []byte
		if id == 99 {
			var err error
			first, err = encodeMessage(challenge{Group: 99, PubKey: []byte{1, 2, 3}, Factors: []secondFactor{{Type: sfNone}}})
			require.NoError(t, err)
		} else {
			first = kdc.challenge(id, nil)
		}
		sup, err := step(t, r, cb, input(first, body(t)))
		require.NoError(t, err)
		assert.Zero(t, cb.needKey, "no key is needed to refuse a group")
		m, err := decodeMessage(sup)
		require.NoError(t, err)
		require.NotNil(t, m.support)
		assert.Equal(t, []int32{GroupP384, GroupEdwards25519}, m.support.Groups, "the configured order")

		reqBody := body(t)
		resp, err := step(t, r, cb, input(kdc.challenge(GroupEdwards25519, sup), reqBody))
		require.NoError(t, err)
		replyKey, err := kdc.verify(resp, reqBody)
		require.NoError(t, err)
		assert.Equal(t, replyKey, *cb.setKey)
	}
}

func TestDefaultGroupIsEdwards25519(t *testing.T) {
	cb := newFakeCallbacks(t, "")
	sup, err := step(t, Mechanism.NewRequest(), cb, input(nil, body(t)))
	require.NoError(t, err)
	assert.Equal(t, "a0093007a0053003020101", hex.EncodeToString(sup))
}

func TestParseGroups(t *testing.T) {
	names := func(gs []*group) (out []string) {
		for _, g := range gs {
			out = append(out, g.name)
		}
		return out
	}
	assert.Equal(t, []string{"P-256", "edwards25519", "P-521"}, names(parseGroups("p-256, Edwards25519 bogus\tP-256,,P-521")))
	assert.Empty(t, parseGroups(""))
	assert.Empty(t, parseGroups("curve25519 P-224"))
}

// TestProtocolErrors covers the messages the client refuses, each with its
// typed error, and that nothing is sent and no key is asked for.
func TestProtocolErrors(t *testing.T) {
	chal := func(t *testing.T, cb *fakeCallbacks, id int32) []byte {
		return (&fakeKDC{t: t, key: cb.key}).challenge(id, nil)
	}
	tests := []struct {
		name   string
		groups string
		rounds func(t *testing.T, cb *fakeCallbacks) [][]byte // KDC messages, the last one refused
		want   error
	}{
		{"no allowed group", "bogus", func(*testing.T, *fakeCallbacks) [][]byte { return [][]byte{nil} }, ErrNoGroups},
		{"empty offer after support", "", func(*testing.T, *fakeCallbacks) [][]byte { return [][]byte{nil, nil} }, ErrUnexpected},
		{"other group after support", "edwards25519", func(t *testing.T, cb *fakeCallbacks) [][]byte {
			return [][]byte{nil, chal(t, cb, GroupP256)}
		}, ErrGroupRejected},
		{"second challenge", "", func(t *testing.T, cb *fakeCallbacks) [][]byte {
			return [][]byte{chal(t, cb, GroupEdwards25519), chal(t, cb, GroupEdwards25519)}
		}, ErrUnexpected},
		{"no SF-NONE", "", func(t *testing.T, _ *fakeCallbacks) [][]byte {
			m, err := encodeMessage(challenge{Group: 1, PubKey: mustHex(edwards25519M), Factors: []secondFactor{{Type: 2, Data: []byte{1}}}})
			require.NoError(t, err)
			return [][]byte{m}
		}, ErrNoFactor},
		{"encdata", "", func(t *testing.T, _ *fakeCallbacks) [][]byte {
			m, err := encodeMessage(types.EncryptedData{EType: 18, Cipher: []byte{1, 2, 3}})
			require.NoError(t, err)
			return [][]byte{m}
		}, ErrUnexpected},
		{"support from the KDC", "", func(t *testing.T, _ *fakeCallbacks) [][]byte {
			m, err := encodeMessage(support{Groups: []int32{1}})
			require.NoError(t, err)
			return [][]byte{m}
		}, ErrUnexpected},
		{"response from the KDC", "", func(t *testing.T, _ *fakeCallbacks) [][]byte {
			m, err := encodeMessage(response{PubKey: []byte{1}, Factor: types.EncryptedData{EType: 18, Cipher: []byte{1}}})
			require.NoError(t, err)
			return [][]byte{m}
		}, ErrUnexpected},
		{"garbage", "", func(*testing.T, *fakeCallbacks) [][]byte { return [][]byte{{0xa1, 0x03, 0x30}} }, ErrMalformed},
		{"trailing bytes", "", func(*testing.T, *fakeCallbacks) [][]byte {
			return [][]byte{append(mustHex("a0093007a0053003020101"), 0)}
		}, ErrMalformed},
		{"bad T", "", func(t *testing.T, _ *fakeCallbacks) [][]byte {
			m, err := encodeMessage(challenge{Group: 1, PubKey: mustHex(identity25519), Factors: []secondFactor{{Type: sfNone}}})
			require.NoError(t, err)
			return [][]byte{m}
		}, ErrInvalidElement},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cb := newFakeCallbacks(t, tc.groups)
			r := Mechanism.NewRequest()
			msgs := tc.rounds(t, cb)
			for _, m := range msgs[:len(msgs)-1] {
				_, err := step(t, r, cb, input(m, body(t)))
				require.NoError(t, err)
			}
			keyCalls := cb.keyCalls
			_, err := step(t, r, cb, input(msgs[len(msgs)-1], body(t)))
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, keyCalls, cb.keyCalls, "no key derived for a refused message")
			assert.NotContains(t, err.Error(), hex.EncodeToString(cb.key.KeyValue))
		})
	}
}

func TestReplyPADataIgnored(t *testing.T) {
	cb := newFakeCallbacks(t, "")
	in := input([]byte{0xde, 0xad}, body(t))
	in.Reply = true
	out, err := Mechanism.NewRequest().Process(context.Background(), cb, in)
	require.NoError(t, err)
	assert.Empty(t, out)
}

// TestWrongPassword: the KDC, holding another key, cannot decrypt the
// factor, and the error says nothing about either key.
func TestWrongPassword(t *testing.T) {
	cb := newFakeCallbacks(t, "P-256")
	kdcKey := newFakeCallbacks(t, "").key
	kdc := &fakeKDC{t: t, key: kdcKey}
	r := Mechanism.NewRequest()
	reqBody := body(t)
	resp, err := step(t, r, cb, input(kdc.challenge(GroupP256, nil), reqBody))
	require.NoError(t, err)
	_, err = kdc.verify(resp, reqBody)
	require.ErrorIs(t, err, errBadFactor)
}

func TestMechanism(t *testing.T) {
	assert.Equal(t, "spake", Mechanism.Name())
	assert.Equal(t, []preauth.PAType{{Type: 151, Kind: preauth.Real}}, Mechanism.PATypes())
	a, b := Mechanism.NewRequest(), Mechanism.NewRequest()
	assert.NotSame(t, a, b, "per-login state")
}

func TestErrorMessages(t *testing.T) {
	err := groups[0].curve().check(mustHex(identity25519))
	assert.Equal(t, "spake: the KDC's public element (edwards25519) is invalid: the identity element", err.Error())
	assert.ErrorIs(t, err, ErrIdentity)
	assert.ErrorIs(t, err, ErrInvalidElement)
	var ee *ElementError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "edwards25519", ee.Group)
	assert.False(t, strings.Contains(err.Error(), "%!"))
}
