package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonSession starts kinit --responder=json for principal and returns its
// answers pipe, a scanner of its lines and the command.
func jsonSession(t *testing.T, env []string, principal string) (io.WriteCloser, *bufio.Scanner, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(ourBinary(t), "--responder=json", principal)
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return stdin, bufio.NewScanner(stdout), cmd
}

func lastResult(t *testing.T, sc *bufio.Scanner) map[string]any {
	t.Helper()
	var result map[string]any
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		if r, ok := m["result"].(map[string]any); ok {
			result = r
		}
	}
	require.NotNil(t, result, "no result line")
	return result
}

// TestJSONResponderCtrlC: SIGINT (what Ctrl-C at the terminal sends) while
// kinit waits for its front end's answers ends it within 100 ms with MIT's
// "Password read interrupted", as the protocol's result line.
func TestJSONResponderCtrlC(t *testing.T) {
	realm := sideRealm(t)
	env := append(realm.Env(), "KRB5CCNAME=FILE:"+filepath.Join(t.TempDir(), "cc"))
	_, sc, cmd := jsonSession(t, env, "bob")
	require.True(t, sc.Scan(), "the questions line")
	require.Contains(t, sc.Text(), `"questions"`)
	time.Sleep(20 * time.Millisecond) // waiting in the read
	start := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	result := lastResult(t, sc)
	err := cmd.Wait()
	took := time.Since(start)
	assert.Less(t, took, 100*time.Millisecond)
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, ee.ExitCode(), "an exit, not death by the signal")
	assert.Equal(t, "Password read interrupted while getting initial credentials", result["error"])
	assert.Equal(t, "interrupted", result["kind"])
}

// TestJSONResponderWrongTypes: answers of the wrong JSON type are refused
// before anything reaches the KDC. The principal's policy locks it after
// one failed attempt, so a single wrong-typed answer sent as a password
// would lock it out; it still logs in afterwards.
func TestJSONResponderWrongTypes(t *testing.T) {
	realm := sideRealm(t)
	_, err := realm.Kadmin("addpol", "-maxfailure", "1", "lock-after-one")
	if err != nil {
		require.Contains(t, err.Error(), "already exists")
	}
	require.NoError(t, realm.AddPrincipal("jtype", "jtype-pw", krbtest.RequiresPreauth(), krbtest.Args("-policy", "lock-after-one")))
	env := append(realm.Env(), "KRB5CCNAME=FILE:"+filepath.Join(t.TempDir(), "cc"))
	for _, answers := range []string{
		`{"answers":{"password":null}}`,
		`{"answers":{"password":{"password":"jtype-pw"}}}`,
		`{"answers":{"password":123456}}`,
		`{"answers":{"password":["jtype-pw"]}}`,
		`{"answers":{"password":true}}`,
		`{"answers":{"otp":null}}`,
		`{"answers":{"pkinit":"not json"}}`,
		`{"answers":null}`,
		`{"answers":[]}`,
		`null`,
		`[]`,
	} {
		stdin, sc, cmd := jsonSession(t, env, "jtype")
		require.True(t, sc.Scan())
		_, err := io.WriteString(stdin, answers+"\n")
		require.NoError(t, err)
		result := lastResult(t, sc)
		_ = cmd.Wait()
		assert.Equal(t, false, result["ok"], answers)
		assert.NotEqual(t, "preauth_failed", result["kind"], "%s reached the KDC", answers)
		assert.NotContains(t, result["error"], "jtype-pw")
	}
	stdin, sc, cmd := jsonSession(t, env, "jtype")
	require.True(t, sc.Scan())
	_, err = io.WriteString(stdin, `{"answers":{"password":"jtype-pw"}}`+"\n")
	require.NoError(t, err)
	result := lastResult(t, sc)
	require.NoError(t, cmd.Wait())
	assert.Equal(t, true, result["ok"], "no failed attempt was counted: %v", result)
}
