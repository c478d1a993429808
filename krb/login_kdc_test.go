package krb_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/krb/transport"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Passwords of the shared realm's principals. They are test data.
const (
	alicePW  = "alice-pw-1"
	npPW     = "nopreauth-pw"
	sha384PW = "sha384-pw"
	saltyPW  = "salty-pw"
)

// setupRealm adds the principals the package's tests use.
func setupRealm(r *krbtest.Realm) error {
	return errors.Join(
		r.AddPrincipal("alice", alicePW, krbtest.RequiresPreauth()),
		r.AddPrincipal("nopreauth", npPW),
		r.AddPrincipal("sha384", sha384PW, krbtest.RequiresPreauth(), krbtest.Enctypes("aes256-cts-hmac-sha384-192:normal")),
		r.AddPrincipal("salty", saltyPW, krbtest.RequiresPreauth(), krbtest.Enctypes("aes256-cts-hmac-sha1-96:norealm")),
		r.AddRandomKeyPrincipal("host/svc.krbtest", krbtest.RequiresPreauth()),
	)
}

// testRealm returns the MIT KDC realm the package's tests share, with the
// client configuration for it.
func testRealm(t testing.TB) (*krbtest.Realm, *krb.Config) {
	t.Helper()
	r := krbtest.Shared(t, "krb", setupRealm)
	cfg, err := krb.LoadConfig(r.ConfigPath)
	require.NoError(t, err)
	return r, cfg
}

func TestMain(m *testing.M) {
	skipKDCExamples()
	code := m.Run()
	krbtest.CloseShared()
	closeExampleRealm()
	removeProxyPKI()
	os.Exit(code)
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// countingResponder answers the password question with pw (unless pw is
// empty) and counts its calls and the questions it saw.
type countingResponder struct {
	pw        string
	calls     int
	questions [][]string
}

func (c *countingResponder) Respond(_ context.Context, rs *responder.ResponseSet) error {
	c.calls++
	c.questions = append(c.questions, rs.Questions())
	if c.pw != "" {
		return responder.SetPassword(rs, c.pw)
	}
	return nil
}

func TestPasswordThroughResponder(t *testing.T) {
	realm, cfg := testRealm(t)
	r := &countingResponder{pw: alicePW}
	l, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithResponder(r))
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	require.NoError(t, err)

	assert.Equal(t, realm.Principal("alice"), creds.Client.String())
	assert.Equal(t, "krbtgt/"+realm.Name+"@"+realm.Name, creds.Server.String())
	assert.Equal(t, 1, r.calls, "the responder runs once per round with questions")
	assert.Equal(t, [][]string{{"password"}}, r.questions)
	assert.Equal(t, krb.Stats{Requests: 2, StringToKey: 1}, l.Stats())
	assert.NotEmpty(t, creds.Ticket)
	assert.True(t, creds.EndTime.After(time.Now()))
}

func TestPasswordThroughPrompterFallback(t *testing.T) {
	realm, cfg := testRealm(t)
	r := &countingResponder{} // sees the question, leaves it unanswered
	var prompts []prompter.Prompt
	p := prompter.Func(func(_ context.Context, _, _ string, ps []prompter.Prompt) ([]string, error) {
		prompts = append(prompts, ps...)
		return []string{alicePW}, nil
	})
	creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithResponder(r), krb.WithPrompter(p))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("alice"), creds.Client.String())
	assert.Equal(t, 1, r.calls)
	require.Len(t, prompts, 1)
	assert.Equal(t, "Password for "+realm.Principal("alice"), prompts[0].Text)
	assert.True(t, prompts[0].Hidden)
	assert.Equal(t, prompter.TypePassword, prompts[0].Type)
}

func TestUnansweredPasswordIsErrNoAnswer(t *testing.T) {
	_, cfg := testRealm(t)
	_, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithResponder(&countingResponder{}))
	require.ErrorIs(t, err, krb.ErrNoAnswer)
	assert.Contains(t, err.Error(), `"password"`)
	assert.NotErrorIs(t, err, krb.ErrPreauthFailed)
}

func TestResponderErrorAbortsLogin(t *testing.T) {
	_, cfg := testRealm(t)
	stop := errors.New("user cancelled")
	_, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg),
		krb.WithResponder(responder.Func(func(context.Context, *responder.ResponseSet) error { return stop })))
	require.ErrorIs(t, err, stop)
}

func TestKeytabLogin(t *testing.T) {
	realm, cfg := testRealm(t)
	path, err := realm.Keytab("host/svc.krbtest")
	require.NoError(t, err)
	kt, err := krb.LoadKeytab("FILE:" + path)
	require.NoError(t, err)
	r := &countingResponder{}
	l, err := krb.NewLogin("host/svc.krbtest", krb.WithConfig(cfg), krb.WithKeytab(kt), krb.WithResponder(r))
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("host/svc.krbtest"), creds.Client.String())
	assert.Equal(t, 0, r.calls, "a keytab login asks no question")
	assert.Equal(t, 0, l.Stats().StringToKey)
}

func TestPrincipalWithoutPreauth(t *testing.T) {
	realm, cfg := testRealm(t)
	r := &countingResponder{pw: npPW}
	l, err := krb.NewLogin("nopreauth", krb.WithConfig(cfg), krb.WithResponder(r))
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("nopreauth"), creds.Client.String())
	assert.Equal(t, 1, l.Stats().Requests, "no preauth round")
	assert.Equal(t, 1, r.calls, "the password is asked when the reply needs the key")
}

func TestPrincipalWithOnlySHA384Keys(t *testing.T) {
	_, cfg := testRealm(t)
	var trace strings.Builder
	l, err := krb.NewLogin("sha384", krb.WithConfig(cfg), krb.WithPassword(sha384PW),
		krb.WithTrace(func(f string, a ...any) { fmt.Fprintf(&trace, f+"\n", a...) }))
	require.NoError(t, err)
	_, err = l.Run(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, 1, l.Stats().StringToKey)
	// The KDC's ETYPE-INFO2 lists only the sha384 key; the engine must pick
	// it although aes256-sha1 comes first in the request.
	assert.Contains(t, trace.String(), "etype aes256-cts-hmac-sha384-192")
}

func TestPrincipalWithNonDefaultSalt(t *testing.T) {
	realm, cfg := testRealm(t)
	creds, err := krb.GetInitialCreds(ctx(t), "salty", krb.WithConfig(cfg), krb.WithPassword(saltyPW))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("salty"), creds.Client.String())
}

func TestWrongPassword(t *testing.T) {
	_, cfg := testRealm(t)
	l, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithPassword("not-the-password"))
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	require.Error(t, err)
	assert.Nil(t, creds)
	assert.ErrorIs(t, err, krb.ErrPreauthFailed)
	assert.NotErrorIs(t, err, krb.ErrKDCUnreachable)
	var kerr *krb.KDCError
	require.ErrorAs(t, err, &kerr)
	assert.EqualValues(t, krb.ErrCodePreauthFailed, kerr.Code)
	assert.Equal(t, "Password incorrect while getting initial credentials", err.Error())
	assert.NotContains(t, err.Error(), "not-the-password")
}

func TestUnknownPrincipal(t *testing.T) {
	realm, cfg := testRealm(t)
	_, err := krb.GetInitialCreds(ctx(t), "nobody", krb.WithConfig(cfg), krb.WithPassword("x"))
	require.ErrorIs(t, err, krb.ErrClientUnknown)
	var kerr *krb.KDCError
	require.ErrorAs(t, err, &kerr)
	assert.EqualValues(t, krb.ErrCodeClientUnknown, kerr.Code)
	assert.Equal(t, "Client '"+realm.Principal("nobody")+"' not found in Kerberos database while getting initial credentials", err.Error())
}

// deadAddr returns a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

func TestDeadFirstKDC(t *testing.T) {
	realm, _ := testRealm(t)
	path, err := realm.WriteClientConfigWithKDCs([]string{deadAddr(t), realm.KDCAddr}, "", "")
	require.NoError(t, err)
	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	start := time.Now()
	creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("alice"), creds.Client.String())
	assert.Less(t, time.Since(start), 3*time.Second, "a dead KDC is skipped within a bounded time")
}

func TestNoKDCAnswersIsUnreachable(t *testing.T) {
	realm, _ := testRealm(t)
	cfg, err := krb.ParseConfig(fmt.Sprintf("[libdefaults]\n default_realm = %s\n[realms]\n %s = {\n  kdc = %s\n }\n",
		realm.Name, realm.Name, deadAddr(t)))
	require.NoError(t, err)
	_, err = krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW))
	require.ErrorIs(t, err, krb.ErrKDCUnreachable)
	assert.NotErrorIs(t, err, krb.ErrPreauthFailed)
	assert.NotContains(t, err.Error(), alicePW)
}

// TestMITToolsReadOurCCache proves the cache format: MIT's klist lists the
// ticket and kvno uses it to get a service ticket from the KDC.
func TestMITToolsReadOurCCache(t *testing.T) {
	realm, cfg := testRealm(t)
	creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithForwardable(true))
	require.NoError(t, err)
	cc := filepath.Join(t.TempDir(), "cc")
	require.NoError(t, creds.WriteCCache(cc))
	fi, err := os.Stat(cc)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	env := append(realm.Env(), "KRB5CCNAME=FILE:"+cc)
	klist := exec.Command("klist", "-f", "-e")
	klist.Env = env
	out, err := klist.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "Default principal: "+realm.Principal("alice"))
	assert.Contains(t, string(out), "krbtgt/"+realm.Name+"@"+realm.Name)
	assert.Regexp(t, `Flags: F?\w*I`, string(out))

	klistC := exec.Command("klist", "-C")
	klistC.Env = env
	out, err = klistC.CombinedOutput()
	require.NoError(t, err, "%s", out)
	// klist folds the long line.
	assert.Regexp(t, `config: fast_avail\(krbtgt/`+regexp.QuoteMeta(realm.Name+"@"+realm.Name)+`\) = ye\s*s`, string(out), "as MIT's kinit records them")
	assert.Contains(t, string(out), "config: pa_type(krbtgt/"+realm.Name+"@"+realm.Name+") = 2")

	kvno := exec.Command("kvno", "host/svc.krbtest")
	kvno.Env = env
	out, err = kvno.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "host/svc.krbtest@"+realm.Name+": kvno = ")
	assert.True(t, strings.Contains(string(out), "kvno"))
}

// TestKeytabUsesHighestKVNO rotates a key twice into one keytab file (MIT's
// ktadd appends), so the keytab holds an old and a current kvno written
// within the same second; only the current one works.
func TestKeytabUsesHighestKVNO(t *testing.T) {
	realm, cfg := testRealm(t)
	require.NoError(t, realm.AddRandomKeyPrincipal("host/rotated.krbtest", krbtest.RequiresPreauth()))
	path := filepath.Join(t.TempDir(), "rotated.keytab")
	for range 2 {
		_, err := realm.Kadmin("ktadd", "-k", path, "-e", "aes256-cts-hmac-sha1-96:normal", "host/rotated.krbtest")
		require.NoError(t, err)
	}
	kt, err := krb.LoadKeytab(path)
	require.NoError(t, err)
	require.Len(t, kt.Entries, 2)
	assert.NotEqual(t, kt.Entries[0].KVNO, kt.Entries[1].KVNO)
	creds, err := krb.GetInitialCreds(ctx(t), "host/rotated.krbtest", krb.WithConfig(cfg), krb.WithKeytab(kt))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal("host/rotated.krbtest"), creds.Client.String())
}

func TestRequestOptions(t *testing.T) {
	realm, cfg := testRealm(t)
	t.Run("renewable, forwardable, proxiable", func(t *testing.T) {
		creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW),
			krb.WithLifetime(time.Hour), krb.WithRenewableLifetime(48*time.Hour), krb.WithForwardable(true), krb.WithProxiable(true))
		require.NoError(t, err)
		assert.True(t, creds.Renewable())
		assert.True(t, creds.HasFlag(1), "forwardable")
		assert.True(t, creds.HasFlag(3), "proxiable")
		assert.WithinDuration(t, time.Now().Add(time.Hour), creds.EndTime, time.Minute)
		assert.WithinDuration(t, time.Now().Add(48*time.Hour), creds.RenewTill, time.Minute)
	})
	t.Run("not forwardable", func(t *testing.T) {
		creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithForwardable(false))
		require.NoError(t, err)
		assert.False(t, creds.HasFlag(1))
		assert.False(t, creds.Renewable())
	})
	t.Run("service ticket (kinit -S)", func(t *testing.T) {
		creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithService("kadmin/changepw"))
		require.NoError(t, err)
		assert.Equal(t, "kadmin/changepw@"+realm.Name, creds.Server.String())
	})
	t.Run("enterprise name (kinit -E)", func(t *testing.T) {
		creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithEnterprise(true))
		require.NoError(t, err)
		assert.Equal(t, realm.Principal("alice"), creds.Client.String(), "the KDC returns the canonical name")
		// As with MIT's kinit -E, MIT's KDC does not resolve an enterprise
		// name that is a whole principal name with its realm.
		_, err = krb.GetInitialCreds(ctx(t), realm.Principal("alice"), krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithEnterprise(true))
		require.ErrorIs(t, err, krb.ErrClientUnknown)
		assert.Contains(t, err.Error(), `Client 'alice\@`+realm.Name+"@"+realm.Name+"' not found")
	})
	t.Run("PAC request is accepted", func(t *testing.T) {
		_, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithPACRequest(false))
		require.NoError(t, err)
	})
}

func TestAddresses(t *testing.T) {
	_, cfg := testRealm(t)
	var sent [][]byte
	tr := transport.New(cfg.Config)
	record := krb.WithTransport(krb.TransportFunc(func(ctx context.Context, realm string, req []byte, tcpOnly bool) ([]byte, error) {
		sent = append(sent, req)
		return tr.Exchange(ctx, realm, req, tcpOnly)
	}))
	_, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithAddresses(true), record)
	require.NoError(t, err)
	var req messages.ASReq
	require.NoError(t, req.Unmarshal(sent[len(sent)-1]))
	assert.NotEmpty(t, req.ReqBody.Addresses, "kinit -a binds the ticket to the host's addresses")

	sent = nil
	_, err = krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), record)
	require.NoError(t, err)
	require.NoError(t, req.Unmarshal(sent[len(sent)-1]))
	assert.Empty(t, req.ReqBody.Addresses, "MIT's default: noaddresses")
}
