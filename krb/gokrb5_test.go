package krb_test

import (
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGokrb5Client hands a TGT obtained here to gokrb5's client, which uses
// it for a TGS exchange; the service ticket it gets decrypts with the
// service's keytab and names our client.
func TestGokrb5Client(t *testing.T) {
	realm, cfg := testRealm(t)
	creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW))
	require.NoError(t, err)
	ktPath, err := realm.Keytab("host/svc.krbtest")
	require.NoError(t, err)
	kt, err := krb.LoadKeytab(ktPath)
	require.NoError(t, err)

	// The cache header's KDC offset and the fast_avail configuration entry
	// must not confuse gokrb5's cache reader.
	decorated := *creds
	decorated.KDCOffset = 3 * time.Second
	decorated.FASTAvailable = true

	for _, tc := range []struct {
		name  string
		creds *krb.Credentials
	}{{"plain", creds}, {"with offset and fast_avail", &decorated}} {
		c := tc.creds
		t.Run(tc.name, func(t *testing.T) {
			cl, err := c.Gokrb5Client(cfg)
			require.NoError(t, err)
			assert.Equal(t, realm.Name, cl.Credentials.Domain())
			assert.Equal(t, "alice", cl.Credentials.UserName())

			tkt, key, err := cl.GetServiceTicket("host/svc.krbtest")
			require.NoError(t, err)
			assert.Equal(t, []string{"host", "svc.krbtest"}, tkt.SName.NameString)
			assert.NotZero(t, key.KeyType)
			require.NoError(t, tkt.DecryptEncPart(kt, nil))
			assert.Equal(t, []string{"alice"}, tkt.DecryptedEncPart.CName.NameString)
			assert.Equal(t, realm.Name, tkt.DecryptedEncPart.CRealm)
		})
	}
}

func TestGokrb5ClientNeedsTGTAndConfig(t *testing.T) {
	svc, err := krb.ParsePrincipal("host/svc.example.test", "EXAMPLE.TEST", false)
	require.NoError(t, err)
	alice, err := krb.ParsePrincipal("alice", "EXAMPLE.TEST", false)
	require.NoError(t, err)
	c := &krb.Credentials{Client: alice, Server: svc}
	cfg, err := krb.ParseConfig("[libdefaults]\n default_realm = EXAMPLE.TEST\n")
	require.NoError(t, err)
	_, err = c.Gokrb5Client(cfg)
	require.ErrorContains(t, err, "not a TGT")
	c.Server = krb.TGSPrincipal("EXAMPLE.TEST")
	_, err = c.Gokrb5Client(nil)
	require.ErrorContains(t, err, "needs a configuration")
}
