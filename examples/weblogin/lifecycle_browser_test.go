package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kpasswdRealm is a second shared realm, with MIT's kadmind for password
// changes and a policy "short8" refusing passwords under 8 characters.
func kpasswdRealm(t *testing.T) (*krbtest.Realm, *krb.Config) {
	t.Helper()
	r := krbtest.Shared(t, "weblogin-kpasswd", func(r *krbtest.Realm) error {
		if _, err := r.StartKpasswd(); err != nil {
			return err
		}
		_, err := r.Kadmin("addpol", "-minlength", "8", "short8")
		return err
	})
	cfg, err := krb.LoadConfig(r.ConfigPath)
	require.NoError(t, err)
	return r, cfg
}

// words is s with its whitespace collapsed, as a browser shows it.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestBrowserExpiredPassword: an expired password in the web login, in
// Chromium against MIT's KDC and kadmind: the page asks for the new
// password twice; a mismatch is caught on the page; kadmind refuses a
// too-short one (its reason shown, a try used); the next one is accepted
// and the user is signed in with it.
func TestBrowserExpiredPassword(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	realm, cfg := kpasswdRealm(t)
	require.NoError(t, realm.AddPrincipal("erin", "old-password-1", krbtest.RequiresPreauth(),
		krbtest.Flags("+needchange"), krbtest.Args("-policy", "short8")))
	url := serve(t, NewServer(cfg, WithLogf(t.Logf)))

	newPassword := func(pw, again string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.SendKeys(chromedp.ID("new_password"), pw),
			chromedp.SendKeys(chromedp.ID("new_password_again"), again),
			chromedp.Click(chromedp.ID("submit")),
		)
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(url),
		signIn("erin", "old-password-1"),
		chromedp.WaitVisible(chromedp.ID("new_password")),
	))
	assert.Equal(t, "Password expired. You must change it now.", words(text(t, ctx, "new-password-banner")))
	assert.Equal(t, "3 tries left", text(t, ctx, "tries-left"))
	screenshot(t, ctx, "password-expired.png")

	require.NoError(t, chromedp.Do(ctx, newPassword("new-password-2", "new-password-3"),
		chromedp.WaitVisible(chromedp.ID("notice"))))
	assert.Contains(t, text(t, ctx, "notice"), "do not match")
	assert.Equal(t, "3 tries left", text(t, ctx, "tries-left"), "a mismatch caught on the page uses no try")

	require.NoError(t, chromedp.Do(ctx, newPassword("short", "short"),
		chromedp.WaitVisible(chromedp.ID("new-password-rejected"))))
	assert.Equal(t, "New password is too short. Please choose a password which is at least 8 characters long.",
		words(text(t, ctx, "new-password-rejected")))
	assert.Equal(t, "2 tries left", text(t, ctx, "tries-left"))
	screenshot(t, ctx, "password-rejected.png")

	require.NoError(t, chromedp.Do(ctx, newPassword("new-password-2", "new-password-2"),
		chromedp.WaitVisible(chromedp.ID("principal"))))
	assert.Equal(t, realm.Principal("erin"), text(t, ctx, "principal"))
	assert.Equal(t, "krbtgt/"+realm.Name+"@"+realm.Name, text(t, ctx, "server"))
	screenshot(t, ctx, "password-changed.png")

	_, err := krb.GetInitialCreds(t.Context(), "erin", krb.WithConfig(cfg), krb.WithPassword("new-password-2"))
	require.NoError(t, err, "the new password is the one that works")
}

// TestBrowserExpiryWarning: a password that expires in two days (kadmin
// modprinc -pwexpire) signs in, and the signed-in page warns in MIT's words.
func TestBrowserExpiryWarning(t *testing.T) {
	t.Parallel()
	ctx := newBrowser(t)
	realm, cfg := testRealm(t)
	require.NoError(t, realm.AddPrincipal("wren", "wren-password-1", krbtest.RequiresPreauth()))
	_, err := realm.Kadmin("modprinc", "-pwexpire", "now + 2 days + 10 minutes", "wren")
	require.NoError(t, err)
	url := serve(t, NewServer(cfg, WithLogf(t.Logf)))

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(url),
		signIn("wren", "wren-password-1"),
		chromedp.WaitVisible(chromedp.ID("expiry-warning")),
	))
	assert.Regexp(t, `^Warning: Your password will expire in 2 days on \w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}$`, words(text(t, ctx, "expiry-warning")))
	assert.Equal(t, realm.Principal("wren"), text(t, ctx, "principal"))
	screenshot(t, ctx, "expiry-warning.png")

	// Alice's password does not expire: no warning.
	ctx2 := newBrowser(t)
	require.NoError(t, chromedp.Do(ctx2, chromedp.Navigate(url), signIn("alice", alicePW),
		chromedp.WaitVisible(chromedp.ID("principal"))))
	n, err := chromedp.Run(ctx2, chromedp.Evaluate[int](`document.querySelectorAll("#expiry-warning").length`))
	require.NoError(t, err)
	assert.Zero(t, n)
}
