package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromiumPath is Debian's chromium (apt-get install chromium).
const chromiumPath = "/usr/bin/chromium"

// browser is one headless Chromium for the package's tests, with a fresh
// profile; each test gets its own tab in its own browser context (cookies
// are not shared). TestMain stops it.
var browser struct {
	once  sync.Once
	ctx   context.Context
	close func()
	err   error
}

// newBrowser returns a chromedp context for a new tab, bounded in time. It
// skips the test when Chromium is missing, unless KRBTEST_REQUIRE=1.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		krbtest.SkipOrFail(t, fmt.Sprintf("%s is missing (apt-get install chromium)", chromiumPath))
	}
	browser.once.Do(startBrowser)
	require.NoError(t, browser.err, "starting %s", chromiumPath)
	tab, closeTab := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(closeTab)
	// The first call opens the tab, which lives as long as that call's
	// context: it must not carry the timeout.
	require.NoError(t, chromedp.Do(tab))
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func startBrowser() {
	profile, err := os.MkdirTemp("", "weblogin-chromium-")
	if err != nil {
		browser.err = err
		return
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // the tests run as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(900, 700),
	)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	browser.ctx = bctx
	browser.close = func() {
		cancelBrowser()
		cancelAlloc() // waits for the browser to exit
		os.RemoveAll(profile)
	}
	// The first call starts the browser, which lives as long as bctx.
	browser.err = chromedp.Do(bctx)
}

// serve runs the web login on httptest's 127.0.0.1 listener.
func serve(t *testing.T, s *Server) string {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	return srv.URL
}

// signIn fills the user name, then the password, as a person would.
func signIn(user, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), user),
		chromedp.Click(chromedp.ID("next")),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("submit")),
	)
}

// text returns the text of the element with the id.
func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	require.NoError(t, err)
	return s
}

// screenshot saves the page as a PNG in the test's artifact directory:
// go test -artifacts -outputdir DIR keeps it.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	require.NoError(t, err)
	path := filepath.Join(t.ArtifactDir(), name)
	require.NoError(t, os.WriteFile(path, shot, 0o644))
	t.Logf("screenshot: %s", path)
}

func TestBrowserPasswordLogin(t *testing.T) {
	t.Parallel() // each test has its own tab, cookies and server
	ctx := newBrowser(t)
	realm, cfg := testRealm(t)
	url := serve(t, NewServer(cfg, WithLogf(t.Logf)))

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "alice"),
		chromedp.Click(chromedp.ID("next")),
		chromedp.WaitVisible(chromedp.ID("password")),
	))
	assert.Equal(t, "Password for "+realm.Principal("alice"), text(t, ctx, "password-label"))
	screenshot(t, ctx, "password-question.png")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("password"), alicePW),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("principal")),
	))
	assert.Equal(t, realm.Principal("alice"), text(t, ctx, "principal"))
	assert.Equal(t, "krbtgt/"+realm.Name+"@"+realm.Name, text(t, ctx, "server"))
	assert.NotEmpty(t, text(t, ctx, "start"))
	assert.NotEmpty(t, text(t, ctx, "end"))
	screenshot(t, ctx, "signed-in.png")

	// Sign out, and the start page is back.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("restart")),
		chromedp.WaitVisible(chromedp.ID("user")),
	))
}

func TestBrowserWrongPassword(t *testing.T) {
	t.Parallel() // each test has its own tab, cookies and server
	ctx := newBrowser(t)
	realm, cfg := testRealm(t)
	url := serve(t, NewServer(cfg, WithLogf(t.Logf)))

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(url),
		signIn("alice", "not-the-password"),
		chromedp.WaitVisible(chromedp.ID("error")),
	))
	msg := text(t, ctx, "error")
	assert.Contains(t, msg, "Password incorrect")
	assert.Equal(t, "Password incorrect while getting initial credentials", msg)

	// "Start over" goes back to the user name, and a second try succeeds.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("restart")),
		signIn("alice", alicePW),
		chromedp.WaitVisible(chromedp.ID("principal")),
	))
	assert.Equal(t, realm.Principal("alice"), text(t, ctx, "principal"))
}

// TestBrowserOTPAndPKINIT signs in with a one-time password and with a
// certificate, against one realm: its KDC checks codes with FreeRADIUS
// (krbtest.StartRADIUS) and has a PKI for PKINIT.
func TestBrowserOTPAndPKINIT(t *testing.T) {
	t.Parallel()
	newBrowser(t) // skip early without Chromium
	const code = "314159"
	rad := krbtest.StartRADIUS(t, map[string]string{"carol": code})
	var (
		realm *krbtest.Realm
		pki   *krbtest.PKI
	)
	havePKINIT, noPKINIT := krbtest.PKINITAvailable()
	if havePKINIT {
		realm, pki = krbtest.NewPKINITRealm(t, rad.KDCOption())
	} else {
		realm = krbtest.NewRealm(t, rad.KDCOption())
	}
	cfg, err := krb.LoadConfig(realm.ConfigPath)
	require.NoError(t, err)

	// MIT's KDC offers OTP only inside FAST, so this server armors its
	// logins with a host TGT. The form shows the OTP fieldset and no
	// password field (carol has no password key).
	t.Run("otp", func(t *testing.T) {
		t.Parallel()
		ctx := newBrowser(t)
		require.NoError(t, realm.AddRandomKeyPrincipal("carol", krbtest.NoKey(), krbtest.RequiresPreauth()))
		require.NoError(t, realm.SetOTP("carol", rad.OTPConfig("carol")))
		armorPath, err := realm.ArmorCache()
		require.NoError(t, err)
		cc, err := ccache.ReadFile(armorPath)
		require.NoError(t, err)
		armor, err := krb.ArmorFromCCache(cc, realm.Name)
		require.NoError(t, err)
		url := serve(t, NewServer(cfg, WithLogf(t.Logf), WithLoginOptions(krb.WithArmor(armor))))

		askCode := chromedp.Steps(
			chromedp.WaitVisible(chromedp.ID("user")),
			chromedp.SendKeys(chromedp.ID("user"), "carol"),
			chromedp.Click(chromedp.ID("next")),
			chromedp.WaitVisible(chromedp.ID("otp_value_0")),
		)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url), askCode))
		assert.Equal(t, "One-time password", text(t, ctx, "otp-legend"))
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#password, #otp_pin_0").length`))
		require.NoError(t, err)
		assert.Zero(t, n, "no password field, no PIN field: MIT's KDC asks for the code only")
		screenshot(t, ctx, "otp-question.png")

		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("otp_value_0"), code),
			chromedp.Click(chromedp.ID("submit")),
			chromedp.WaitVisible(chromedp.ID("principal")),
		))
		assert.Equal(t, realm.Principal("carol"), text(t, ctx, "principal"))

		// A wrong code: MIT's message, and back to the start.
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(chromedp.ID("restart")),
			askCode,
			chromedp.SendKeys(chromedp.ID("otp_value_0"), "000000"),
			chromedp.Click(chromedp.ID("submit")),
			chromedp.WaitVisible(chromedp.ID("error")),
		))
		assert.Equal(t, "Preauthentication failed while getting initial credentials", text(t, ctx, "error"))
	})

	// A certificate whose key is in a PKCS#12 file protected by a password:
	// the "pkinit" question names the identity, and the form has one field
	// for it. The identity is the server's (krb.WithPreauthOption), as for
	// a kiosk or a local login window.
	t.Run("pkinit", func(t *testing.T) {
		t.Parallel()
		if !havePKINIT {
			krbtest.SkipOrFail(t, noPKINIT)
		}
		ctx := newBrowser(t)
		require.NoError(t, realm.AddPKINITPrincipal("dave"))
		id, err := pki.Client("dave", nil)
		require.NoError(t, err)
		p12, err := id.WritePKCS12("p12 pass")
		require.NoError(t, err)
		url := serve(t, NewServer(cfg, WithLogf(t.Logf), WithLoginOptions(krb.WithPreauthOption("X509_user_identity", "PKCS12:"+p12))))

		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(url),
			chromedp.WaitVisible(chromedp.ID("user")),
			chromedp.SendKeys(chromedp.ID("user"), "dave"),
			chromedp.Click(chromedp.ID("next")),
			chromedp.WaitVisible(chromedp.ID("pkinit_pin_0")),
		))
		assert.Equal(t, "PKCS12:"+p12, text(t, ctx, "pkinit_id_0"))
		screenshot(t, ctx, "pkinit-question.png")

		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("pkinit_pin_0"), "p12 pass"),
			chromedp.Click(chromedp.ID("submit")),
			chromedp.WaitVisible(chromedp.ID("principal")),
		))
		assert.Equal(t, realm.Principal("dave"), text(t, ctx, "principal"))
	})
}
