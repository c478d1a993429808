package krb_test

import (
	"context"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/prompter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExpiryWarningWording(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.Local)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	cases := []struct {
		in      time.Duration
		lastReq bool
		want    string
	}{
		{30 * time.Minute, false, "Warning: Your password will expire in less than one hour on Sun Nov 29 12:30:00 2026"},
		{90 * time.Minute, false, "Warning: Your password will expire in 1 hour on Sun Nov 29 13:30:00 2026"},
		{5 * time.Hour, false, "Warning: Your password will expire in 5 hours on Sun Nov 29 17:00:00 2026"},
		{47 * time.Hour, false, "Warning: Your password will expire in 47 hours on Tue Dec  1 11:00:00 2026"},
		{50 * time.Hour, false, "Warning: Your password will expire in 2 days on Tue Dec  1 14:00:00 2026"},
		{10 * 24 * time.Hour, false, ""}, // over a week, from key-expiration
		{10 * 24 * time.Hour, true, "Warning: Your password will expire in 10 days on Wed Dec  9 12:00:00 2026"}, // the KDC asked
		{-time.Hour, false, ""},
		{-time.Hour, true, "Warning: Your password will expire in less than one hour on Sun Nov 29 11:00:00 2026"},
	}
	for _, c := range cases {
		got, ok := krb.ExpiryWarning(at(c.in), c.lastReq, now)
		assert.Equal(t, c.want, got, "%s lastReq=%v", c.in, c.lastReq)
		assert.Equal(t, c.want != "", ok)
	}
	_, ok := krb.ExpiryWarning(time.Time{}, true, now)
	assert.False(t, ok)
}

// bannerPrompter records banners shown without prompts (warnings).
type bannerPrompter struct{ banners []string }

func (p *bannerPrompter) Prompt(_ context.Context, _, banner string, ps []prompter.Prompt) ([]string, error) {
	if len(ps) == 0 {
		p.banners = append(p.banners, banner)
	}
	return make([]string, len(ps)), nil
}

// TestExpiryWarningsFromMITKDC: with modprinc -pwexpire, MIT's KDC puts the
// expiry in the reply; the login warns through the prompter in MIT's
// words, or hands the times to the expire callback instead.
func TestExpiryWarningsFromMITKDC(t *testing.T) {
	realm, cfg := testRealm(t)
	cases := []struct {
		name, when, want string
	}{
		{"wes", "now + 2 days + 10 minutes", "Warning: Your password will expire in 2 days on "},
		{"wyn", "now + 5 hours + 10 minutes", "Warning: Your password will expire in 5 hours on "},
		{"wil", "now + 30 minutes", "Warning: Your password will expire in less than one hour on "},
	}
	for _, c := range cases {
		t.Run(c.when, func(t *testing.T) {
			require.NoError(t, realm.AddPrincipal(c.name, "pw-"+c.name, krbtest.RequiresPreauth()))
			_, err := realm.Kadmin("modprinc", "-pwexpire", c.when, c.name)
			require.NoError(t, err)
			info, err := realm.Kadmin("getprinc", c.name)
			require.NoError(t, err)

			p := &bannerPrompter{}
			creds, err := krb.GetInitialCreds(ctx(t), c.name, krb.WithConfig(cfg), krb.WithPassword("pw-"+c.name), krb.WithPrompter(p))
			require.NoError(t, err)
			require.False(t, creds.PasswordExpires.IsZero(), info)
			t.Logf("password expires %s (from last-req: %v); key-expiration %s", creds.PasswordExpires, creds.ExpiryFromLastReq, creds.KeyExpiration)
			require.Len(t, p.banners, 1)
			assert.Equal(t, c.want+creds.PasswordExpires.Local().Format("Mon Jan _2 15:04:05 2006"), p.banners[0])

			var got []any
			p = &bannerPrompter{}
			_, err = krb.GetInitialCreds(ctx(t), c.name, krb.WithConfig(cfg), krb.WithPassword("pw-"+c.name), krb.WithPrompter(p),
				krb.WithExpireCallback(func(pw, acct time.Time, fromLastReq bool) { got = []any{pw, acct, fromLastReq} }))
			require.NoError(t, err)
			assert.Empty(t, p.banners, "the callback replaces the prompter's warning")
			require.Len(t, got, 3)
			assert.True(t, got[0].(time.Time).Equal(creds.PasswordExpires))
			assert.Equal(t, creds.ExpiryFromLastReq, got[2])
		})
	}

	// No expiry: no warning, the callback still hears of it (zero times).
	p := &bannerPrompter{}
	called := false
	creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithPrompter(p))
	require.NoError(t, err)
	assert.True(t, creds.PasswordExpires.IsZero())
	assert.Empty(t, p.banners)
	_, err = krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW),
		krb.WithExpireCallback(func(pw, acct time.Time, _ bool) { called = pw.IsZero() && acct.IsZero() }))
	require.NoError(t, err)
	assert.True(t, called)
}
