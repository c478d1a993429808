package krb_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/krb/transport"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scriptedPrompter answers prompts from a list and records them.
type scriptedPrompter struct {
	answers []string
	banners []string
	prompts []prompter.Prompt
}

func (p *scriptedPrompter) Prompt(_ context.Context, _, banner string, ps []prompter.Prompt) ([]string, error) {
	p.banners = append(p.banners, banner)
	p.prompts = append(p.prompts, ps...)
	out := p.answers[:len(ps)]
	p.answers = p.answers[len(ps):]
	return out, nil
}

// TestExpiredPasswordIsChanged: the KDC says the password has expired; as
// MIT's kinit does, the login asks for a new one twice, changes it through
// kadmind's kpasswd service and logs in with it.
func TestExpiredPasswordIsChanged(t *testing.T) {
	realm, cfg := kpasswdRealm(t)
	require.NoError(t, realm.AddPrincipal("eve", "old-pw", krbtest.RequiresPreauth(), krbtest.Flags("+needchange")))

	p := &scriptedPrompter{answers: []string{"old-pw", "new-1", "new-2", "new-pw", "new-pw"}}
	creds, err := krb.GetInitialCreds(ctx(t), "eve", krb.WithConfig(cfg), krb.WithPrompter(p))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("eve"), creds.Client.String())
	assert.Equal(t, "krbtgt/"+realm.Name+"@"+realm.Name, creds.Server.String())
	require.Len(t, p.prompts, 5)
	assert.Equal(t, "Password for "+realm.Principal("eve"), p.prompts[0].Text)
	assert.Equal(t, "Enter new password", p.prompts[1].Text)
	assert.Equal(t, prompter.TypeNewPassword, p.prompts[1].Type)
	assert.Equal(t, "Enter it again", p.prompts[2].Text)
	assert.Equal(t, prompter.TypeNewPasswordAgain, p.prompts[2].Type)
	assert.Equal(t, []string{"", "Password expired.  You must change it now.", "Password mismatch.  Please try again."}, p.banners)

	// The new password is the one that works now.
	_, err = krb.GetInitialCreds(ctx(t), "eve", krb.WithConfig(cfg), krb.WithPassword("new-pw"))
	require.NoError(t, err)
	_, err = krb.GetInitialCreds(ctx(t), "eve", krb.WithConfig(cfg), krb.WithPassword("old-pw"))
	require.ErrorIs(t, err, krb.ErrPreauthFailed)

	// Without a prompter nobody can choose a new password: the KDC's error.
	require.NoError(t, realm.AddPrincipal("fay", "fay-pw", krbtest.RequiresPreauth(), krbtest.Flags("+needchange")))
	_, err = krb.GetInitialCreds(ctx(t), "fay", krb.WithConfig(cfg), krb.WithPassword("fay-pw"))
	require.ErrorIs(t, err, krb.ErrKeyExpired)
	assert.Equal(t, "Password has expired while getting initial credentials", err.Error())
}

// kpasswdRealm is the package's realm with kadmind, for password changes,
// and a policy "short8" refusing passwords under 8 characters.
func kpasswdRealm(t *testing.T) (*krbtest.Realm, *krb.Config) {
	t.Helper()
	realm := krbtest.Shared(t, "kpasswd", func(r *krbtest.Realm) error {
		if _, err := r.StartKpasswd(); err != nil {
			return err
		}
		_, err := r.Kadmin("addpol", "-minlength", "8", "short8")
		return err
	})
	cfg, err := krb.LoadConfig(realm.ConfigPath)
	require.NoError(t, err)
	return realm, cfg
}

// countingTransport is the application's own transport (WithTransport):
// it counts what it carries, and reaches kpasswd servers too.
type countingTransport struct {
	t            *transport.Client
	mu           sync.Mutex
	kdc, kpasswd int
}

func (c *countingTransport) Exchange(ctx context.Context, realm string, req []byte, tcpOnly bool) ([]byte, error) {
	c.mu.Lock()
	c.kdc++
	c.mu.Unlock()
	return c.t.Exchange(ctx, realm, req, tcpOnly)
}

func (c *countingTransport) ExchangeKpasswd(ctx context.Context, realm string, req []byte) ([]byte, error) {
	c.mu.Lock()
	c.kpasswd++
	c.mu.Unlock()
	return c.t.ExchangeKpasswd(ctx, realm, req)
}

// TestExpiredPasswordDeferred: a web-style login (WithDeferredQuestions,
// Continue across "requests") changes an expired password inside the step
// machine, over the application's transport: the old password for the
// kadmin/changepw ticket, then the new_password question; MIT's kadmind
// refuses a too-short one by policy (result code 4 and its text come back
// in the next question's challenge), and the next one is accepted; the
// login ends with a TGT got with the new password.
func TestExpiredPasswordDeferred(t *testing.T) {
	realm, cfg := kpasswdRealm(t)
	require.NoError(t, realm.AddPrincipal("dora", "old-password-1", krbtest.RequiresPreauth(),
		krbtest.Flags("+needchange"), krbtest.Args("-policy", "short8")))
	tr := &countingTransport{t: transport.New(cfg.Config)}
	var trace strings.Builder
	l, err := krb.NewLogin("dora", krb.WithConfig(cfg), krb.WithDeferredQuestions(), krb.WithTransport(tr),
		krb.WithTrace(func(f string, a ...any) { fmt.Fprintf(&trace, f+"\n", a...) }))
	require.NoError(t, err)

	q, err := l.Continue(ctx(t))
	require.NoError(t, err)
	require.NotNil(t, q)
	assert.Equal(t, []string{responder.QuestionPassword}, q.Questions())
	require.NoError(t, responder.SetPassword(q, "old-password-1"))

	q, err = l.Continue(context.Background()) // a later "request"
	require.NoError(t, err)
	require.NotNil(t, q, trace.String())
	require.Equal(t, []string{responder.QuestionNewPassword}, q.Questions())
	raw, _ := q.Challenge(responder.QuestionNewPassword)
	ch, err := responder.ParseNewPasswordChallenge(raw)
	require.NoError(t, err)
	assert.Equal(t, responder.NewPasswordChallenge{Banner: "Password expired.  You must change it now.", TriesLeft: 3}, ch)
	require.NoError(t, responder.SetNewPassword(q, "short"))

	q, err = l.Continue(context.Background())
	require.NoError(t, err)
	require.NotNil(t, q, trace.String())
	raw, _ = q.Challenge(responder.QuestionNewPassword)
	ch, err = responder.ParseNewPasswordChallenge(raw)
	require.NoError(t, err)
	assert.Equal(t, 4, ch.ResultCode, "KRB5_KPASSWD_SOFTERROR")
	const kadmindText = "New password is too short.\nPlease choose a password which is at least 8 characters long."
	assert.Equal(t, kadmindText, ch.ResultText)
	assert.Equal(t, "Password change rejected: "+kadmindText+".  Please try again.\n", ch.Banner, "MIT's banner, dots and all")
	assert.Equal(t, 2, ch.TriesLeft)
	require.NoError(t, responder.SetNewPassword(q, "new-password-2"))

	q, err = l.Continue(context.Background())
	require.NoError(t, err, trace.String())
	assert.Nil(t, q)
	creds := l.Credentials()
	require.NotNil(t, creds)
	assert.Equal(t, "krbtgt/"+realm.Name+"@"+realm.Name, creds.Server.String())
	assert.Equal(t, 2, l.Stats().Kpasswd)
	assert.Equal(t, 2, tr.kpasswd, "the password change went over the application's transport")
	assert.Equal(t, l.Stats().Requests, tr.kdc)
	for _, line := range []string{"Principal expired; getting changepw ticket", "Attempting password change; 3 tries remaining",
		"kpasswd result: 4 (Password change rejected)", "Getting initial TGT with changed password"} {
		assert.Contains(t, trace.String(), line)
	}
	for _, pw := range []string{"old-password-1", "short", "new-password-2"} {
		assert.NotContains(t, trace.String(), pw)
	}

	_, err = krb.GetInitialCreds(ctx(t), "dora", krb.WithConfig(cfg), krb.WithPassword("new-password-2"))
	require.NoError(t, err)
}

// TestExpiredPasswordRules: the prompter path keeps MIT's tries and
// messages, a responder alone can answer, WithChangePasswordPrompt(false)
// keeps the KDC's error, and an unanswered question reports it too.
func TestExpiredPasswordRules(t *testing.T) {
	realm, cfg := kpasswdRealm(t)
	for _, name := range []string{"gil", "hal", "ida", "jon"} {
		require.NoError(t, realm.AddPrincipal(name, "old-password-1", krbtest.RequiresPreauth(),
			krbtest.Flags("+needchange"), krbtest.Args("-policy", "short8")))
	}

	// Three bad tries through the prompter: mismatch, empty, too short.
	p := &scriptedPrompter{answers: []string{"old-password-1", "a", "b", "", "", "short", "short"}}
	_, err := krb.GetInitialCreds(ctx(t), "gil", krb.WithConfig(cfg), krb.WithPrompter(p))
	var perr *krb.PasswordChangeError
	require.ErrorAs(t, err, &perr)
	assert.ErrorIs(t, err, krb.ErrPasswordChange)
	assert.Equal(t, 4, perr.Code)
	assert.Equal(t, `Password change rejected: New password is too short.\nPlease choose a password which is at least 8 characters long. while getting initial credentials`, err.Error(), "one line, the server's line break escaped")
	assert.Equal(t, []string{"", "Password expired.  You must change it now.", "Password mismatch.  Please try again.",
		"New password cannot be zero length.  Please try again."}, p.banners)

	// A responder alone (kinit --responder=json's case).
	var asked []string
	ask := responder.Func(func(_ context.Context, rs *responder.ResponseSet) error {
		asked = append(asked, rs.Questions()...)
		if err := responder.SetPassword(rs, "old-password-1"); err != nil {
			return err
		}
		return responder.SetNewPassword(rs, "new-password-2")
	})
	_, err = krb.GetInitialCreds(ctx(t), "hal", krb.WithConfig(cfg), krb.WithResponder(ask))
	require.NoError(t, err)
	assert.Equal(t, []string{responder.QuestionPassword, responder.QuestionNewPassword}, asked)

	// Turned off: the KDC's error, as MIT with the option set to false.
	_, err = krb.GetInitialCreds(ctx(t), "ida", krb.WithConfig(cfg), krb.WithPassword("old-password-1"),
		krb.WithPrompter(p), krb.WithChangePasswordPrompt(false))
	require.ErrorIs(t, err, krb.ErrKeyExpired)

	// Asked, not answered, no prompter: the KDC's error and why.
	_, err = krb.GetInitialCreds(ctx(t), "jon", krb.WithConfig(cfg), krb.WithResponder(responder.Func(func(_ context.Context, rs *responder.ResponseSet) error {
		return responder.SetPassword(rs, "old-password-1")
	})))
	require.ErrorIs(t, err, krb.ErrKeyExpired)
	require.ErrorIs(t, err, krb.ErrNoAnswer)
	assert.Equal(t, "Password has expired while getting initial credentials", err.Error())
}
