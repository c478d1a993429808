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

	forged := &preauth.Input{Reply: true, PAData: types.PAData{PADataType: PATypeEncryptedChallenge, PADataValue: kdcChallenge(t, clientKey)}}
	_, err = req.Process(context.Background(), cb, forged)
	require.ErrorIs(t, err, ErrKDCChallenge, "a reply from someone who does not know the key")
	_, err = req.Process(context.Background(), cb, &preauth.Input{Reply: true, PAData: types.PAData{PADataType: PATypeEncryptedChallenge, PADataValue: []byte{0x30, 0x03, 0x02, 0x01}}})
	require.ErrorIs(t, err, ErrKDCChallenge)
}

func TestOnlyInsideFAST(t *testing.T) {
	cb := &preauthtest.Callbacks{Key: longTerm, Now: time.Now()}
	out, err := Mechanism.NewRequest().Process(context.Background(), cb, &preauth.Input{PAData: types.PAData{PADataType: PATypeEncryptedChallenge}})
	require.NoError(t, err)
	assert.Empty(t, out)
}
