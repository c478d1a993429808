package encts

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/preauth/preauthtest"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var key = types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{7}, 32)}

func TestEncryptedTimestamp(t *testing.T) {
	now := time.Date(2026, 11, 22, 23, 0, 0, 123456000, time.UTC)
	cb := &preauthtest.Callbacks{Key: key, Now: now}
	req := Mechanism.NewRequest()
	in := &preauth.Input{PAData: types.PAData{PADataType: PATypeEncTimestamp}}
	var rs responder.ResponseSet
	require.NoError(t, req.FillResponseSet(context.Background(), cb, in, &rs))
	assert.True(t, cb.NeededKey)

	out, err := req.Process(context.Background(), cb, in)
	require.NoError(t, err)
	require.Len(t, out, 1)
	assert.True(t, cb.FallbackStopped, "a sent timestamp commits the login, as MIT")
	var ed types.EncryptedData
	require.NoError(t, ed.Unmarshal(out[0].PADataValue))
	plain, err := crypto.DecryptEncPart(ed, key, 1) // RFC 4120 key usage 1
	require.NoError(t, err)
	var ts types.PAEncTSEnc
	_, err = asn1.Unmarshal(plain, &ts)
	require.NoError(t, err)
	assert.True(t, ts.PATimestamp.Equal(now.Truncate(time.Second)))
	assert.Equal(t, 123456, ts.PAUSec)
}

func TestNotInsideFASTAndNotWhenDisabled(t *testing.T) {
	in := &preauth.Input{PAData: types.PAData{PADataType: PATypeEncTimestamp}}
	armored := &preauthtest.Callbacks{Key: key, Armor: &key}
	out, err := Mechanism.NewRequest().Process(context.Background(), armored, in)
	require.NoError(t, err)
	assert.Empty(t, out, "never inside FAST")

	disabled := &preauthtest.Callbacks{Key: key, Settings: map[string][]string{"disable_encrypted_timestamp": {"true"}}}
	var rs responder.ResponseSet
	require.NoError(t, Mechanism.NewRequest().FillResponseSet(context.Background(), disabled, in, &rs))
	assert.False(t, disabled.NeededKey, "no password question for a disabled mechanism")
	_, err = Mechanism.NewRequest().Process(context.Background(), disabled, in)
	require.ErrorIs(t, err, ErrDisabled)
}

// TestUnauthenticatedOffsetApplies: encrypted timestamp accepts the KDC
// offset learnt from an unauthenticated error (MIT's get_preauth_time with
// allow_unauth_time TRUE).
func TestUnauthenticatedOffsetApplies(t *testing.T) {
	now := time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC)
	cb := &preauthtest.Callbacks{Key: key, Now: now, Offset: time.Hour}
	out, err := Mechanism.NewRequest().Process(context.Background(), cb, &preauth.Input{PAData: types.PAData{PADataType: PATypeEncTimestamp}})
	require.NoError(t, err)
	var ed types.EncryptedData
	require.NoError(t, ed.Unmarshal(out[0].PADataValue))
	plain, err := crypto.DecryptEncPart(ed, key, 1)
	require.NoError(t, err)
	var ts types.PAEncTSEnc
	_, err = asn1.Unmarshal(plain, &ts)
	require.NoError(t, err)
	assert.True(t, ts.PATimestamp.Equal(now.Add(time.Hour)), "%s", ts.PATimestamp)
}
