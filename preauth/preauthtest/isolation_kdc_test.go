package preauthtest_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// snoop is a third-party mechanism that replaces encrypted timestamp and,
// while doing that job properly through ASKey, tries every door to the
// password: asking the "password" and "new_password" questions itself,
// reading their answers, and prompting for the password through the
// login's prompter. Everything it obtains is recorded.
type snoop struct {
	mu          sync.Mutex
	askReserved bool     // ask "password" and "new_password" in FillResponseSet
	seen        []string // every value a door gave it
	errs        []error  // every refusal
	own         []string // replies to its own, legitimate prompt
}

func (s *snoop) Name() string { return "snooping_timestamp" }
func (s *snoop) PATypes() []preauth.PAType {
	return []preauth.PAType{{Type: 2, Kind: preauth.Real}}
}
func (s *snoop) NewRequest() preauth.Request { return snoopReq{s} }

func (s *snoop) record(v string, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.seen = append(s.seen, v)
	}
	if err != nil {
		s.errs = append(s.errs, err)
	}
}

type snoopReq struct{ s *snoop }

func (r snoopReq) FillResponseSet(_ context.Context, cb preauth.Callbacks, _ *preauth.Input, rs *responder.ResponseSet) error {
	r.s.mu.Lock()
	ask := r.s.askReserved
	r.s.mu.Unlock()
	if ask {
		rs.Ask(responder.QuestionPassword, "")    // door 1: ask the password itself
		rs.Ask(responder.QuestionNewPassword, "") // and the new one
	}
	rs.Ask("snoop-colour", "") // its own question, which is fine
	cb.NeedASKey(rs)
	return nil
}

func (r snoopReq) Process(ctx context.Context, cb preauth.Callbacks, in *preauth.Input) ([]types.PAData, error) {
	if in.Reply {
		return nil, nil
	}
	// Door 2: read the answers.
	for _, q := range []string{responder.QuestionPassword, responder.QuestionNewPassword, "snoop-colour"} {
		v, ok := cb.Answer(q)
		r.s.record(v, ok, nil)
	}
	// Door 3: the prompter, with each password prompt type, and with the
	// engine's own wording under a harmless type.
	name, realm := cb.Client()
	principal := strings.Join(name.NameString, "/") + "@" + realm
	for _, p := range []prompter.Prompt{
		prompter.PasswordPrompt(principal),
		{Text: "Password for " + principal, Hidden: true, Type: prompter.TypePreauth},
		{Text: "Password", Hidden: true, Type: prompter.TypePassword},
		{Text: "Enter new password", Hidden: true, Type: prompter.TypeNewPassword},
		{Text: "Enter it again", Hidden: true, Type: prompter.TypeNewPasswordAgain},
	} {
		replies, err := prompter.Fallback(ctx, cb.Prompter(), "snoop", "", []prompter.Prompt{p})
		r.s.record(strings.Join(replies, ""), err == nil, err)
	}
	// Its own prompt still works.
	if replies, err := prompter.Fallback(ctx, cb.Prompter(), "snoop", "", []prompter.Prompt{{Text: "Favourite colour", Type: prompter.TypePreauth}}); err == nil {
		r.s.mu.Lock()
		r.s.own = append(r.s.own, replies...)
		r.s.mu.Unlock()
	}

	// The job: PA-ENC-TIMESTAMP with the key the engine derived.
	key, err := cb.ASKey(ctx)
	if err != nil {
		return nil, err
	}
	now := cb.PreauthTime(true).UTC()
	plain, err := asn1.Marshal(types.PAEncTSEnc{PATimestamp: now.Truncate(time.Second), PAUSec: now.Nanosecond() / 1000})
	if err != nil {
		return nil, err
	}
	enc, err := crypto.GetEncryptedData(plain, key, keyusage.AS_REQ_PA_ENC_TIMESTAMP, 0)
	if err != nil {
		return nil, err
	}
	b, err := asn1.Marshal(enc)
	if err != nil {
		return nil, err
	}
	return []types.PAData{{PADataType: 2, PADataValue: b}}, nil
}

var mech = &snoop{}

func TestMain(m *testing.M) {
	// Registered as a third-party package would, deliberately replacing
	// the built-in encrypted timestamp.
	preauth.Register(mech, preauth.Replacing("encrypted_timestamp"))
	code := m.Run()
	krbtest.CloseShared()
	os.Exit(code)
}

const password = "Tr0ub4dor&3-isolation"

// rememberingPrompter is a GUI-style prompter that remembers the password
// and hands it to any prompt of the password type or wording: the worst
// case for a mechanism's prompter fallback.
type rememberingPrompter struct{ calls int }

func (p *rememberingPrompter) Prompt(_ context.Context, _, _ string, prompts []prompter.Prompt) ([]string, error) {
	p.calls++
	out := make([]string, len(prompts))
	for i, pr := range prompts {
		if pr.Type == prompter.TypePassword || pr.Type == prompter.TypeNewPassword ||
			pr.Type == prompter.TypeNewPasswordAgain || strings.Contains(pr.Text, "assword") {
			out[i] = password
		} else {
			out[i] = "blue"
		}
	}
	return out, nil
}

// TestMechanismNeverSeesThePassword: a mechanism registered through
// preauth.Register logs in against MIT's KDC in place of encrypted
// timestamp, yet no door gives it the password: not the response set, not
// Callbacks.Answer, not the prompter — whether the password comes from the
// responder or from the prompter.
func TestMechanismNeverSeesThePassword(t *testing.T) {
	realm := krbtest.Shared(t, "isolation", func(r *krbtest.Realm) error {
		return r.AddPrincipal("alice", password, krbtest.RequiresPreauth())
	})
	cfg, err := krb.LoadConfig(realm.ConfigPath)
	require.NoError(t, err)

	var names []string
	for _, m := range krb.DefaultMechanisms() {
		names = append(names, m.Name())
	}
	assert.Equal(t, "snooping_timestamp", names[0], "the replacement takes encrypted timestamp's place")
	assert.NotContains(t, names, "encrypted_timestamp")

	cases := []struct {
		name string
		opts []krb.Option
	}{
		{"password from the responder", []krb.Option{krb.WithResponder(responder.Func(func(_ context.Context, rs *responder.ResponseSet) error {
			if rs.Asked("snoop-colour") {
				if err := rs.SetAnswer("snoop-colour", "green"); err != nil {
					return err
				}
			}
			return responder.SetPassword(rs, password)
		}))}},
		{"password from the prompter", nil},
		{"password given", []krb.Option{krb.WithPassword(password)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mech.mu.Lock()
			mech.seen, mech.errs, mech.own, mech.askReserved = nil, nil, nil, false
			mech.mu.Unlock()
			var trace strings.Builder
			p := &rememberingPrompter{}
			opts := append([]krb.Option{krb.WithConfig(cfg), krb.WithPrompter(p),
				krb.WithTrace(func(f string, a ...any) { fmt.Fprintf(&trace, f+"\n", a...) })}, c.opts...)
			creds, err := krb.GetInitialCreds(context.Background(), "alice", opts...)
			require.NoError(t, err, trace.String())
			assert.Equal(t, realm.Principal("alice"), creds.Client.String())
			assert.Contains(t, trace.String(), "Preauth mechanism snooping_timestamp (2) produced [2]")
			assert.Contains(t, trace.String(), `Refused a mechanism's read of the "password" answer`)

			mech.mu.Lock()
			defer mech.mu.Unlock()
			for _, v := range mech.seen {
				assert.NotContains(t, v, password, "a door gave the mechanism the password")
			}
			require.Len(t, mech.errs, 5, "every password prompt was refused")
			for _, e := range mech.errs {
				assert.ErrorIs(t, e, preauth.ErrReserved)
				assert.NotContains(t, e.Error(), password)
			}
			assert.Equal(t, []string{"blue"}, mech.own, "its own prompt reached the prompter")
			assert.NotContains(t, trace.String(), password)
		})
	}

	// Door 1: a mechanism asking the password itself fails, as MIT's
	// ask_responder_question refuses it; the responder never sees its
	// question, and the login reports why.
	mech.mu.Lock()
	mech.seen, mech.errs, mech.own, mech.askReserved = nil, nil, nil, true
	mech.mu.Unlock()
	var asked [][]string
	_, err = krb.GetInitialCreds(context.Background(), "alice", krb.WithConfig(cfg),
		krb.WithResponder(responder.Func(func(_ context.Context, rs *responder.ResponseSet) error {
			asked = append(asked, rs.Questions())
			return responder.SetPassword(rs, password)
		})), krb.WithPrompter(&rememberingPrompter{}))
	require.ErrorIs(t, err, preauth.ErrReserved)
	var perr *preauth.Error
	require.ErrorAs(t, err, &perr)
	assert.Equal(t, "snooping_timestamp", perr.Mechanism)
	assert.Equal(t, "prepare", perr.Phase)
	assert.NotContains(t, err.Error(), password)
	// The engine's own password question (from NeedASKey) and the
	// mechanism's own question are asked; the mechanism's copies are not.
	assert.Equal(t, [][]string{{responder.QuestionPassword, "snoop-colour"}}, asked)
	mech.mu.Lock()
	assert.Empty(t, mech.seen)
	mech.mu.Unlock()
}

// TestRegisterRefusesSilentLosers: a mechanism claiming a built-in's PA
// type without saying it replaces it would never run; Register refuses it.
func TestRegisterRefusesSilentLosers(t *testing.T) {
	assert.PanicsWithValue(t, `preauth: mechanism "other" claims PA type 151 of built-in mechanism "spake", which would always win; use Replacing("spake") to replace it`,
		func() { preauth.Register(named{"other", 151}) })
	assert.Panics(t, func() { preauth.Register(named{"encrypted_challenge", 7777}) }, "a built-in's name")
	assert.Panics(t, func() { preauth.Register(named{"again", 2}, preauth.Replacing("encrypted_timestamp")) }, "replaced already")
	assert.Panics(t, func() { preauth.Register(named{"x", 7778}, preauth.Replacing("no_such")) })
	assert.Panics(t, func() { preauth.Register(named{"snooping_timestamp", 7779}) }, "a registered name")
}

type named struct {
	name string
	t    int32
}

func (n named) Name() string                { return n.name }
func (n named) PATypes() []preauth.PAType   { return []preauth.PAType{{Type: n.t, Kind: preauth.Real}} }
func (n named) NewRequest() preauth.Request { return nil }
