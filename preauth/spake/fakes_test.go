package spake

import (
	"context"
	"errors"
	"testing"

	"github.com/gokinit/gokinit/krb/prf"
	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/require"
)

// fakeCallbacks is the engine's side of one login, recording what the
// mechanism asked for. The embedded interface, always nil, stands for the
// callbacks SPAKE does not use: calling one of them panics the test.
type fakeCallbacks struct {
	preauth.Callbacks
	key        types.EncryptionKey
	config     map[string][]string
	needKey    int                  // NeedASKey calls
	keyCalls   int                  // ASKey calls
	setKey     *types.EncryptionKey // the key given to SetASKey
	noFallback bool
}

var _ preauth.Callbacks = (*fakeCallbacks)(nil)

func newFakeCallbacks(t testing.TB, groups string) *fakeCallbacks {
	key, err := prf.RandomKey(etypeID.AES256_CTS_HMAC_SHA1_96)
	require.NoError(t, err)
	cb := &fakeCallbacks{key: key, config: map[string][]string{}}
	if groups != "" {
		cb.config[configGroups] = []string{groups}
	}
	return cb
}

func (c *fakeCallbacks) NeedASKey(*responder.ResponseSet) { c.needKey++ }
func (c *fakeCallbacks) SetASKey(k types.EncryptionKey)   { c.setKey = &k }
func (c *fakeCallbacks) Config(name string) []string      { return c.config[name] }
func (c *fakeCallbacks) DisableFallback()                 { c.noFallback = true }
func (c *fakeCallbacks) ASKey(context.Context) (types.EncryptionKey, error) {
	c.keyCalls++
	return c.key, nil
}

// fakeKDC is the KDC's side of SPAKE for one login, as MIT's spake_kdc.c
// does it: it remembers its scalar x and the transcript so far.
type fakeKDC struct {
	t       testing.TB
	g       *group
	key     types.EncryptionKey // the client's long-term key, as the KDC has it
	x       []byte
	thash   []byte
	support []byte
}

// challenge returns a PA-SPAKE challenge in group id, after the client's
// support message (nil for an optimistic challenge).
func (k *fakeKDC) challenge(id int32, support []byte) []byte {
	k.g = findGroup(id)
	require.NotNil(k.t, k.g)
	k.support = support
	w, err := deriveW(k.key, k.g)
	require.NoError(k.t, err)
	k.x, err = k.g.curve().randomScalar()
	require.NoError(k.t, err)
	T, err := k.g.curve().public(w, k.x, true)
	require.NoError(k.t, err)
	msg, err := encodeMessage(challenge{Group: id, PubKey: T, Factors: []secondFactor{{Type: sfNone}}})
	require.NoError(k.t, err)
	k.thash = updateTranscript(k.g, nil, support, msg)
	return msg
}

// errBadFactor is the KDC's PREAUTH_FAILED: the factor did not decrypt.
var errBadFactor = errors.New("the factor does not decrypt in K'[1]")

// verify checks a response as the KDC does and returns K'[0], the reply key.
func (k *fakeKDC) verify(resp, body []byte) (types.EncryptionKey, error) {
	m, err := decodeMessage(resp)
	require.NoError(k.t, err)
	require.NotNil(k.t, m.response, "a response message")
	w, err := deriveW(k.key, k.g)
	require.NoError(k.t, err)
	K, err := k.g.curve().shared(w, k.x, m.response.PubKey, false)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	in := keyInputs{group: k.g, ikey: k.key, w: w, k: K, thash: updateTranscript(k.g, k.thash, m.response.PubKey), body: body}
	k1, err := deriveKey(in, 1)
	require.NoError(k.t, err)
	plain, err := crypto.DecryptEncPart(m.response.Factor, k1, keyUsageSPAKE)
	if err != nil {
		return types.EncryptionKey{}, errBadFactor
	}
	var f secondFactor
	_, err = asn1.Unmarshal(plain, &f)
	require.NoError(k.t, err)
	require.Equal(k.t, int32(sfNone), f.Type)
	return deriveKey(in, 0)
}
