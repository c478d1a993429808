package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKinitPasswordLifecycle: one realm with kadmind and a policy refusing
// passwords under 8 characters. An expired password is changed as MIT's
// kinit changes it (same prompts and output, a policy rejection and
// another try included), through the JSON responder protocol too; a
// password expiring soon is warned about in MIT's words.
func TestKinitPasswordLifecycle(t *testing.T) {
	realm := krbtest.NewRealm(t)
	_, err := realm.StartKpasswd()
	require.NoError(t, err)
	_, err = realm.Kadmin("addpol", "-minlength", "8", "short8")
	require.NoError(t, err)
	expired := func(user string) {
		require.NoError(t, realm.AddPrincipal(user, "old-password-1", krbtest.RequiresPreauth(),
			krbtest.Flags("+needchange"), krbtest.Args("-policy", "short8")))
	}
	bin := kinitBinary(t)
	// MIT's kinit writes dates with the locale's %c; ours always in the C
	// locale's form.
	env := append(realm.Env(), "KRB5CCNAME=FILE:"+t.TempDir()+"/cc", "LC_ALL=C")
	mitKinit := func(stdin string, args ...string) (string, error) {
		mit := realm.Command("kinit", args...)
		mit.Env = env
		mit.Stdin = strings.NewReader(stdin)
		out, err := mit.Output()
		return string(out), err
	}

	t.Run("prompter, as MIT", func(t *testing.T) {
		expired("ours")
		expired("mits")
		input := "old-password-1\nnew-password-2\nnew-password-3\nshort\nshort\nnew-password-2\nnew-password-2\n"
		ours := runKinit(t, bin, env, input, "ours")
		require.Equal(t, 0, ours.code, ours.stderr)
		mit, err := mitKinit(input, "mits")
		require.NoError(t, err)
		assert.Contains(t, mit, "Password change rejected: New password is too short.")
		assert.Equal(t, strings.ReplaceAll(mit, "mits@", "ours@"), ours.stdout)

		again := runKinit(t, bin, env, "new-password-2\n", "ours")
		assert.Equal(t, 0, again.code, again.stderr)
	})

	t.Run("JSON responder", func(t *testing.T) {
		expired("jay")
		cmd := exec.Command(bin, "--responder=json", "jay")
		cmd.Env = env
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		answers := []string{
			`{"answers":{"password":"old-password-1"}}`,
			`{"answers":{"new_password":"short"}}`,
			`{"answers":{"new_password":"new-password-2"}}`,
		}
		var questions []jsonQuestion
		var result map[string]any
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m struct {
				Questions []jsonQuestion `json:"questions"`
				Result    map[string]any `json:"result"`
			}
			require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
			if m.Result != nil {
				result = m.Result
				continue
			}
			require.Len(t, m.Questions, 1)
			questions = append(questions, m.Questions[0])
			require.NotEmpty(t, answers, "more questions than expected: %v", questions)
			_, err := io.WriteString(stdin, answers[0]+"\n")
			require.NoError(t, err)
			answers = answers[1:]
		}
		stdin.Close()
		require.NoError(t, cmd.Wait())
		require.Len(t, questions, 3)
		assert.Equal(t, jsonQuestion{Name: "password", Challenge: ""}, questions[0])
		assert.Equal(t, jsonQuestion{Name: "new_password", Challenge: `{"banner":"Password expired.  You must change it now.","tries_left":3}`}, questions[1])
		assert.Equal(t, "new_password", questions[2].Name)
		assert.Contains(t, questions[2].Challenge, `"result_code":4`)
		assert.Contains(t, questions[2].Challenge, `"result_text":"New password is too short.\nPlease choose a password which is at least 8 characters long."`)
		assert.Equal(t, true, result["ok"], "%v", result)
		assert.Equal(t, realm.Principal("jay"), result["client"])
	})

	t.Run("expiry warning, as MIT", func(t *testing.T) {
		for _, when := range []string{"now + 2 days + 10 minutes", "now + 5 hours + 10 minutes", "now + 20 minutes"} {
			require.NoError(t, realm.AddPrincipal("wes", "wes-password-1", krbtest.RequiresPreauth()))
			_, err := realm.Kadmin("modprinc", "-pwexpire", when, "wes")
			require.NoError(t, err)
			ours := runKinit(t, bin, env, "wes-password-1\n", "wes")
			require.Equal(t, 0, ours.code, ours.stderr)
			mit, err := mitKinit("wes-password-1\n", "wes")
			require.NoError(t, err)
			assert.Contains(t, mit, "Warning: Your password will expire in ")
			assert.Equal(t, mit, ours.stdout, when)
			_, err = realm.Kadmin("delprinc", "-force", "wes")
			require.NoError(t, err)
		}
	})
}
