package krb_test

import (
	"context"
	"testing"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/responder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// session stands for a web application's session store: between the two
// "HTTP requests" below only the *krb.Login value survives.
type session struct{ login *krb.Login }

func startLogin(t *testing.T, user string, opts ...krb.Option) (*session, *responder.ResponseSet) {
	l, err := krb.NewLogin(user, append(opts, krb.WithDeferredQuestions())...)
	require.NoError(t, err)
	q, err := l.Continue(ctx(t))
	require.NoError(t, err)
	return &session{login: l}, q
}

func TestDeferredQuestionsAcrossTwoCalls(t *testing.T) {
	realm, cfg := testRealm(t)
	cases := []struct {
		name, user, password string
		opts                 []krb.Option
		requests             int
	}{
		{"encrypted timestamp", "alice", alicePW, nil, 2},
		{"no preauth: the password is asked for the reply", "nopreauth", npPW, nil, 1},
		{"FAST encrypted challenge", "alice", alicePW, []krb.Option{krb.WithArmor(hostArmor(t))}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// First request: the login stops at the question.
			s, q := startLogin(t, c.user, append([]krb.Option{krb.WithConfig(cfg)}, c.opts...)...)
			require.NotNil(t, q)
			assert.Equal(t, []string{responder.QuestionPassword}, q.Questions())
			assert.Nil(t, s.login.Credentials())
			assert.Same(t, q, s.login.Questions())

			// Second request, with a fresh context: answer and go on.
			require.NoError(t, responder.SetPassword(q, c.password))
			q, err := s.login.Continue(context.Background())
			require.NoError(t, err)
			assert.Nil(t, q)
			creds := s.login.Credentials()
			require.NotNil(t, creds)
			assert.Equal(t, realm.Principal(c.user), creds.Client.String())
			assert.Equal(t, c.requests, s.login.Stats().Requests)
		})
	}
}

func TestDeferredWrongPasswordAndNoAnswer(t *testing.T) {
	_, cfg := testRealm(t)
	s, q := startLogin(t, "alice", krb.WithConfig(cfg))
	require.NoError(t, responder.SetPassword(q, "wrong"))
	_, err := s.login.Continue(ctx(t))
	require.ErrorIs(t, err, krb.ErrPreauthFailed)
	_, err = s.login.Continue(ctx(t))
	require.ErrorIs(t, err, krb.ErrPreauthFailed, "a finished login keeps its error")

	s, _ = startLogin(t, "alice", krb.WithConfig(cfg))
	_, err = s.login.Continue(ctx(t)) // resumed without an answer and without a prompter
	require.ErrorIs(t, err, krb.ErrNoAnswer)
}

func TestDeferredCancelledContext(t *testing.T) {
	_, cfg := testRealm(t)
	s, q := startLogin(t, "alice", krb.WithConfig(cfg))
	require.NoError(t, responder.SetPassword(q, alicePW))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.login.Continue(cancelled)
	require.ErrorIs(t, err, context.Canceled)
}
