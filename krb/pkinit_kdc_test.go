package krb_test

import (
	"context"
	"crypto/elliptic"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/krb/transport"
	"github.com/gokinit/gokinit/preauth/pkinit"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pkinitRealm starts a PKINIT realm with a PKINIT-only principal carol
// and a password principal alice, and returns its client configuration.
func pkinitRealm(t testing.TB, opts ...krbtest.Option) (*krbtest.Realm, *krbtest.PKI, *krb.Config) {
	t.Helper()
	realm, pki := krbtest.NewPKINITRealm(t, opts...)
	require.NoError(t, realm.AddPKINITPrincipal("carol"))
	require.NoError(t, realm.AddPrincipal("alice", alicePW, krbtest.RequiresPreauth()))
	cfg, err := krb.LoadConfig(realm.ConfigPath)
	require.NoError(t, err)
	return realm, pki, cfg
}

func TestPKINITFileRSA(t *testing.T) {
	realm, pki, cfg := pkinitRealm(t)
	id, err := pki.Client("carol", krbtest.RSAKey())
	require.NoError(t, err)
	var trace strings.Builder
	l, err := krb.NewLogin("carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", id.FILE()), traceTo(&trace))
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	require.NoError(t, err, trace.String())
	assert.Equal(t, realm.Principal("carol"), creds.Client.String())
	assert.Contains(t, trace.String(), "pkinit (16) produced [16]")
	assert.Equal(t, 2, l.Stats().Requests)
	assert.Equal(t, 0, l.Stats().StringToKey)
	assert.Contains(t, realm.Logs(), "PKINIT: freshness token received from "+realm.Principal("carol"),
		"the PKAuthenticator carries the KDC's freshness token (RFC 8070)")

	// MIT's klist reads the cache and kvno uses the TGT.
	cc := filepath.Join(t.TempDir(), "cc")
	require.NoError(t, creds.WriteCCache(cc))
	require.NoError(t, realm.AddRandomKeyPrincipal("host/svc.krbtest"))
	kvno := realm.Command("kvno", "host/svc.krbtest")
	kvno.Env = append(kvno.Env, "KRB5CCNAME=FILE:"+cc)
	out, err := kvno.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

func TestPKINITIdentityFromConfig(t *testing.T) {
	realm, pki, _ := pkinitRealm(t)
	id, err := pki.Client("carol", nil)
	require.NoError(t, err)
	path, err := realm.WriteClientConfig("pkinit_identities = "+id.FILE(), "")
	require.NoError(t, err)
	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	creds, err := krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("carol"), creds.Client.String())
}

func TestPKINITECDSAClientKey(t *testing.T) {
	realm, pki, cfg := pkinitRealm(t)
	id, err := pki.Client("carol", krbtest.ECDSAKey(elliptic.P256()))
	require.NoError(t, err)
	creds, err := krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", id.FILE()))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("carol"), creds.Client.String())
}

// TestPKINITECDHFallsBackToMODP offers P-256 first: MIT 1.20's KDC
// rejects ECDH with KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED, and the
// mechanism retries in MODP group 14.
func TestPKINITECDHFallsBackToMODP(t *testing.T) {
	realm, pki, _ := pkinitRealm(t)
	id, err := pki.Client("carol", nil)
	require.NoError(t, err)
	path, err := realm.WriteClientConfig("pkinit_dh_groups = P-256 MODP2048", "")
	require.NoError(t, err)
	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	var trace strings.Builder
	l, err := krb.NewLogin("carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", id.FILE()), traceTo(&trace))
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	require.NoError(t, err, trace.String())
	assert.Equal(t, realm.Principal("carol"), creds.Client.String())
	assert.Contains(t, trace.String(), "retrying after error 65", "the KDC refused P-256 and listed its MODP groups")
	assert.Equal(t, 3, l.Stats().Requests)
}

// TestPKINITForgedDHErrorDoesNotDowngrade: an unauthenticated
// KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED without TD-DH-PARAMETERS must not
// move the client to another (weaker) group.
func TestPKINITForgedDHErrorDoesNotDowngrade(t *testing.T) {
	realm, pki, _ := pkinitRealm(t)
	id, err := pki.Client("carol", nil)
	require.NoError(t, err)
	path, err := realm.WriteClientConfig("pkinit_dh_min_bits = 4096", "")
	require.NoError(t, err)
	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	forged := messages.NewKRBError(types.NewPrincipalName(2, "krbtgt/"+realm.Name), realm.Name, 65, "")
	forgedBytes, err := forged.Marshal()
	require.NoError(t, err)
	l, err := krb.NewLogin("carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", id.FILE()),
		relay(t, cfg, func(n int, reply []byte) []byte {
			if n == 2 { // the answer to the PA-PK-AS-REQ
				return forgedBytes
			}
			return reply
		}))
	require.NoError(t, err)
	_, err = l.Run(ctx(t))
	var kerr *krb.KDCError
	require.ErrorAs(t, err, &kerr)
	assert.EqualValues(t, 65, kerr.Code)
	assert.Equal(t, 2, l.Stats().Requests, "no retry in another group")
}

func TestPKINITEncryptedKeyResponder(t *testing.T) {
	realm, pki, cfg := pkinitRealm(t)
	id, err := pki.Client("carol", nil)
	require.NoError(t, err)
	ident, err := id.WriteEncryptedKey("s3cret pass")
	require.NoError(t, err)

	var challenges []string
	ask := responder.Func(func(_ context.Context, rs *responder.ResponseSet) error {
		c, ok, err := responder.PKINITChallengeOf(rs)
		require.NoError(t, err)
		require.True(t, ok)
		s, _ := rs.Challenge(responder.QuestionPKINIT)
		challenges = append(challenges, s)
		pins := map[string]string{}
		for name := range c {
			pins[name] = "s3cret pass"
		}
		return responder.SetPKINITAnswer(rs, pins)
	})
	creds, err := krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg),
		krb.WithPreauthOption("X509_user_identity", ident), krb.WithResponder(ask))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("carol"), creds.Client.String())
	require.Len(t, challenges, 1, "one responder call")
	assert.Equal(t, fmt.Sprintf(`{%q:0}`, ident), challenges[0])

	// Unanswered: the prompter gets MIT's "Pass phrase for KEYFILE".
	keyFile := strings.SplitN(ident, ",", 2)[1]
	var prompts []string
	p := prompter.Func(func(_ context.Context, _, _ string, ps []prompter.Prompt) ([]string, error) {
		for _, q := range ps {
			prompts = append(prompts, q.Text)
			assert.True(t, q.Hidden)
		}
		return []string{"s3cret pass"}, nil
	})
	_, err = krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg),
		krb.WithPreauthOption("X509_user_identity", ident), krb.WithPrompter(p))
	require.NoError(t, err)
	assert.Equal(t, []string{"Pass phrase for " + keyFile}, prompts)

	// A wrong pass phrase is a clear error that never shows the secret.
	wrong := prompter.Func(func(context.Context, string, string, []prompter.Prompt) ([]string, error) {
		return []string{"not the pass phrase"}, nil
	})
	_, err = krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg),
		krb.WithPreauthOption("X509_user_identity", ident), krb.WithPrompter(wrong))
	require.ErrorIs(t, err, pkinit.ErrIncorrectPIN)
	assert.NotContains(t, err.Error(), "not the pass phrase")

	// No responder answer and no prompter.
	_, err = krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", ident))
	require.ErrorIs(t, err, responder.ErrNoAnswer)
}

func TestPKINITPKCS12(t *testing.T) {
	realm, pki, cfg := pkinitRealm(t)
	id, err := pki.Client("carol", nil)
	require.NoError(t, err)
	p12, err := id.WritePKCS12("p12 password")
	require.NoError(t, err)
	var seen responder.PKINITChallenge
	ask := responder.Func(func(_ context.Context, rs *responder.ResponseSet) error {
		c, _, err := responder.PKINITChallengeOf(rs)
		require.NoError(t, err)
		seen = c
		return responder.SetPKINITAnswer(rs, map[string]string{"PKCS12:" + p12: "p12 password"})
	})
	creds, err := krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg),
		krb.WithPreauthOption("X509_user_identity", "PKCS12:"+p12), krb.WithResponder(ask))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("carol"), creds.Client.String())
	assert.Equal(t, responder.PKINITChallenge{"PKCS12:" + p12: 0}, seen)

	wrong := responder.Func(func(_ context.Context, rs *responder.ResponseSet) error {
		return responder.SetPKINITAnswer(rs, map[string]string{"PKCS12:" + p12: "nope"})
	})
	_, err = krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg),
		krb.WithPreauthOption("X509_user_identity", "PKCS12:"+p12), krb.WithResponder(wrong))
	require.ErrorIs(t, err, pkinit.ErrIncorrectPIN)
}

func TestPKINITDirIdentity(t *testing.T) {
	realm, pki, cfg := pkinitRealm(t)
	id, err := pki.Client("carol", nil)
	require.NoError(t, err)
	dir := t.TempDir()
	copyFile(t, id.CertPath, filepath.Join(dir, "carol.crt"))
	copyFile(t, id.KeyPath, filepath.Join(dir, "carol.key"))
	creds, err := krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", "DIR:"+dir))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("carol"), creds.Client.String())
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o600))
}

// TestPKINITSeveralIdentitiesOneResponderCall gives two identities that
// need secrets: one responder call, one challenge naming both.
func TestPKINITSeveralIdentitiesOneResponderCall(t *testing.T) {
	_, pki, cfg := pkinitRealm(t)
	id, err := pki.Client("carol", nil)
	require.NoError(t, err)
	enc, err := id.WriteEncryptedKey("pp")
	require.NoError(t, err)
	p12, err := id.WritePKCS12("pw")
	require.NoError(t, err)
	calls := 0
	var seen responder.PKINITChallenge
	ask := responder.Func(func(_ context.Context, rs *responder.ResponseSet) error {
		calls++
		seen, _, _ = responder.PKINITChallengeOf(rs)
		return responder.SetPKINITAnswer(rs, map[string]string{enc: "pp", "PKCS12:" + p12: "pw"})
	})
	_, err = krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg), krb.WithResponder(ask),
		krb.WithPreauthOption("X509_user_identity", enc), krb.WithPreauthOption("X509_user_identity", "PKCS12:"+p12))
	require.NoError(t, err)
	assert.Equal(t, 1, calls)
	assert.Equal(t, responder.PKINITChallenge{enc: 0, "PKCS12:" + p12: 0}, seen)
}

func TestPKINITAnonymous(t *testing.T) {
	realm, _, cfg := pkinitRealm(t)
	var trace strings.Builder
	l, err := krb.NewLogin("", krb.WithConfig(cfg), krb.WithAnonymous(), traceTo(&trace))
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	require.NoError(t, err, trace.String())
	assert.Equal(t, "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS", creds.Client.String())
	assert.Equal(t, "krbtgt/"+realm.Name+"@"+realm.Name, creds.Server.String())
}

// TestPKINITAnonymousArmor armors a password login with an anonymous
// PKINIT TGT (RFC 8062 §4.1, RFC 6113): with encrypted timestamp disabled,
// only encrypted challenge inside FAST can succeed.
func TestPKINITAnonymousArmor(t *testing.T) {
	realm, _, cfg := pkinitRealm(t)
	anon, err := krb.GetInitialCreds(ctx(t), "", krb.WithConfig(cfg), krb.WithAnonymous())
	require.NoError(t, err)
	path, err := realm.WriteClientConfig("disable_encrypted_timestamp = true", "")
	require.NoError(t, err)
	noEncTS, err := krb.LoadConfig(path)
	require.NoError(t, err)
	var trace strings.Builder
	l, err := krb.NewLogin("alice", krb.WithConfig(noEncTS), krb.WithPassword(alicePW),
		krb.WithArmor(krb.ArmorFromCredentials(anon)), traceTo(&trace))
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	require.NoError(t, err, trace.String())
	assert.Equal(t, realm.Principal("alice"), creds.Client.String())
	assert.Contains(t, trace.String(), "encrypted_challenge (138) produced [138]")
	// preauth/otp's TestOTPArmoredByAnonymousPKINIT arms OTP the same way.
}

func TestPKINITUntrustedKDC(t *testing.T) {
	realm, _, _ := pkinitRealm(t)
	other, err := krbtest.NewPKI(t.TempDir(), realm.Name)
	require.NoError(t, err)
	// The client trusts another CA; its own certificate comes from it too
	// (the KDC refuses it first otherwise), so only the KDC check fails.
	id, err := other.Client("carol", nil)
	require.NoError(t, err)
	path, err := realm.WriteClientConfig("pkinit_anchors = FILE:"+other.CAPath, "")
	require.NoError(t, err)
	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	_, err = krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", id.FILE()))
	require.Error(t, err)
	var kerr *krb.KDCError
	if errors.As(err, &kerr) {
		// MIT's KDC checks the client's chain before answering.
		assert.Contains(t, []int32{62, 70}, kerr.Code, "KDC_ERR_CLIENT_NOT_TRUSTED or CANT_VERIFY_CERTIFICATE: %v", err)
		return
	}
	require.ErrorIs(t, err, pkinit.ErrKDCNotTrusted)
}

// TestPKINITKDCNotTrustedByClient: the KDC trusts the client, the client
// does not trust the KDC's CA.
func TestPKINITKDCNotTrustedByClient(t *testing.T) {
	realm, pki, _ := pkinitRealm(t)
	id, err := pki.Client("carol", nil)
	require.NoError(t, err)
	other, err := krbtest.NewPKI(t.TempDir(), realm.Name)
	require.NoError(t, err)
	path, err := realm.WriteClientConfig("pkinit_anchors = FILE:"+other.CAPath, "")
	require.NoError(t, err)
	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	_, err = krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", id.FILE()))
	require.ErrorIs(t, err, pkinit.ErrKDCNotTrusted)
	t.Log(err)
}

func TestPKINITUnmappedClient(t *testing.T) {
	_, pki, cfg := pkinitRealm(t)
	// A certificate for dave, presented for carol: the KDC does not map it.
	id, err := pki.Client("dave", nil)
	require.NoError(t, err)
	_, err = krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", id.FILE()))
	var kerr *krb.KDCError
	require.ErrorAs(t, err, &kerr)
	assert.Equal(t, int32(75), kerr.Code, "KDC_ERR_CLIENT_NAME_MISMATCH: %v", err)
	t.Log(err)
}

func TestPKINITNoIdentity(t *testing.T) {
	_, _, cfg := pkinitRealm(t)
	_, err := krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg))
	require.ErrorIs(t, err, pkinit.ErrNoIdentity)
	t.Log(err)
}

// softHSM is one token per test process: SoftHSM reads SOFTHSM2_CONF once,
// when the module is initialized, and the module is never finalized.
var softHSM struct {
	once sync.Once
	used bool
	dir  string
	tok  *krbtest.SoftHSM
	err  error
}

func TestPKINITSoftHSM(t *testing.T) {
	if !pkinit.PKCS11Available() {
		t.Skip("built without cgo: no PKCS#11")
	}
	if ok, reason := krbtest.SoftHSMAvailable(); !ok {
		krbtest.SkipOrFail(t, reason)
	}
	if softHSM.used {
		t.Skip("SoftHSM reads SOFTHSM2_CONF once per process: the token test runs once (-count=1)")
	}
	softHSM.used = true
	realm, pki, cfg := pkinitRealm(t)
	id, err := pki.Client("carol", nil)
	require.NoError(t, err)
	softHSM.once.Do(func() {
		softHSM.dir, softHSM.err = os.MkdirTemp("", "gokinit-softhsm-")
		if softHSM.err == nil {
			softHSM.tok, softHSM.err = krbtest.NewSoftHSM(softHSM.dir, id, "carolcard", "1234")
		}
	})
	t.Cleanup(func() { os.RemoveAll(softHSM.dir) })
	require.NoError(t, softHSM.err)
	tok := softHSM.tok
	t.Setenv("SOFTHSM2_CONF", tok.Conf)
	ident := tok.Identity()

	var seen responder.PKINITChallenge
	ask := responder.Func(func(_ context.Context, rs *responder.ResponseSet) error {
		seen, _, _ = responder.PKINITChallengeOf(rs)
		pins := map[string]string{}
		for name := range seen {
			pins[name] = "1234"
		}
		return responder.SetPKINITAnswer(rs, pins)
	})
	creds, err := krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg),
		krb.WithPreauthOption("X509_user_identity", ident), krb.WithResponder(ask))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("carol"), creds.Client.String())
	require.Len(t, seen, 1)
	for name := range seen {
		assert.True(t, strings.HasPrefix(name, "PKCS11:module_name="+tok.Module+":slotid="), name)
		assert.True(t, strings.HasSuffix(name, ":token=carolcard"), name)
	}

	// Unanswered: the prompter asks "carolcard PIN".
	var prompts []string
	p := prompter.Func(func(_ context.Context, _, _ string, ps []prompter.Prompt) ([]string, error) {
		prompts = append(prompts, ps[0].Text)
		return []string{"1234"}, nil
	})
	_, err = krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", ident), krb.WithPrompter(p))
	require.NoError(t, err)
	assert.Equal(t, []string{"carolcard PIN"}, prompts)

	// A wrong PIN.
	wrong := prompter.Func(func(context.Context, string, string, []prompter.Prompt) ([]string, error) {
		return []string{"9999"}, nil
	})
	_, err = krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", ident), krb.WithPrompter(wrong))
	require.ErrorIs(t, err, pkinit.ErrIncorrectPIN)
	assert.NotContains(t, err.Error(), "9999")
	t.Log(err)

	// The token now reports a low PIN count: the challenge carries MIT's
	// flag, and the prompt its warning.
	_, err = krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg),
		krb.WithPreauthOption("X509_user_identity", ident), krb.WithResponder(ask))
	require.NoError(t, err)
	for _, flags := range seen {
		assert.Equal(t, int32(responder.PKINITUserPINCountLow), flags)
	}

	// While one login holds the token logged in (its request is out, its
	// reply not yet in), another login's wrong PIN is still refused.
	holder, err := krb.NewLogin("carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", ident), krb.WithResponder(ask))
	require.NoError(t, err)
	req, err := holder.Step(ctx(t), nil)
	require.NoError(t, err)
	reply, err := transport.New(cfg.Config).Exchange(ctx(t), req.Realm, req.Data, false)
	require.NoError(t, err)
	req, err = holder.Step(ctx(t), reply) // PREAUTH_REQUIRED → PA-PK-AS-REQ signed on the token
	require.NoError(t, err)
	require.NotNil(t, req)
	_, err = krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", ident), krb.WithPrompter(wrong))
	require.ErrorIs(t, err, pkinit.ErrIncorrectPIN)
	holder.Abort()
}

// Run with: go test ./krb/ -run '^$' -bench PKINIT -benchtime 50x
//
// BenchmarkLoginPKINITRSA is a certificate login (RSA-2048 client key,
// MODP group 14, SHA-256 KDF), BenchmarkLoginPKINITECDSA the same with a
// P-256 client key, BenchmarkLoginPKINITAnonymous an anonymous login.
func BenchmarkLoginPKINITRSA(b *testing.B) {
	_, pki, cfg := pkinitRealm(b)
	id, err := pki.Client("carol", krbtest.RSAKey())
	require.NoError(b, err)
	benchLogin(b, "carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", id.FILE()))
}

func BenchmarkLoginPKINITECDSA(b *testing.B) {
	_, pki, cfg := pkinitRealm(b)
	id, err := pki.Client("carol", krbtest.ECDSAKey(elliptic.P256()))
	require.NoError(b, err)
	benchLogin(b, "carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", id.FILE()))
}

func BenchmarkLoginPKINITAnonymous(b *testing.B) {
	_, _, cfg := pkinitRealm(b)
	benchLogin(b, "", krb.WithConfig(cfg), krb.WithAnonymous())
}

// TestPKINITMODP4096: a KDC that wants at least 4096-bit groups, and a
// client configured with pkinit_dh_min_bits = 4096 (MIT's relation).
func TestPKINITMODP4096(t *testing.T) {
	realm, pki, cfg := pkinitRealm(t, krbtest.WithKDCConf("pkinit_dh_min_bits = 4096", ""))
	id, err := pki.Client("carol", nil)
	require.NoError(t, err)

	// Without the setting the client offers group 14; the KDC refuses it
	// and lists group 16 in TD-DH-PARAMETERS, which reaches the mechanism
	// only with the engine change described in the package notes.
	_, err = krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", id.FILE()))
	if err != nil {
		var kerr *krb.KDCError
		require.ErrorAs(t, err, &kerr)
		assert.Equal(t, int32(65), kerr.Code, "KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED")
	}

	path, err := realm.WriteClientConfig("pkinit_dh_min_bits = 4096", "")
	require.NoError(t, err)
	cfg4096, err := krb.LoadConfig(path)
	require.NoError(t, err)
	creds, err := krb.GetInitialCreds(ctx(t), "carol", krb.WithConfig(cfg4096), krb.WithPreauthOption("X509_user_identity", id.FILE()))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("carol"), creds.Client.String())
}

// TestPKINITInsideFAST is a certificate login armored with an anonymous
// TGT: the paChecksum covers the armored request body and the RFC 8636
// KDF the whole armored AS-REQ, as the KDC sees them.
func TestPKINITInsideFAST(t *testing.T) {
	realm, pki, cfg := pkinitRealm(t)
	id, err := pki.Client("carol", nil)
	require.NoError(t, err)
	anon, err := krb.GetInitialCreds(ctx(t), "", krb.WithConfig(cfg), krb.WithAnonymous())
	require.NoError(t, err)
	var trace strings.Builder
	l, err := krb.NewLogin("carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", id.FILE()),
		krb.WithArmor(krb.ArmorFromCredentials(anon)), krb.WithFASTRequired(), traceTo(&trace))
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	require.NoError(t, err, trace.String())
	assert.Equal(t, realm.Principal("carol"), creds.Client.String())
	assert.Contains(t, trace.String(), "Using FAST armor")
}

// TestPKINITDeferredQuestion answers the "pkinit" question as a value
// between two calls (WithDeferredQuestions), as a web front end would.
func TestPKINITDeferredQuestion(t *testing.T) {
	realm, pki, cfg := pkinitRealm(t)
	id, err := pki.Client("carol", nil)
	require.NoError(t, err)
	ident, err := id.WriteEncryptedKey("deferred pp")
	require.NoError(t, err)
	l, err := krb.NewLogin("carol", krb.WithConfig(cfg), krb.WithPreauthOption("X509_user_identity", ident), krb.WithDeferredQuestions())
	require.NoError(t, err)
	q, err := l.Continue(ctx(t))
	require.NoError(t, err)
	require.NotNil(t, q)
	c, ok, err := responder.PKINITChallengeOf(q)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, responder.PKINITChallenge{ident: 0}, c)
	require.NoError(t, responder.SetPKINITAnswer(q, map[string]string{ident: "deferred pp"}))
	q, err = l.Continue(context.Background())
	require.NoError(t, err)
	assert.Nil(t, q)
	require.NotNil(t, l.Credentials())
	assert.Equal(t, realm.Principal("carol"), l.Credentials().Client.String())
}
