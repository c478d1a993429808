package krb_test

import (
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPostdateThenValidate: kinit -s asks for a ticket that starts later;
// it is issued invalid, and kinit -v validates it once it has started.
func TestPostdateThenValidate(t *testing.T) {
	_, cfg := testRealm(t)
	creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW),
		krb.WithStartTime(2*time.Second), krb.WithLifetime(time.Hour))
	require.NoError(t, err)
	assert.True(t, creds.HasFlag(flags.Invalid), "a postdated ticket is invalid until validated")
	assert.True(t, creds.HasFlag(flags.PostDated))
	assert.True(t, creds.StartTime.After(creds.AuthTime))
	assert.WithinDuration(t, creds.StartTime.Add(time.Hour), creds.EndTime, 2*time.Second)

	_, err = krb.Validate(ctx(t), creds, krb.RenewWithConfig(cfg))
	var kerr *krb.KDCError
	require.ErrorAs(t, err, &kerr, "too early: the KDC refuses")
	assert.EqualValues(t, 33, kerr.Code) // KRB_AP_ERR_TKT_NYV, ticket not yet valid

	time.Sleep(time.Until(creds.StartTime) + 100*time.Millisecond)
	valid, err := krb.Validate(ctx(t), creds, krb.RenewWithConfig(cfg))
	require.NoError(t, err)
	assert.False(t, valid.HasFlag(flags.Invalid))
	assert.Equal(t, creds.Client, valid.Client)

	_, err = krb.Validate(ctx(t), valid, krb.RenewWithConfig(cfg))
	require.ErrorContains(t, err, "not a postdated")
}
