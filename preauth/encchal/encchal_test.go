package encchal

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb/prf"
	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/preauth/preauthtest"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	longTerm = types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{1}, 32)}
	armor    = types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{2}, 32)}
)

// kdcChallenge encrypts a timestamp as the KDC does (usage 55).
func kdcChallenge(t *testing.T, key types.EncryptionKey) []byte {
	ts, err := asn1.Marshal(types.PAEncTSEnc{PATimestamp: time.Now().UTC().Truncate(time.Second)})
	require.NoError(t, err)
	ed, err := crypto.GetEncryptedData(ts, key, usageKDCChallenge, 0)
	require.NoError(t, err)
	b, err := asn1.Marshal(ed)
	require.NoError(t, err)
	return b
}

func TestClientChallengeAndKDCChallenge(t *testing.T) {
	cb := &preauthtest.Callbacks{Key: longTerm, Armor: &armor, Now: time.Now()}
	req := Mechanism.NewRequest()
	in := &preauth.Input{PAData: types.PAData{PADataType: PATypeEncryptedChallenge}}
	out, err := req.Process(context.Background(), cb, in)
	require.NoError(t, err)
	require.Len(t, out, 1)
	assert.True(t, cb.FallbackStopped)

	// The KDC decrypts with KRB-FX-CF2(armor, long-term, "clientchallengearmor", "challengelongterm").
	clientKey, err := prf.CF2(armor, longTerm, "clientchallengearmor", "challengelongterm")
	require.NoError(t, err)
	var ed types.EncryptedData
	require.NoError(t, ed.Unmarshal(out[0].PADataValue))
	_, err = crypto.DecryptEncPart(ed, clientKey, usageClientChallenge)
	require.NoError(t, err)

	// The KDC's challenge in the reply must decrypt with the KDC key.
	kdcKey, err := prf.CF2(armor, longTerm, "kdcchallengearmor", "challengelongterm")
	require.NoError(t, err)
	reply := &preauth.Input{Reply: true, PAData: types.PAData{PADataType: PATypeEncryptedChallenge, PADataValue: kdcChallenge(t, kdcKey)}}
	_, err = req.Process(context.Background(), cb, reply)
	require.NoError(t, err)

	_, err = req.Process(context.Background(), cb, reply)
	require.NoError(t, err)
	form, err := verifyKDCChallenge(armor, longTerm, reply.PAData.PADataValue)
	require.NoError(t, err)
	assert.Equal(t, FormRFC6113, form)

	// Heimdal 7.8's KDC encrypts its challenge in the client's challenge
	// key with the KDC's usage: it proves the KDC holds the key too.
	heimdal := kdcChallenge(t, clientKey)
	_, err = req.Process(context.Background(), cb, &preauth.Input{Reply: true, PAData: types.PAData{PADataType: PATypeEncryptedChallenge, PADataValue: heimdal}})
	require.NoError(t, err)
	form, err = verifyKDCChallenge(armor, longTerm, heimdal)
	require.NoError(t, err)
	assert.Equal(t, FormClientKey, form)

	// Refused: our own challenge reflected back (usage 54), a challenge in
	// a key made from another long-term key or without the armor, garbage.
	_, err = req.Process(context.Background(), cb, &preauth.Input{Reply: true, PAData: out[0]})
	require.ErrorIs(t, err, ErrKDCChallenge, "our own challenge reflected")
	otherLongTerm := types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{3}, 32)}
	for _, k := range []struct{ a, l types.EncryptionKey }{{armor, otherLongTerm}, {otherLongTerm, longTerm}} {
		for _, pepper := range []string{"kdcchallengearmor", "clientchallengearmor"} {
			wrong, err := prf.CF2(k.a, k.l, pepper, "challengelongterm")
			require.NoError(t, err)
			_, err = req.Process(context.Background(), cb, &preauth.Input{Reply: true, PAData: types.PAData{PADataType: PATypeEncryptedChallenge, PADataValue: kdcChallenge(t, wrong)}})
			require.ErrorIs(t, err, ErrKDCChallenge, "a reply from someone who does not know the key")
		}
	}
	_, err = req.Process(context.Background(), cb, &preauth.Input{Reply: true, PAData: types.PAData{PADataType: PATypeEncryptedChallenge, PADataValue: []byte{0x30, 0x03, 0x02, 0x01}}})
	require.ErrorIs(t, err, ErrKDCChallenge)
}

func TestOnlyInsideFAST(t *testing.T) {
	cb := &preauthtest.Callbacks{Key: longTerm, Now: time.Now()}
	out, err := Mechanism.NewRequest().Process(context.Background(), cb, &preauth.Input{PAData: types.PAData{PADataType: PATypeEncryptedChallenge}})
	require.NoError(t, err)
	assert.Empty(t, out)
}

// TestOnlyAuthenticatedOffset: encrypted challenge applies the KDC offset
// only when it came from an armored error (MIT's preauth_ec.c asks
// get_preauth_time with allow_unauth_time FALSE).
func TestOnlyAuthenticatedOffset(t *testing.T) {
	now := time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC)
	clientKey, err := prf.CF2(armor, longTerm, "clientchallengearmor", "challengelongterm")
	require.NoError(t, err)
	for _, authenticated := range []bool{false, true} {
		cb := &preauthtest.Callbacks{Key: longTerm, Armor: &armor, Now: now, Offset: time.Hour, OffsetAuthenticated: authenticated}
		out, err := Mechanism.NewRequest().Process(context.Background(), cb, &preauth.Input{PAData: types.PAData{PADataType: PATypeEncryptedChallenge}})
		require.NoError(t, err)
		var ed types.EncryptedData
		require.NoError(t, ed.Unmarshal(out[0].PADataValue))
		plain, err := crypto.DecryptEncPart(ed, clientKey, usageClientChallenge)
		require.NoError(t, err)
		var ts types.PAEncTSEnc
		_, err = asn1.Unmarshal(plain, &ts)
		require.NoError(t, err)
		want := now
		if authenticated {
			want = now.Add(time.Hour)
		}
		assert.True(t, ts.PATimestamp.Equal(want), "authenticated=%v: %s", authenticated, ts.PATimestamp)
	}
}
