package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/responder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const alicePW = "alice-pw-1"

var build struct {
	once sync.Once
	bin  string
	out  []byte
	err  error
}

// binary builds the program once per test run, with the go command that
// runs the tests.
func binary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "responder-test")
		if err != nil {
			build.err = err
			return
		}
		build.bin = filepath.Join(dir, "responder")
		goTool, err := exec.LookPath("go")
		if err != nil {
			build.err = err
			return
		}
		build.out, build.err = exec.Command(goTool, "build", "-o", build.bin, ".").CombinedOutput()
	})
	require.NoError(t, build.err, "go build: %s", build.out)
	return build.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.bin != "" {
		os.RemoveAll(filepath.Dir(build.bin))
	}
	os.Exit(code)
}

// runResponder runs the program for principal with the realm's krb5.conf,
// none of the caller's GOKINIT_ variables, the extra environment and stdin.
func runResponder(t *testing.T, realm *krbtest.Realm, stdin string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	for _, kv := range realm.Env() {
		if !strings.HasPrefix(kv, "GOKINIT_") && !strings.HasPrefix(kv, "KRB5_TRACE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin) // a pipe, not a terminal
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func TestResponderProgram(t *testing.T) {
	realm := krbtest.NewRealm(t)
	require.NoError(t, realm.AddPrincipal("alice", alicePW, krbtest.RequiresPreauth()))
	alice := realm.Principal("alice")
	success := "Logged in as " + alice + ": ticket for krbtgt/" + realm.Name + "@" + realm.Name + ", valid until "
	pwFile := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pwFile, []byte(alicePW+"\n"), 0o600))
	armor, err := realm.ArmorCache()
	require.NoError(t, err)

	t.Run("password from the environment", func(t *testing.T) {
		out, errOut, err := runResponder(t, realm, "", []string{"GOKINIT_PASSWORD=" + alicePW}, "alice")
		require.NoError(t, err, errOut)
		assert.True(t, strings.HasPrefix(out, success), out)
		assert.NotContains(t, out, "Password for", "the responder answered: no prompt")
	})
	t.Run("password from a file", func(t *testing.T) {
		out, errOut, err := runResponder(t, realm, "", []string{"GOKINIT_PASSWORD_FILE=" + pwFile}, "alice")
		require.NoError(t, err, errOut)
		assert.True(t, strings.HasPrefix(out, success), out)
	})
	t.Run("no answer: the terminal prompter reads stdin", func(t *testing.T) {
		out, errOut, err := runResponder(t, realm, alicePW+"\n", nil, "alice")
		require.NoError(t, err, errOut)
		assert.True(t, strings.HasPrefix(out, "Password for "+alice+": "), out)
		assert.Contains(t, out, success)
	})
	t.Run("armored with FAST", func(t *testing.T) {
		out, errOut, err := runResponder(t, realm, "", []string{"GOKINIT_PASSWORD=" + alicePW}, "-T", armor, "alice")
		require.NoError(t, err, errOut)
		assert.True(t, strings.HasPrefix(out, success), out)
	})
	t.Run("wrong password", func(t *testing.T) {
		out, errOut, err := runResponder(t, realm, "", []string{"GOKINIT_PASSWORD=wrong"}, "alice")
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		assert.Equal(t, 1, exit.ExitCode())
		assert.Empty(t, out)
		assert.Equal(t, "responder: Password incorrect while getting initial credentials\n", errOut)
	})
	t.Run("no answer and no input", func(t *testing.T) {
		_, errOut, err := runResponder(t, realm, "", nil, "alice")
		require.Error(t, err)
		assert.Equal(t, "responder: Pre-authentication failed: Cannot read password while getting initial credentials\n", errOut)
	})
	t.Run("usage", func(t *testing.T) {
		_, errOut, err := runResponder(t, realm, "", nil)
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		assert.Equal(t, 2, exit.ExitCode())
		assert.Contains(t, errOut, "usage: responder")
	})
}

// The "otp" answer with a PIN, from a question set: MIT's KDC never asks
// for a PIN apart (its challenge is one bare token), so only a question set
// made here exercises GOKINIT_OTP_PIN and the _FILE form.
func TestOTPAnswerFromEnvironment(t *testing.T) {
	var rs responder.ResponseSet
	c, err := (&responder.OTPChallenge{TokenInfo: []responder.OTPTokenInfo{
		{Flags: responder.OTPCollectToken | responder.OTPCollectPIN, Vendor: "FreeOTP"},
	}}).Encode()
	require.NoError(t, err)
	rs.Ask(responder.QuestionOTP, c)
	t.Setenv("GOKINIT_OTP_PIN", "") // restored after the test
	os.Unsetenv("GOKINIT_OTP_PIN")
	t.Setenv("GOKINIT_PASSWORD", "unused")
	t.Setenv("GOKINIT_OTP", "123456")
	pinFile := filepath.Join(t.TempDir(), "pin")
	require.NoError(t, os.WriteFile(pinFile, []byte("4321\r\n"), 0o600))
	t.Setenv("GOKINIT_OTP_PIN_FILE", pinFile)

	require.NoError(t, fromEnvironment.Respond(context.Background(), &rs))
	a, ok := rs.Answer(responder.QuestionOTP)
	require.True(t, ok)
	got, err := responder.ParseOTPAnswer(a)
	require.NoError(t, err)
	assert.Equal(t, responder.OTPAnswer{TokenInfo: 0, Value: "123456", PIN: "4321"}, *got)
	assert.False(t, rs.Asked(responder.QuestionPassword), "only asked questions are answered")

	t.Setenv("GOKINIT_OTP_PIN_FILE", filepath.Join(t.TempDir(), "missing"))
	assert.Error(t, fromEnvironment.Respond(context.Background(), &rs), "an unreadable file is an error")
}

// TestResponderProgramOTP answers the "otp" question from GOKINIT_OTP
// against a KDC that checks codes with FreeRADIUS; the KDC offers OTP only
// under FAST, hence -T.
func TestResponderProgramOTP(t *testing.T) {
	const code = "271828"
	rad := krbtest.StartRADIUS(t, map[string]string{"carol": code})
	realm := krbtest.NewRealm(t, rad.KDCOption())
	require.NoError(t, realm.AddRandomKeyPrincipal("carol", krbtest.NoKey(), krbtest.RequiresPreauth()))
	require.NoError(t, realm.SetOTP("carol", rad.OTPConfig("carol")))
	armor, err := realm.ArmorCache()
	require.NoError(t, err)

	out, errOut, err := runResponder(t, realm, "", []string{"GOKINIT_OTP=" + code}, "-T", armor, "carol")
	require.NoError(t, err, errOut)
	assert.True(t, strings.HasPrefix(out, "Logged in as "+realm.Principal("carol")+": "), out)

	_, errOut, err = runResponder(t, realm, "", []string{"GOKINIT_OTP=000000"}, "-T", armor, "carol")
	require.Error(t, err)
	assert.Equal(t, "responder: Preauthentication failed while getting initial credentials\n", errOut)

	// No variable: the terminal prompter asks for the code on stdin.
	out, errOut, err = runResponder(t, realm, code+"\n", nil, "-T", armor, "carol")
	require.NoError(t, err, errOut)
	assert.True(t, strings.HasPrefix(out, "Enter OTP Token Value: "), out)
	assert.Contains(t, out, "Logged in as "+realm.Principal("carol")+": ")
}
