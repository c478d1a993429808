package krb_test

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRenew(t *testing.T) {
	realm, cfg := testRealm(t)
	creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW),
		krb.WithLifetime(time.Hour), krb.WithRenewableLifetime(48*time.Hour), krb.WithForwardable(true))
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond) // the KDC's clock moves, so the renewed ticket starts later

	renewed, err := krb.Renew(ctx(t), creds, krb.RenewWithConfig(cfg))
	require.NoError(t, err)
	assert.Equal(t, creds.Client, renewed.Client)
	assert.Equal(t, creds.Server, renewed.Server)
	assert.Equal(t, creds.AuthTime, renewed.AuthTime, "renewal keeps the original authentication time")
	assert.True(t, renewed.StartTime.After(creds.StartTime))
	assert.NotEqual(t, creds.SessionKey.KeyValue, renewed.SessionKey.KeyValue, "a renewed ticket has a new session key")
	assert.True(t, renewed.HasFlag(1), "forwardable is kept")
	assert.Equal(t, creds.RenewTill, renewed.RenewTill)

	// MIT's kvno uses the renewed TGT.
	cc := filepath.Join(t.TempDir(), "cc")
	require.NoError(t, renewed.WriteCCache(cc))
	kvno := exec.Command("kvno", "host/svc.krbtest")
	kvno.Env = append(realm.Env(), "KRB5CCNAME=FILE:"+cc)
	out, err := kvno.CombinedOutput()
	require.NoError(t, err, "%s", out)

	// A ticket that is not renewable cannot be.
	plain, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW))
	require.NoError(t, err)
	_, err = krb.Renew(ctx(t), plain, krb.RenewWithConfig(cfg))
	require.ErrorIs(t, err, krb.ErrNotRenewable)
}
