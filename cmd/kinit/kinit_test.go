package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGetopt(t *testing.T) {
	opts, operands := getopt([]string{"-kt", "/k.tab", "alice", "-l1h", "-r", "2d", "-V", "--forw", "--no-r", "--", "-x"}, optSpec, "kinit")
	assert.Equal(t, []option{{'k', "", ""}, {'t', "/k.tab", ""}, {'l', "1h", ""}, {'r', "2d", ""}, {'V', "", ""}, {'f', "", "forwardable"}, {0, "", "no-request-pac"}}, opts)
	assert.Equal(t, []string{"alice", "-x"}, operands)

	for args, want := range map[string][]string{
		"-Q":              {"kinit: invalid option -- 'Q'"},
		"-l":              {"kinit: option requires an argument -- 'l'"},
		"--foo=bar":       {"kinit: unrecognized option '--foo=bar'"},
		"--no":            {"kinit: option '--no' is ambiguous; possibilities: '--noforwardable' '--noproxiable' '--noaddresses' '--no-request-pac'"},
		"--forwardable=1": {"kinit: option '--forwardable' doesn't allow an argument"},
		"-Qf -Z":          {"kinit: invalid option -- 'Q'", "kinit: invalid option -- 'Z'"},
	} {
		opts, _ := getopt(strings.Fields(args), optSpec, "kinit")
		var got []string
		for _, o := range opts {
			if o.name == '?' {
				got = append(got, o.arg)
			}
		}
		assert.Equal(t, want, got, args)
	}
}

func TestStringToTimestamp(t *testing.T) {
	now := time.Date(2026, 11, 29, 18, 0, 0, 0, time.Local)
	for in, want := range map[string]time.Time{
		"20261230120000":         time.Date(2026, 12, 30, 12, 0, 0, 0, time.Local),
		"2026.12.30.12.00.00":    time.Date(2026, 12, 30, 12, 0, 0, 0, time.Local),
		"261230120000":           time.Date(2026, 12, 30, 12, 0, 0, 0, time.Local),
		"26.12.30.12.00.01":      time.Date(2026, 12, 30, 12, 0, 1, 0, time.Local),
		"2612301200":             time.Date(2026, 12, 30, 12, 0, 0, 0, time.Local),
		"23:10:05":               time.Date(2026, 11, 29, 23, 10, 5, 0, time.Local),
		"23:10":                  time.Date(2026, 11, 29, 23, 10, 0, 0, time.Local),
		"12/30/26:12:00:00":      time.Date(2026, 12, 30, 12, 0, 0, 0, time.Local),
		"30-Dec-2026:12:00:00":   time.Date(2026, 12, 30, 12, 0, 0, 0, time.Local),
		"30-december-2026:12:00": time.Date(2026, 12, 30, 12, 0, 0, 0, time.Local),
		"30-Dec-2026:12:00  ":    time.Date(2026, 12, 30, 12, 0, 0, 0, time.Local),
	} {
		got, ok := stringToTimestamp(in, now)
		require.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "tomorrow", "2026-12-30", "25:00", "30-Foo-2026:12:00", "20261330120000", "12:00x"} {
		_, ok := stringToTimestamp(in, now)
		assert.False(t, ok, in)
	}
}

// kinitBinary builds this command once per test run.
func kinitBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kinit")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

type kinitRun struct {
	code           int
	stdout, stderr string
}

func runKinit(t *testing.T, bin string, env []string, stdin string, args ...string) kinitRun {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return kinitRun{code, out.String(), errb.String()}
}

func TestKinitAgainstMITKDC(t *testing.T) {
	realm := krbtest.NewRealm(t)
	require.NoError(t, realm.AddPrincipal("bob", "bob-pw", krbtest.RequiresPreauth()))
	require.NoError(t, realm.AddRandomKeyPrincipal("host/kt.krbtest", krbtest.RequiresPreauth()))
	bin := kinitBinary(t)
	cc := filepath.Join(t.TempDir(), "cc")
	env := append(realm.Env(), "KRB5CCNAME=FILE:"+cc)

	t.Run("password on stdin", func(t *testing.T) {
		r := runKinit(t, bin, env, "bob-pw\n", "-l", "1h", "bob")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "Password for "+realm.Principal("bob")+": \n", r.stdout, "as MIT's kinit prints it")
		cache, err := ccache.ReadFile(cc)
		require.NoError(t, err)
		assert.Equal(t, realm.Principal("bob"), cache.DefaultPrincipal.String())
		require.NotEmpty(t, cache.Credentials)
		end := cache.Credentials[0].EndTime
		assert.WithinDuration(t, time.Now().Add(time.Hour), end, 2*time.Minute)

		klist := exec.Command("klist")
		klist.Env = env
		out, err := klist.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "Default principal: "+realm.Principal("bob"))
	})

	t.Run("wrong password leaves the cache alone", func(t *testing.T) {
		before, err := os.ReadFile(cc)
		require.NoError(t, err)
		r := runKinit(t, bin, env, "wrong\n", "bob")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "kinit: Password incorrect while getting initial credentials\n", r.stderr)
		after, err := os.ReadFile(cc)
		require.NoError(t, err)
		assert.Equal(t, before, after)
	})

	t.Run("unknown principal", func(t *testing.T) {
		r := runKinit(t, bin, env, "x\n", "nobody")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "kinit: Client '"+realm.Principal("nobody")+"' not found in Kerberos database while getting initial credentials\n", r.stderr)
	})

	t.Run("no password on stdin", func(t *testing.T) {
		r := runKinit(t, bin, env, "", "bob")
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "kinit: ")
		assert.Contains(t, r.stderr, "while getting initial credentials")
	})

	t.Run("keytab", func(t *testing.T) {
		kt, err := realm.Keytab("host/kt.krbtest")
		require.NoError(t, err)
		ktcc := filepath.Join(t.TempDir(), "ktcc")
		r := runKinit(t, bin, env, "", "-V", "-k", "-t", kt, "-c", "FILE:"+ktcc, "host/kt.krbtest")
		require.Equal(t, 0, r.code, r.stderr)
		// As MIT's kinit -V: on standard error, the principal in full.
		assert.Contains(t, r.stderr, "Using principal: "+realm.Principal("host/kt.krbtest")+"\n")
		assert.Contains(t, r.stderr, "Authenticated to Kerberos v5\n")
		assert.Empty(t, r.stdout)
		cache, err := ccache.ReadFile(ktcc)
		require.NoError(t, err)
		assert.Equal(t, realm.Principal("host/kt.krbtest"), cache.DefaultPrincipal.String())
	})

	t.Run("-k without -t: the default keytab; -i: the client keytab", func(t *testing.T) {
		kt, err := realm.Keytab("host/kt.krbtest")
		require.NoError(t, err)
		empty := filepath.Join(t.TempDir(), "empty.keytab")
		dcc := filepath.Join(t.TempDir(), "dcc")
		r := runKinit(t, bin, append(env, "KRB5_KTNAME=FILE:"+kt, "KRB5_CLIENT_KTNAME=FILE:"+empty), "", "-k", "-c", dcc, "host/kt.krbtest")
		require.Equal(t, 0, r.code, r.stderr)
		r = runKinit(t, bin, append(env, "KRB5_KTNAME=FILE:"+empty, "KRB5_CLIENT_KTNAME=FILE:"+kt), "", "-k", "-i", "-c", dcc, "host/kt.krbtest")
		require.Equal(t, 0, r.code, r.stderr)
		r = runKinit(t, bin, append(env, "KRB5_KTNAME=FILE:"+empty, "KRB5_CLIENT_KTNAME=FILE:"+kt), "", "-k", "-c", dcc, "host/kt.krbtest")
		assert.Equal(t, 1, r.code, "without -i the client keytab is not used")
	})

	t.Run("trace names types, never the password", func(t *testing.T) {
		trace := filepath.Join(t.TempDir(), "trace")
		r := runKinit(t, bin, append(env, "KRB5_TRACE="+trace), "bob-pw\n", "bob")
		require.Equal(t, 0, r.code, r.stderr)
		b, err := os.ReadFile(trace)
		require.NoError(t, err)
		assert.Contains(t, string(b), "Processing preauth types")
		assert.NotContains(t, string(b), "bob-pw")
	})

	t.Run("FAST armor with -T", func(t *testing.T) {
		armor, err := realm.ArmorCache()
		require.NoError(t, err)
		conf, err := realm.WriteClientConfig("", "disable_encrypted_timestamp = true")
		require.NoError(t, err)
		fastEnv := append(env, "KRB5_CONFIG="+conf) // later entries win in exec
		fcc := filepath.Join(t.TempDir(), "fcc")

		r := runKinit(t, bin, fastEnv, "bob-pw\n", "-c", fcc, "bob")
		assert.Equal(t, 1, r.code, "without armor only the disabled encrypted timestamp is possible")
		assert.Contains(t, r.stderr, "encrypted timestamp is disabled")

		r = runKinit(t, bin, fastEnv, "bob-pw\n", "-T", armor, "-c", fcc, "bob")
		require.Equal(t, 0, r.code, r.stderr)
		kvno := exec.Command("kvno", "-c", fcc, "host/kt.krbtest")
		kvno.Env = fastEnv
		out, err := kvno.CombinedOutput()
		require.NoError(t, err, "%s", out)

		before, err := os.ReadFile(fcc)
		require.NoError(t, err)
		r = runKinit(t, bin, fastEnv, "wrong\n", "-T", armor, "-c", fcc, "bob")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "kinit: Password incorrect while getting initial credentials\n", r.stderr)
		after, err := os.ReadFile(fcc)
		require.NoError(t, err)
		assert.Equal(t, before, after, "a failed FAST login leaves the cache alone")
	})

	t.Run("renew with -R", func(t *testing.T) {
		rcc := filepath.Join(t.TempDir(), "rcc")
		r := runKinit(t, bin, env, "bob-pw\n", "-r", "2d", "-l", "1h", "-c", rcc, "bob")
		require.Equal(t, 0, r.code, r.stderr)
		before, err := ccache.ReadFile(rcc)
		require.NoError(t, err)
		time.Sleep(1100 * time.Millisecond)
		r = runKinit(t, bin, env, "", "-R", "-c", rcc)
		require.Equal(t, 0, r.code, r.stderr)
		after, err := ccache.ReadFile(rcc)
		require.NoError(t, err)
		tgt := func(c *ccache.Cache) *ccache.Credential {
			cred, ok := c.Find(ccache.Principal{NameType: 2, Realm: realm.Name, Components: []string{"krbtgt", realm.Name}})
			require.True(t, ok, "no TGT in the cache")
			return cred
		}
		assert.True(t, tgt(after).StartTime.After(tgt(before).StartTime))
		assert.Equal(t, tgt(before).AuthTime, tgt(after).AuthTime)
		klist := exec.Command("klist", "-c", rcc)
		klist.Env = env
		out, err := klist.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "renew until")

		// A ticket that is not renewable: MIT's message for the KDC's refusal
		// or our own, exit status 1, the cache kept.
		ncc := filepath.Join(t.TempDir(), "ncc")
		r = runKinit(t, bin, env, "bob-pw\n", "-c", ncc, "bob")
		require.Equal(t, 0, r.code, r.stderr)
		kept, err := os.ReadFile(ncc)
		require.NoError(t, err)
		r = runKinit(t, bin, env, "", "-R", "-c", ncc)
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "KDC can't fulfill requested option while renewing credentials")
		now, err := os.ReadFile(ncc)
		require.NoError(t, err)
		assert.Equal(t, kept, now)
	})

	t.Run("postdate with -s, validate with -v", func(t *testing.T) {
		pcc := filepath.Join(t.TempDir(), "pcc")
		r := runKinit(t, bin, env, "bob-pw\n", "-s", "2s", "-c", pcc, "bob")
		require.Equal(t, 0, r.code, r.stderr)
		klist := func() string {
			cmd := exec.Command("klist", "-f", "-c", pcc)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			return string(out)
		}
		assert.Regexp(t, `Flags: \w*d\w*i`, klist(), "postdated and invalid")
		time.Sleep(2200 * time.Millisecond)
		r = runKinit(t, bin, env, "", "-v", "-c", pcc)
		require.Equal(t, 0, r.code, r.stderr)
		assert.NotRegexp(t, `Flags: \w*i`, klist(), "valid now")
	})

	t.Run("bad option", func(t *testing.T) {
		r := runKinit(t, bin, env, "", "-Q")
		assert.Equal(t, 2, r.code, "MIT's usage() exit status")
		assert.Contains(t, r.stderr, "invalid option -- 'Q'")
		assert.Contains(t, r.stderr, "Usage: kinit")
	})

	t.Run("unsupported cache type", func(t *testing.T) {
		// MIT's messages, before any KDC is contacted.
		r := runKinit(t, bin, env, "bob-pw\n", "-c", "API:x", "bob")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "kinit: Unknown credential cache type resolving ccache API:x\n", r.stderr)
		r = runKinit(t, bin, append(append([]string(nil), env...), "KRB5CCNAME=MSLSA:"), "bob-pw\n", "bob")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "kinit: Unknown credential cache type while getting default ccache\n", r.stderr)
		r = runKinit(t, bin, env, "bob-pw\n", "-T", "API:", "bob")
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "kinit: Error constructing AP-REQ armor: Unknown credential cache type while getting initial credentials\n", r.stderr)
	})
}

// TestJSONResponderProtocol runs the built kinit as a front end would: it
// reads the questions line, writes the answers line, reads the result.
func TestJSONResponderProtocol(t *testing.T) {
	realm := krbtest.NewRealm(t)
	require.NoError(t, realm.AddPrincipal("carol", "carol-pw", krbtest.RequiresPreauth()))
	bin := kinitBinary(t)
	cc := filepath.Join(t.TempDir(), "cc")
	env := append(realm.Env(), "KRB5CCNAME=FILE:"+cc)

	converse := func(answer string) (lines []map[string]any, code int) {
		cmd := exec.Command(bin, "--responder=json", "carol")
		cmd.Env = env
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
			lines = append(lines, m)
			if _, ok := m["questions"]; ok {
				_, err := io.WriteString(stdin, answer+"\n")
				require.NoError(t, err)
			}
		}
		stdin.Close()
		err = cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			return lines, ee.ExitCode()
		}
		require.NoError(t, err)
		return lines, 0
	}

	lines, code := converse(`{"answers":{"password":"carol-pw"}}`)
	require.Equal(t, 0, code, "%v", lines)
	require.Len(t, lines, 2)
	assert.Equal(t, []any{map[string]any{"name": "password", "challenge": ""}}, lines[0]["questions"])
	result := lines[1]["result"].(map[string]any)
	assert.Equal(t, true, result["ok"])
	assert.Equal(t, realm.Principal("carol"), result["client"])
	assert.Equal(t, cc, result["ccache"])
	_, err := ccache.ReadFile(cc)
	require.NoError(t, err)

	lines, code = converse(`{"answers":{"password":"wrong"}}`)
	assert.Equal(t, 1, code)
	result = lines[len(lines)-1]["result"].(map[string]any)
	assert.Equal(t, false, result["ok"])
	assert.Equal(t, "preauth_failed", result["kind"])
	assert.EqualValues(t, 24, result["code"])
	assert.Equal(t, "Password incorrect while getting initial credentials", result["error"])

	lines, code = converse(`{"answers":{}}`)
	assert.Equal(t, 1, code)
	assert.Equal(t, "no_answer", lines[len(lines)-1]["result"].(map[string]any)["kind"])

	lines, code = converse(`not json`)
	assert.Equal(t, 1, code)
	assert.NotContains(t, lines[len(lines)-1]["result"].(map[string]any)["error"], "not json")
}
