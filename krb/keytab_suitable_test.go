package krb_test

import (
	"context"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKeytabWithoutClientRefusedLocally: as MIT's kinit -k -t, a keytab
// with no key of a supported enctype for the client stops the login before
// anything is sent, with MIT's message. Members of the class: another
// principal, the same name in another realm, only an unsupported enctype.
func TestKeytabWithoutClientRefusedLocally(t *testing.T) {
	for name, add := range map[string]func(kt *keytab.Keytab) error{
		"other principal": func(kt *keytab.Keytab) error { return kt.AddEntry("bob", fakeRealm, "pw", time.Now(), 1, 18) },
		"other realm":     func(kt *keytab.Keytab) error { return kt.AddEntry(fakeClient, "OTHER.TEST", "pw", time.Now(), 1, 18) },
		"empty keytab":    func(*keytab.Keytab) error { return nil },
		"unsupported enctype only": func(kt *keytab.Keytab) error {
			if err := kt.AddEntry(fakeClient, fakeRealm, "pw", time.Now(), 1, 18); err != nil {
				return err
			}
			kt.Entries[len(kt.Entries)-1].Key.KeyType = 1 // des-cbc-crc
			return nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			kt := keytab.New()
			require.NoError(t, add(kt))
			sent := 0
			send := krb.TransportFunc(func(context.Context, string, []byte, bool) ([]byte, error) {
				sent++
				return nil, krb.ErrKDCUnreachable
			})
			_, err := krb.GetInitialCreds(context.Background(), fakeClient, krb.WithConfig(fakeConfig(t)),
				krb.WithKeytab(kt), krb.WithTransport(send))
			require.ErrorIs(t, err, krb.ErrNoKey)
			assert.Equal(t, "Keytab contains no suitable keys for "+fakeClient+"@"+fakeRealm+" while getting initial credentials", err.Error())
			assert.Equal(t, 0, sent, "nothing is sent")
		})
	}
}
