package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/responder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Test data of the package's realm.
const (
	alicePW = "alice-pw-1"
	bobPW   = "bob-pw-2"
)

// testRealm returns the MIT KDC realm the package's tests share, with its
// client configuration.
func testRealm(t testing.TB) (*krbtest.Realm, *krb.Config) {
	t.Helper()
	r := krbtest.Shared(t, "weblogin", func(r *krbtest.Realm) error {
		return errors.Join(
			r.AddPrincipal("alice", alicePW, krbtest.RequiresPreauth()),
			r.AddPrincipal("bob", bobPW), // no preauth: the password is asked for the reply
		)
	})
	cfg, err := krb.LoadConfig(r.ConfigPath)
	require.NoError(t, err)
	return r, cfg
}

func TestMain(m *testing.M) {
	code := m.Run()
	krbtest.CloseShared()
	if browser.close != nil {
		browser.close()
	}
	os.Exit(code)
}

// fakeClock is a settable clock for session expiry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// browserless is a plain HTTP client with a cookie jar, for the tests that
// need no real browser. It sends Sec-Fetch-Site as a browser would.
type browserless struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowserless(t *testing.T, h http.Handler) *browserless {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browserless{t: t, base: srv.URL, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

func (b *browserless) do(method, path string, form url.Values, site string) (int, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	require.NoError(b.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", site)
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, string(out)
}

func (b *browserless) get() string {
	code, page := b.do("GET", "/", nil, "same-origin")
	require.Equal(b.t, http.StatusOK, code, page)
	return page
}

func (b *browserless) post(path string, form url.Values) string {
	code, page := b.do("POST", path, form, "same-origin")
	require.Equal(b.t, http.StatusOK, code, page) // after the redirect to /
	return page
}

var roundRE = regexp.MustCompile(`name="round" value="(\d+)"`)

func round(t *testing.T, page string) string {
	m := roundRE.FindStringSubmatch(page)
	require.NotNil(t, m, "no round in %s", page)
	return m[1]
}

func TestPasswordLoginOverHTTP(t *testing.T) {
	realm, cfg := testRealm(t)
	for _, c := range []struct{ user, pw string }{{"alice", alicePW}, {"bob", bobPW}} {
		t.Run(c.user, func(t *testing.T) {
			s := NewServer(cfg, WithLogf(t.Logf))
			t.Cleanup(s.Close)
			b := newBrowserless(t, s)
			assert.Contains(t, b.get(), `name="user"`)

			page := b.post("/login", url.Values{"user": {c.user}})
			assert.Contains(t, page, `type="password" id="password" name="password"`)
			assert.Contains(t, page, "Password for "+realm.Principal(c.user))
			assert.NotContains(t, page, "otp_value")
			assert.NotContains(t, page, `id="several"`)

			page = b.post("/answer", url.Values{"round": {round(t, page)}, "password": {c.pw}})
			assert.Contains(t, page, `<dd id="principal">`+realm.Principal(c.user)+`</dd>`)
			assert.Contains(t, page, "krbtgt/"+realm.Name+"@"+realm.Name)
			assert.NotContains(t, page, c.pw)

			// Reloading shows the result again; "Sign out" ends the session.
			assert.Contains(t, b.get(), `id="principal"`)
			assert.Contains(t, b.post("/reset", url.Values{}), `name="user"`)
			assert.Empty(t, s.sessions)
		})
	}
}

func TestWrongPasswordAndUnknownUserOverHTTP(t *testing.T) {
	realm, cfg := testRealm(t)
	s := NewServer(cfg)
	t.Cleanup(s.Close)
	b := newBrowserless(t, s)

	page := b.post("/login", url.Values{"user": {"alice"}})
	page = b.post("/answer", url.Values{"round": {round(t, page)}, "password": {"wrong"}})
	assert.Contains(t, page, "Password incorrect while getting initial credentials")
	assert.Contains(t, page, `id="restart"`)
	assert.NotContains(t, page, "wrong")
	assert.Contains(t, b.post("/reset", url.Values{}), `name="user"`)

	page = b.post("/login", url.Values{"user": {"nobody"}})
	assert.Contains(t, page, "Client &#39;"+realm.Principal("nobody")+"&#39; not found in Kerberos database while getting initial credentials")
}

func TestStaleRoundIsIgnored(t *testing.T) {
	_, cfg := testRealm(t)
	s := NewServer(cfg)
	t.Cleanup(s.Close)
	b := newBrowserless(t, s)
	page := b.post("/login", url.Values{"user": {"alice"}})
	r := round(t, page)
	page = b.post("/answer", url.Values{"round": {r + "0"}, "password": {alicePW}})
	assert.Contains(t, page, `id="password"`, "a form of another round changes nothing")
	page = b.post("/answer", url.Values{"round": {r}, "password": {alicePW}})
	assert.Contains(t, page, `id="principal"`)
	page = b.post("/answer", url.Values{"round": {r}, "password": {"wrong"}})
	assert.Contains(t, page, `id="principal"`, "a double submit after success changes nothing")
}

func TestCrossSitePostIsRefused(t *testing.T) {
	_, cfg := testRealm(t)
	s := NewServer(cfg)
	t.Cleanup(s.Close)
	b := newBrowserless(t, s)
	code, _ := b.do("POST", "/login", url.Values{"user": {"alice"}}, "cross-site")
	assert.Equal(t, http.StatusForbidden, code)
	assert.Empty(t, s.sessions)
	code, _ = b.do("GET", "/login", nil, "same-origin")
	assert.Equal(t, http.StatusMethodNotAllowed, code, "state changes are POST only")
}

func TestCookieIsStrict(t *testing.T) {
	_, cfg := testRealm(t)
	s := NewServer(cfg)
	t.Cleanup(s.Close)
	req := httptest.NewRequest("POST", "/login", strings.NewReader("user=alice"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	require.Equal(t, http.StatusSeeOther, w.Code)
	c := w.Result().Cookies()
	require.Len(t, c, 1)
	assert.Equal(t, http.SameSiteStrictMode, c[0].SameSite)
	assert.True(t, c[0].HttpOnly)
	assert.Equal(t, 300, c[0].MaxAge)
	assert.GreaterOrEqual(t, len(c[0].Value), 26, "128 random bits")
}

func TestSessionExpiryAbortsTheLogin(t *testing.T) {
	_, cfg := testRealm(t)
	clock := &fakeClock{t: time.Now()}
	s := NewServer(cfg, WithClock(clock.Now), WithSessionTTL(time.Minute))
	t.Cleanup(s.Close)
	b := newBrowserless(t, s)
	page := b.post("/login", url.Values{"user": {"alice"}})
	assert.Contains(t, page, `id="password"`)
	require.Len(t, s.sessions, 1)
	var login *krb.Login
	for _, se := range s.sessions {
		login = se.login
	}

	clock.Advance(59 * time.Second) // a request keeps the session alive
	page = b.get()
	assert.Contains(t, page, `id="password"`)
	clock.Advance(61 * time.Second)
	page = b.get()
	assert.Contains(t, page, "Your login session expired or ended")
	assert.Empty(t, s.sessions)
	_, err := login.Continue(context.Background())
	assert.ErrorContains(t, err, "login aborted")

	// The answer to an expired session starts nothing.
	page = b.post("/answer", url.Values{"round": {"1"}, "password": {alicePW}})
	assert.Contains(t, page, `name="user"`)
}

// The OTP and PKINIT forms, from question sets as the engine would produce
// them: the fields drawn and the answers they give.
func TestOTPAndPKINITForms(t *testing.T) {
	var rs responder.ResponseSet
	six, dec := int32(6), int32(responder.OTPFormatDecimal)
	otp := responder.OTPChallenge{Service: "otp.example", TokenInfo: []responder.OTPTokenInfo{
		{Flags: responder.OTPCollectToken, Vendor: "FreeOTP", Length: &six, Format: &dec},
		{Flags: responder.OTPCollectToken | responder.OTPCollectPIN | responder.OTPSeparatePIN, Vendor: "Yubico", Challenge: "press the button"},
	}}
	enc, err := otp.Encode()
	require.NoError(t, err)
	rs.Ask(responder.QuestionPassword, "")
	rs.Ask(responder.QuestionOTP, enc)
	pk, err := responder.PKINITChallenge{
		"PKCS12:/home/carol/carol.p12": 0,
		"PKCS11:token=carolcard":       responder.PKINITUserPINFinalTry,
	}.Encode()
	require.NoError(t, err)
	rs.Ask(responder.QuestionPKINIT, pk)

	w := httptest.NewRecorder()
	(&Server{logf: t.Logf}).render(w, "questions", newQuestionsView("carol@EXAMPLE.TEST", 3, &rs))
	page := w.Body.String()
	for _, want := range []string{
		`name="round" value="3"`, `id="several"`,
		`id="password" name="password"`,
		"One-time password for otp.example",
		`name="otp_token" value="0" checked`, `name="otp_token" value="1"`,
		"Token 0: FreeOTP", "Token 1: Yubico", "Challenge: <code>press the button</code>",
		`id="otp_value_0" name="otp_value_0"`, `inputmode="numeric"`, `maxlength="6"`,
		`id="otp_value_1" name="otp_value_1"`, `type="password" id="otp_pin_1" name="otp_pin_1"`,
		`<code id="pkinit_id_0">PKCS11:token=carolcard</code>`, "Last try: a wrong PIN locks the token.",
		`id="pkinit_pin_0"`, `id="pkinit_pin_1"`, `<code id="pkinit_id_1">PKCS12:/home/carol/carol.p12</code>`,
	} {
		assert.Contains(t, page, want)
	}
	assert.NotContains(t, page, `id="otp_pin_0"`, "token 0 does not collect a PIN")

	form := url.Values{
		"otp_token": {"1"}, "otp_value_1": {"123456"}, "otp_pin_1": {"4321"},
		"pkinit_pin_0": {"card-pin"}, // PKCS11:... sorts first
	}
	require.NoError(t, applyAnswers(&rs, form))
	_, answered := rs.Answer(responder.QuestionPassword)
	assert.False(t, answered, "an empty field leaves its question unanswered")
	a, ok := rs.Answer(responder.QuestionOTP)
	require.True(t, ok)
	got, err := responder.ParseOTPAnswer(a)
	require.NoError(t, err)
	assert.Equal(t, responder.OTPAnswer{TokenInfo: 1, Value: "123456", PIN: "4321"}, *got)
	a, ok = rs.Answer(responder.QuestionPKINIT)
	require.True(t, ok)
	pins, err := responder.ParsePKINITAnswer(a)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"PKCS11:token=carolcard": "card-pin"}, pins)

	assert.Error(t, applyAnswers(&rs, url.Values{"otp_token": {"7"}}), "a token the challenge does not list")
}

// TestRun serves main's way (flags' values, armor from a cache) on a free
// port, logs in, and stops when the context ends.
func TestRun(t *testing.T) {
	realm, _ := testRealm(t)
	armor, err := realm.ArmorCache()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, realm.ConfigPath, "127.0.0.1:0", armor, time.Minute, func(u, r string) {
			assert.Equal(t, realm.Name, r)
			urls <- u
		})
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	b := &browserless{t: t, base: strings.TrimSuffix(base, "/"), c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
	page := b.post("/login", url.Values{"user": {"alice"}})
	page = b.post("/answer", url.Values{"round": {round(t, page)}, "password": {alicePW}})
	assert.Contains(t, page, `<dd id="principal">`+realm.Principal("alice")+`</dd>`)
	cancel()
	assert.NoError(t, <-done)
}
