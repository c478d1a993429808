package otp_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/preauth/otp"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The RADIUS users: alice's token shows aliceCode; bob's token needs his
// PIN in front of the code, which is what RADIUS checks.
const (
	aliceCode = "123456"
	bobPIN    = "4321"
	bobCode   = "654321"
)

// otpRealm is a realm whose KDC checks one-time passwords with FreeRADIUS,
// with the OTP-only principals alice and bob, and FAST armor for them.
type otpRealm struct {
	realm *krbtest.Realm
	cfg   *krb.Config
	armor *krb.Armor
}

func newOTPRealm(tb testing.TB) *otpRealm {
	tb.Helper()
	rad := krbtest.StartRADIUS(tb, map[string]string{"alice": aliceCode, "bob": bobPIN + bobCode})
	realm := krbtest.NewRealm(tb, rad.KDCOption())
	for _, user := range []string{"alice", "bob"} {
		require.NoError(tb, realm.AddRandomKeyPrincipal(user, krbtest.NoKey(), krbtest.RequiresPreauth()))
		require.NoError(tb, realm.SetOTP(user, rad.OTPConfig(user)))
	}
	path, err := realm.ArmorCache()
	require.NoError(tb, err)
	cc, err := ccache.ReadFile(path)
	require.NoError(tb, err)
	armor, err := krb.ArmorFromCCache(cc, realm.Name)
	require.NoError(tb, err)
	cfg, err := krb.LoadConfig(realm.ConfigPath)
	require.NoError(tb, err)
	return &otpRealm{realm, cfg, armor}
}

// answer is a responder that answers the "otp" question for the first
// token, after checking the challenge MIT's KDC sends.
func answer(t testing.TB, value, pin string) responder.Responder {
	return responder.Func(func(_ context.Context, rs *responder.ResponseSet) error {
		c, ok, err := responder.OTPChallengeOf(rs)
		if err != nil || !ok {
			return fmt.Errorf("no otp question in %v: %v", rs, err)
		}
		raw, _ := rs.Challenge(responder.QuestionOTP)
		assert.Equal(t, `{"tokenInfo":[{"flags":1}]}`, raw, "MIT's KDC sends one bare token")
		assert.Equal(t, int32(responder.OTPCollectToken), c.TokenInfo[0].Flags)
		return responder.SetOTPAnswer(rs, responder.OTPAnswer{TokenInfo: 0, Value: value, PIN: pin})
	})
}

func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return c
}

func TestOTPAgainstMITKDC(t *testing.T) {
	r := newOTPRealm(t)
	login := func(principal string, opts ...krb.Option) (*krb.Credentials, string, error) {
		var trace strings.Builder
		opts = append([]krb.Option{krb.WithConfig(r.cfg), krb.WithTrace(func(f string, a ...any) {
			fmt.Fprintf(&trace, f+"\n", a...)
		})}, opts...)
		creds, err := krb.GetInitialCreds(ctx(t), principal, opts...)
		return creds, trace.String(), err
	}

	t.Run("responder", func(t *testing.T) {
		creds, trace, err := login("alice", krb.WithArmor(r.armor), krb.WithResponder(answer(t, aliceCode, "")))
		require.NoError(t, err, trace)
		assert.Equal(t, r.realm.Principal("alice"), creds.Client.String())
		assert.Contains(t, trace, "otp (141) produced [142]")
		assert.NotContains(t, trace, aliceCode, "the code is never traced")

		// MIT's klist and kvno use the ticket.
		cc := filepath.Join(t.TempDir(), "cc")
		require.NoError(t, creds.WriteCCache(cc))
		klist := exec.Command("klist", "-c", cc)
		klist.Env = r.realm.Env()
		out, err := klist.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "Default principal: "+r.realm.Principal("alice"))
	})

	t.Run("prompter fallback", func(t *testing.T) {
		var got []prompter.Prompt
		var banner string
		p := prompter.Func(func(_ context.Context, _, b string, prompts []prompter.Prompt) ([]string, error) {
			got, banner = prompts, b
			return []string{aliceCode}, nil
		})
		leaves := responder.Func(func(context.Context, *responder.ResponseSet) error { return nil })
		creds, trace, err := login("alice", krb.WithArmor(r.armor), krb.WithResponder(leaves), krb.WithPrompter(p))
		require.NoError(t, err, trace)
		assert.Equal(t, r.realm.Principal("alice"), creds.Client.String())
		assert.Equal(t, []prompter.Prompt{{Text: "Enter OTP Token Value", Hidden: true, Type: prompter.TypePreauth}}, got)
		assert.Empty(t, banner, "MIT's KDC sends no challenge text")
	})

	t.Run("no answer and no prompter", func(t *testing.T) {
		_, _, err := login("alice", krb.WithArmor(r.armor))
		require.ErrorIs(t, err, krb.ErrNoAnswer)
		assert.Contains(t, err.Error(), `"otp"`)
	})

	t.Run("wrong code", func(t *testing.T) {
		_, trace, err := login("alice", krb.WithArmor(r.armor), krb.WithResponder(answer(t, "000000", "")))
		require.ErrorIs(t, err, krb.ErrPreauthFailed)
		var kerr *krb.KDCError
		require.ErrorAs(t, err, &kerr)
		assert.Equal(t, int32(krb.ErrCodePreauthFailed), kerr.Code)
		assert.NotContains(t, err.Error(), "000000")
		assert.NotContains(t, trace, "000000")
		assert.NotContains(t, trace, "failed; trying the next", "OTP disables fallback")
	})

	t.Run("token with a PIN", func(t *testing.T) {
		creds, trace, err := login("bob", krb.WithArmor(r.armor), krb.WithResponder(answer(t, bobCode, bobPIN)))
		require.NoError(t, err, trace)
		assert.Equal(t, r.realm.Principal("bob"), creds.Client.String())
		assert.NotContains(t, trace, bobPIN)

		_, _, err = login("bob", krb.WithArmor(r.armor), krb.WithResponder(answer(t, bobCode, "")))
		assert.ErrorIs(t, err, krb.ErrPreauthFailed, "the code alone is not enough")
		_, _, err = login("bob", krb.WithArmor(r.armor), krb.WithResponder(answer(t, bobPIN+bobCode, "")))
		assert.NoError(t, err, "a responder may combine PIN and code itself")
	})

	t.Run("no armor", func(t *testing.T) {
		// MIT's KDC offers OTP only inside FAST: to an unarmored request it
		// offers nothing but PA-FX-FAST and PA-FX-COOKIE, so the OTP
		// mechanism never runs; the engine says armor is needed.
		// TestUnarmoredOTPOffer shows the same for a KDC that offers OTP
		// without FAST.
		_, trace, err := login("alice", krb.WithResponder(answer(t, aliceCode, "")))
		require.ErrorIs(t, err, krb.ErrFASTRequired)
		assert.Contains(t, err.Error(), "only inside FAST")
		assert.Contains(t, trace, "Processing preauth types: [136 133]")
	})
}

// TestUnarmoredOTPOffer puts the engine in front of a KDC that offers OTP
// to an unarmored request, which RFC 6560 forbids: the login fails with
// ErrNeedFAST, and the code is never sent.
func TestUnarmoredOTPOffer(t *testing.T) {
	const realm = "FAKE.GOKINIT.TEST"
	conf := filepath.Join(t.TempDir(), "krb5.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[libdefaults]\n default_realm = "+realm+"\n"), 0o600))
	cfg, err := krb.LoadConfig(conf)
	require.NoError(t, err)

	challenge, err := hex.DecodeString("300f8002aabba209300780050000000000") // nonce aabb, one bare token
	require.NoError(t, err)
	edata, err := asn1.Marshal(types.PADataSequence{{PADataType: otp.PATypeOTPChallenge, PADataValue: challenge}})
	require.NoError(t, err)
	kdc := krb.TransportFunc(func(_ context.Context, _ string, req []byte, _ bool) ([]byte, error) {
		e := messages.NewKRBError(types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "krbtgt/"+realm), realm, krb.ErrCodePreauthRequired, "")
		e.EData = edata
		return e.Marshal()
	})
	asked := false
	_, err = krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithTransport(kdc),
		krb.WithResponder(responder.Func(func(context.Context, *responder.ResponseSet) error {
			asked = true
			return nil
		})))
	require.ErrorIs(t, err, otp.ErrNeedFAST)
	assert.False(t, asked, "no question is asked that could not be sent safely")
}

// BenchmarkOTPLogin is a whole OTP login: two armored round trips to MIT's
// KDC, which asks FreeRADIUS in the second.
func BenchmarkOTPLogin(b *testing.B) {
	r := newOTPRealm(b)
	opts := []krb.Option{krb.WithConfig(r.cfg), krb.WithArmor(r.armor), krb.WithResponder(answer(b, aliceCode, ""))}
	c := ctx(b)
	requests := 0
	for b.Loop() {
		l, err := krb.NewLogin("alice", opts...)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Run(c); err != nil {
			b.Fatal(err)
		}
		requests += l.Stats().Requests
	}
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
}

// TestOTPQuestionAsValue drives an OTP login through the questions-as-values
// API across two calls, as a web login answers across two HTTP requests:
// only the *krb.Login survives in between.
func TestOTPQuestionAsValue(t *testing.T) {
	r := newOTPRealm(t)
	login, err := krb.NewLogin("alice", krb.WithConfig(r.cfg), krb.WithArmor(r.armor), krb.WithDeferredQuestions())
	require.NoError(t, err)
	q, err := login.Continue(ctx(t))
	require.NoError(t, err)
	require.NotNil(t, q)
	assert.Equal(t, []string{responder.QuestionOTP}, q.Questions())
	c, ok, err := responder.OTPChallengeOf(q)
	require.NoError(t, err)
	require.True(t, ok)
	require.Len(t, c.TokenInfo, 1)

	require.NoError(t, responder.SetOTPAnswer(q, responder.OTPAnswer{TokenInfo: 0, Value: aliceCode}))
	q, err = login.Continue(context.Background())
	require.NoError(t, err)
	assert.Nil(t, q)
	require.NotNil(t, login.Credentials())
	assert.Equal(t, r.realm.Principal("alice"), login.Credentials().Client.String())
}

// TestOTPArmoredByAnonymousPKINIT: a client with no keytab at all gets FAST
// armor from anonymous PKINIT (kinit -n), then logs in with a one-time
// password under it.
func TestOTPArmoredByAnonymousPKINIT(t *testing.T) {
	rad := krbtest.StartRADIUS(t, map[string]string{"alice": aliceCode})
	realm, _ := krbtest.NewPKINITRealm(t, rad.KDCOption())
	require.NoError(t, realm.AddRandomKeyPrincipal("alice", krbtest.NoKey(), krbtest.RequiresPreauth()))
	require.NoError(t, realm.SetOTP("alice", rad.OTPConfig("alice")))
	cfg, err := krb.LoadConfig(realm.ConfigPath)
	require.NoError(t, err)

	anon, err := krb.GetInitialCreds(ctx(t), "", krb.WithConfig(cfg), krb.WithAnonymous())
	require.NoError(t, err)
	assert.Equal(t, "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS", anon.Client.String())

	creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg),
		krb.WithArmor(krb.ArmorFromCredentials(anon)), krb.WithResponder(answer(t, aliceCode, "")))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("alice"), creds.Client.String())
}
