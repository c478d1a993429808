package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
)

// cookieName names the session cookie. It holds only a random session ID;
// the login itself stays on the server.
const cookieName = "gokinit_weblogin"

// Server is the web login: an http.Handler that asks for a user name, then
// draws each round's questions as a form, and shows the ticket or the error.
//
// Between two HTTP requests a login is a *krb.Login value in the server's
// session map, stopped at its questions (krb.WithDeferredQuestions): no
// goroutine waits for the user. A POST with the answers resumes it with
// Login.Continue until the next round of questions, the credentials, or an
// error.
type Server struct {
	cfg         *krb.Config
	loginOpts   []krb.Option
	ttl         time.Duration
	now         func() time.Time
	maxSessions int
	kdcTimeout  time.Duration
	logf        func(format string, args ...any)
	handler     http.Handler

	mu       sync.Mutex
	sessions map[string]*session
}

// session is one browser's login. Its mutex lets one request at a time
// drive the login (a krb.Login is not safe for concurrent use).
type session struct {
	mu        sync.Mutex
	user      string
	login     *krb.Login
	round     int                    // increases with each round of questions
	questions *responder.ResponseSet // the round waiting for answers, or nil
	creds     *krb.Credentials       // set on success
	err       string                 // set on failure
	notice    string                 // shown with the questions once (a mismatched new password)
	expires   time.Time              // guarded by Server.mu
}

// Option configures a Server.
type Option func(*Server)

// WithSessionTTL sets how long a session lives without a request (default
// 5 minutes). An expired session's login is aborted.
func WithSessionTTL(d time.Duration) Option { return func(s *Server) { s.ttl = d } }

// WithClock replaces time.Now, for tests of expiry.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithLoginOptions adds options to every login, for example krb.WithArmor
// (FAST, which OTP needs) or krb.WithLifetime.
func WithLoginOptions(opts ...krb.Option) Option {
	return func(s *Server) { s.loginOpts = append(s.loginOpts, opts...) }
}

// WithMaxSessions bounds the logins in progress (default 10000).
func WithMaxSessions(n int) Option { return func(s *Server) { s.maxSessions = n } }

// WithLogf receives one line per login outcome; never a password or answer.
func WithLogf(logf func(format string, args ...any)) Option {
	return func(s *Server) { s.logf = logf }
}

// NewServer returns the web login for the realms of cfg.
func NewServer(cfg *krb.Config, opts ...Option) *Server {
	s := &Server{
		cfg:         cfg,
		ttl:         5 * time.Minute,
		now:         time.Now,
		maxSessions: 10000,
		kdcTimeout:  30 * time.Second,
		logf:        func(string, ...any) {},
		sessions:    make(map[string]*session),
	}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("POST /login", s.start)
	mux.HandleFunc("POST /answer", s.answer)
	mux.HandleFunc("POST /reset", s.reset)
	// State changes are POST only, and POSTs from other sites are refused
	// (Sec-Fetch-Site / Origin); the cookie is SameSite=Strict as well.
	s.handler = http.NewCrossOriginProtection().Handler(mux)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10) // a login form is small
	s.handler.ServeHTTP(w, r)
}

// Close aborts every login in progress.
func (s *Server) Close() {
	s.mu.Lock()
	all := s.sessions
	s.sessions = make(map[string]*session)
	s.mu.Unlock()
	for _, se := range all {
		se.mu.Lock()
		se.abort()
		se.mu.Unlock()
	}
}

// lookup returns the request's session and extends its life, or nil; gone
// reports a cookie whose session no longer exists (expired or ended).
func (s *Server) lookup(r *http.Request) (se *session, gone bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	se = s.sessions[c.Value]
	if se == nil {
		return nil, true
	}
	se.expires = s.now().Add(s.ttl)
	return se, false
}

// sweepLocked aborts and forgets expired sessions (lazy expiry: it runs on
// requests, so no janitor goroutine is needed). A session busy with a
// request is left for a later sweep.
func (s *Server) sweepLocked() {
	now := s.now()
	for id, se := range s.sessions {
		if now.Before(se.expires) || !se.mu.TryLock() {
			continue
		}
		se.abort()
		se.mu.Unlock()
		delete(s.sessions, id)
		s.logf("session for %s expired", se.user)
	}
}

// remove forgets the request's session, if any, and aborts its login.
func (s *Server) remove(r *http.Request) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return
	}
	s.mu.Lock()
	se := s.sessions[c.Value]
	delete(s.sessions, c.Value)
	s.mu.Unlock()
	if se != nil {
		se.mu.Lock()
		se.abort()
		se.mu.Unlock()
	}
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}

// page shows what the session is at: the start form, the questions, the
// ticket or the error.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	se, gone := s.lookup(r)
	if se == nil {
		notice := ""
		if gone {
			notice = "Your login session expired or ended. Please start again."
			s.setCookie(w, r, "", -1)
		}
		s.render(w, "start", startView{Realm: s.cfg.LibDefaults.DefaultRealm, Notice: notice})
		return
	}
	se.mu.Lock()
	defer se.mu.Unlock()
	switch {
	case se.creds != nil:
		s.render(w, "success", newSuccessView(se.creds, s.now()))
	case se.err != "":
		s.render(w, "failure", failureView{User: se.user, Error: se.err})
	case se.questions != nil:
		v := newQuestionsView(se.login.Client().String(), se.round, se.questions)
		v.Notice, se.notice = se.notice, ""
		s.render(w, "questions", v)
	default:
		s.render(w, "failure", failureView{User: se.user, Error: "the login is in an unexpected state"})
	}
}

// start begins a login for the posted user name and stores it in a new
// session.
func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimSpace(r.PostFormValue("user"))
	if user == "" {
		s.render(w, "start", startView{Realm: s.cfg.LibDefaults.DefaultRealm, Notice: "Please enter your user name."})
		return
	}
	s.remove(r) // a new login replaces the browser's old one
	s.mu.Lock()
	s.sweepLocked()
	full := len(s.sessions) >= s.maxSessions
	s.mu.Unlock()
	if full {
		http.Error(w, "Too many logins in progress; try again later.", http.StatusServiceUnavailable)
		return
	}

	se := &session{user: user}
	opts := append([]krb.Option{krb.WithConfig(s.cfg)}, s.loginOpts...)
	opts = append(opts, krb.WithDeferredQuestions())
	login, err := krb.NewLogin(user, opts...)
	if err != nil {
		se.err = err.Error()
	} else {
		se.login = login
		s.drive(r.Context(), se)
	}

	id := rand.Text()
	s.mu.Lock()
	se.expires = s.now().Add(s.ttl)
	s.sessions[id] = se
	s.mu.Unlock()
	s.setCookie(w, r, id, int(s.ttl/time.Second))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// answer sets the posted answers on the waiting round and resumes the
// login.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	se, _ := s.lookup(r)
	if se == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	se.mu.Lock()
	defer se.mu.Unlock()
	// A form from an older round (a double submit, the back button) is
	// ignored: the page then shows the current state.
	if se.questions == nil || r.PostFormValue("round") != strconv.Itoa(se.round) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if err := applyAnswers(se.questions, r.PostForm); errors.Is(err, errMismatch) {
		// Typed differently twice: ask again, the login untouched (no
		// attempt is used up, nothing reaches the kpasswd server).
		se.notice = "The new passwords do not match. Please type them again."
	} else if err != nil {
		se.abort()
		se.questions, se.err = nil, err.Error()
	} else {
		s.drive(r.Context(), se)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// reset ends the session ("Start over").
func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	s.remove(r)
	s.setCookie(w, r, "", -1)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// drive runs the login until its next questions, credentials or error. The
// KDC exchange does not depend on the browser staying connected: a
// cancelled request would end the login for good.
func (s *Server) drive(ctx context.Context, se *session) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.kdcTimeout)
	defer cancel()
	q, err := se.login.Continue(ctx)
	switch {
	case err != nil:
		se.questions, se.err = nil, err.Error()
		s.logf("login for %s failed: %v", se.user, err)
	case q != nil:
		se.questions = q
		se.round++
	default:
		se.questions, se.creds = nil, se.login.Credentials()
		s.logf("login for %s succeeded: %s", se.user, se.creds.Client)
	}
}

// abort ends the session's login, if it got as far as having one. The
// caller holds se.mu.
func (se *session) abort() {
	if se.login != nil {
		se.login.Abort()
	}
}

// errMismatch: the new password and its repetition differ.
var errMismatch = errors.New("the new passwords do not match")

// applyAnswers copies the form's answers onto the round's questions. A field
// left empty leaves its question unanswered.
func applyAnswers(rs *responder.ResponseSet, form url.Values) error {
	if rs.Asked(responder.QuestionNewPassword) {
		// An expired password: the page asks twice, as MIT's prompts do,
		// and compares here; the engine gets the new password once.
		if form.Get("new_password") != form.Get("new_password_again") {
			return errMismatch
		}
		if v := form.Get("new_password"); v != "" {
			if err := responder.SetNewPassword(rs, v); err != nil {
				return err
			}
		}
	}
	if v := form.Get("password"); v != "" {
		if err := responder.SetPassword(rs, v); err != nil {
			return err
		}
	}
	if c, ok, err := responder.OTPChallengeOf(rs); err != nil {
		return err
	} else if ok {
		i := 0
		if v := form.Get("otp_token"); v != "" {
			if i, err = strconv.Atoi(v); err != nil || i < 0 || i >= len(c.TokenInfo) {
				return errors.New("the form chose no valid OTP token")
			}
		}
		a := responder.OTPAnswer{
			TokenInfo: i,
			Value:     form.Get(fmt.Sprintf("otp_value_%d", i)),
			PIN:       form.Get(fmt.Sprintf("otp_pin_%d", i)),
		}
		if a.Value != "" || a.PIN != "" {
			if err := responder.SetOTPAnswer(rs, a); err != nil {
				return err
			}
		}
	}
	if c, ok, err := responder.PKINITChallengeOf(rs); err != nil {
		return err
	} else if ok {
		pins := make(map[string]string)
		for i, id := range identities(c) {
			if v := form.Get(fmt.Sprintf("pkinit_pin_%d", i)); v != "" {
				pins[id] = v
			}
		}
		if len(pins) > 0 {
			if err := responder.SetPKINITAnswer(rs, pins); err != nil {
				return err
			}
		}
	}
	for i, q := range otherQuestions(rs) {
		if v := form.Get(fmt.Sprintf("other_%d", i)); v != "" {
			if err := rs.SetAnswer(q, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// identities returns the PKINIT identities in a stable order: the form's
// fields are numbered by it, so the browser never names an identity.
func identities(c responder.PKINITChallenge) []string {
	ids := make([]string, 0, len(c))
	for id := range c {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// otherQuestions are the questions this page has no special form for.
func otherQuestions(rs *responder.ResponseSet) []string {
	var out []string
	for _, q := range rs.Questions() {
		switch q {
		case responder.QuestionPassword, responder.QuestionOTP, responder.QuestionPKINIT, responder.QuestionNewPassword:
		default:
			out = append(out, q)
		}
	}
	return out
}

// Views: what each page shows.

type startView struct {
	Realm  string
	Notice string
}

type failureView struct {
	User  string
	Error string
}

type successView struct {
	Warning                                 string // the password expires soon (MIT's wording)
	Client, Server                          string
	AuthTime, StartTime, EndTime, RenewTill string
	Lifetime                                string
	Flags                                   []string
}

func newSuccessView(c *krb.Credentials, now time.Time) successView {
	const layout = "2006-01-02 15:04:05 MST"
	warning, _ := krb.ExpiryWarning(c.PasswordExpires, c.ExpiryFromLastReq, now)
	v := successView{
		Warning:   warning,
		Client:    c.Client.String(),
		Server:    c.Server.String(),
		AuthTime:  c.AuthTime.Local().Format(layout),
		StartTime: c.StartTime.Local().Format(layout),
		EndTime:   c.EndTime.Local().Format(layout),
		Lifetime:  c.EndTime.Sub(c.StartTime).Round(time.Second).String(),
	}
	if !c.RenewTill.IsZero() {
		v.RenewTill = c.RenewTill.Local().Format(layout)
	}
	for _, f := range []struct {
		bit  int
		name string
	}{
		{flags.Forwardable, "forwardable"}, {flags.Proxiable, "proxiable"},
		{flags.Renewable, "renewable"}, {flags.Initial, "initial"},
		{flags.PreAuthent, "pre-authenticated"}, {flags.HWAuthent, "hardware-authenticated"},
	} {
		if c.HasFlag(f.bit) {
			v.Flags = append(v.Flags, f.name)
		}
	}
	return v
}

type questionsView struct {
	Principal   string
	Round       int
	Notice      string
	Password    bool
	NewPassword *newPasswordView
	OTP         *otpView
	PKINIT      []pkinitView
	Other       []otherView
	Problems    []string // challenges the page could not read
	Several     bool     // more than one way to sign in is offered
}

// newPasswordView is the new_password question: the password has expired.
type newPasswordView struct {
	Banner    string // MIT's: "Password expired.  You must change it now." or why the last one was refused
	Rejected  string // the kpasswd server's reason for refusing the last one
	TriesLeft int
}

type otpView struct {
	Service string
	Tokens  []otpTokenView
}

type otpTokenView struct {
	Index                   int
	Vendor, Challenge, ID   string
	Value, PIN, Next        bool
	MaxLength               int
	Numeric, First, Several bool
}

type pkinitView struct {
	Index                      int
	Identity                   string
	CountLow, FinalTry, Locked bool
}

type otherView struct {
	Index           int
	Name, Challenge string
}

func newQuestionsView(principal string, round int, rs *responder.ResponseSet) questionsView {
	v := questionsView{Principal: principal, Round: round, Password: rs.Asked(responder.QuestionPassword)}
	if raw, ok := rs.Challenge(responder.QuestionNewPassword); ok {
		c, err := responder.ParseNewPasswordChallenge(raw)
		if err != nil {
			v.Problems = append(v.Problems, err.Error())
		}
		v.NewPassword = &newPasswordView{Banner: strings.TrimSpace(c.Banner), TriesLeft: c.TriesLeft}
		if c.ResultCode != 0 {
			v.NewPassword.Banner = "The new password was refused. Please choose another one."
			v.NewPassword.Rejected = c.ResultText
		}
	}
	if c, ok, err := responder.OTPChallengeOf(rs); err != nil {
		v.Problems = append(v.Problems, err.Error())
	} else if ok {
		v.OTP = &otpView{Service: c.Service}
		for i, ti := range c.TokenInfo {
			tv := otpTokenView{
				Index: i, Vendor: ti.Vendor, Challenge: ti.Challenge, ID: ti.TokenID,
				PIN:     ti.Flags&responder.OTPCollectPIN != 0,
				Next:    ti.Flags&responder.OTPNextOTP != 0,
				Numeric: ti.Format != nil && *ti.Format == responder.OTPFormatDecimal,
				First:   i == 0, Several: len(c.TokenInfo) > 1,
			}
			// MIT's KDC sets collect-token on every token; a token that
			// asks only for a PIN gets no value field.
			tv.Value = ti.Flags&responder.OTPCollectToken != 0 || !tv.PIN
			if ti.Length != nil && *ti.Length > 0 {
				tv.MaxLength = int(*ti.Length)
			}
			v.OTP.Tokens = append(v.OTP.Tokens, tv)
		}
	}
	if c, ok, err := responder.PKINITChallengeOf(rs); err != nil {
		v.Problems = append(v.Problems, err.Error())
	} else if ok {
		for i, id := range identities(c) {
			f := c[id]
			v.PKINIT = append(v.PKINIT, pkinitView{
				Index: i, Identity: id,
				CountLow: f&responder.PKINITUserPINCountLow != 0,
				FinalTry: f&responder.PKINITUserPINFinalTry != 0,
				Locked:   f&responder.PKINITUserPINLocked != 0,
			})
		}
	}
	for i, q := range otherQuestions(rs) {
		c, _ := rs.Challenge(q)
		v.Other = append(v.Other, otherView{Index: i, Name: q, Challenge: c})
	}
	ways := len(v.PKINIT) + len(v.Other)
	if v.Password {
		ways++
	}
	if v.OTP != nil {
		ways++
	}
	v.Several = ways > 1
	return v
}
