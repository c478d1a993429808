package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	code := m.Run()
	_ = krbtest.CloseShared()
	os.Exit(code)
}

// mitKinit is MIT's kinit, the reference.
const mitKinit = "/usr/bin/kinit"

// sideCase is one row of the side-by-side table: the same command line,
// standard input, environment and krb5.conf for MIT's kinit and ours,
// against the same realm, compared on exit status, standard error and
// output (names, times and pids normalised) and the cache as `klist -f -e`
// shows it.
type sideCase struct {
	name  string
	args  []string // {cc} {dir} {kt} {user} {realm} are replaced
	stdin string
	env   []string // extra KEY=VALUE, placeholders replaced; "-KEY" unsets KEY
	conf  string   // extra [libdefaults] lines: a krb5.conf of the row's own
	// pre runs before each side, with MIT's tools and the row's
	// environment (placeholders replaced): the same starting state.
	pre [][]string
	// user, when set, gives each side a fresh principal of its own, made
	// with these kadmin.local addprinc arguments (password "user-pw"); the
	// row names it {user}.
	user []string
	// keys, when set, runs the row on a pseudo-terminal: wait for the
	// prompt, then type each entry ("\x03" is Ctrl-C, "\x04" Ctrl-D),
	// waiting for the next prompt between entries.
	keys []string
	// diff is the reason for a deliberate difference: the row then
	// compares the exit status only.
	diff string
}

// sideRealm is the realm all rows share, started once per package.
func sideRealm(t *testing.T) *krbtest.Realm {
	return krbtest.Shared(t, "kinit-side-by-side", func(r *krbtest.Realm) error {
		if err := r.AddPrincipal("bob", "bob-pw", krbtest.RequiresPreauth()); err != nil {
			return err
		}
		if err := r.AddPrincipal("nopre", "np-pw"); err != nil {
			return err
		}
		return r.AddRandomKeyPrincipal("host/kt.krbtest", krbtest.RequiresPreauth())
	})
}

var ourKinit struct {
	once sync.Once
	path string
	err  error
}

// ourBinary builds this kinit once per test binary.
func ourBinary(t *testing.T) string {
	ourKinit.once.Do(func() {
		dir, err := os.MkdirTemp("", "gokinit-bin")
		if err != nil {
			ourKinit.err = err
			return
		}
		ourKinit.path = filepath.Join(dir, "kinit")
		out, err := exec.Command("go", "build", "-o", ourKinit.path, ".").CombinedOutput()
		if err != nil {
			ourKinit.err = fmt.Errorf("%v: %s", err, out)
		}
	})
	require.NoError(t, ourKinit.err)
	return ourKinit.path
}

// sideResult is what one side did, normalised.
type sideResult struct {
	code           int
	stdout, stderr string
	klist          string
	echoOn         bool          // terminal rows: echo on after exit
	keyToExit      time.Duration // terminal rows: from the last key to exit
}

var userSeq atomic.Int64

func sideCases(now time.Time) []sideCase {
	abs := now.Add(3 * time.Hour).Local()
	const renewable = "-r"
	return []sideCase{
		// Passwords on standard input.
		{name: "password", args: []string{"-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "wrong password", args: []string{"-c", "{cc}", "bob"}, stdin: "wrong\n"},
		{name: "end of input", args: []string{"-c", "{cc}", "bob"}},
		{name: "empty line", args: []string{"-c", "{cc}", "bob"}, stdin: "\n"},
		{name: "last line without newline", args: []string{"-c", "{cc}", "bob"}, stdin: "bob-pw"},
		{name: "CRLF line", args: []string{"-c", "{cc}", "bob"}, stdin: "bob-pw\r\n"},
		{name: "unknown principal", args: []string{"-c", "{cc}", "nobody"}, stdin: "x\n"},
		{name: "no preauth", args: []string{"-c", "{cc}", "nopre"}, stdin: "np-pw\n"},
		{name: "no preauth, end of input", args: []string{"-c", "{cc}", "nopre"}},
		{name: "no preauth, wrong password", args: []string{"-c", "{cc}", "nopre"}, stdin: "bad\n"},
		{name: "full principal", args: []string{"-c", "{cc}", "bob@{realm}"}, stdin: "bob-pw\n"},
		{name: "unknown realm", args: []string{"-c", "{cc}", "bob@NOSUCH.REALM"}, stdin: "bob-pw\n"},
		{name: "KRB5CCNAME", env: []string{"KRB5CCNAME=FILE:{cc}"}, args: []string{"bob"}, stdin: "bob-pw\n"},
		{name: "KRB5CCNAME path", env: []string{"KRB5CCNAME={cc}"}, args: []string{"bob"}, stdin: "bob-pw\n"},
		{name: "no principal, no cache: login name", args: []string{"-c", "{cc}"}, stdin: "x\n"},
		{name: "no principal: the cache's", args: []string{"-c", "{cc}"}, stdin: "bob-pw\n", pre: [][]string{{"sh", "-c", "echo bob-pw | kinit -c {cc} bob >/dev/null"}}},
		{name: "missing KRB5_CONFIG", env: []string{"KRB5_CONFIG={dir}/none.conf"}, args: []string{"-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		// A malformed krb5.conf: every syntax error is MIT's one
		// KRB5_CONFIG_BADFORMAT sentence (the file and line go to the trace).
		{name: "krb5.conf section header unclosed", env: []string{"KRB5_CONFIG={dir}/bad.conf"}, args: []string{"-c", "{cc}", "bob"}, stdin: "bob-pw\n", pre: [][]string{{"sh", "-c", "printf '[libdefaults\\n default_realm = X\\n' > {dir}/bad.conf"}}},
		{name: "krb5.conf relation without =", env: []string{"KRB5_CONFIG={dir}/bad.conf"}, args: []string{"-c", "{cc}", "bob"}, stdin: "bob-pw\n", pre: [][]string{{"sh", "-c", "printf '[libdefaults]\\n default_realm\\n' > {dir}/bad.conf"}}},
		{name: "krb5.conf extra closing brace", env: []string{"KRB5_CONFIG={dir}/bad.conf"}, args: []string{"-c", "{cc}", "bob"}, stdin: "bob-pw\n", pre: [][]string{{"sh", "-c", "printf '[realms]\\n X = {\\n }\\n }\\n' > {dir}/bad.conf"}}},
		{name: "krb5.conf include missing", env: []string{"KRB5_CONFIG={dir}/inc.conf"}, args: []string{"-c", "{cc}", "bob"}, stdin: "bob-pw\n", pre: [][]string{{"sh", "-c", "printf 'include {dir}/none.conf\\n[libdefaults]\\n default_realm = X\\n' > {dir}/inc.conf"}}},
		{name: "default_ccache_name unknown token", conf: "default_ccache_name = FILE:{dir}/x_%{bogus}", env: []string{"-KRB5CCNAME"}, args: []string{"bob"}, stdin: "bob-pw\n"},
		{name: "KRB5CCNAME empty", env: []string{"KRB5CCNAME="}, args: []string{"bob"}, stdin: "bob-pw\n", diff: "MIT asks for the password and logs in before failing to store into the empty name; we fail the same way before asking"},
		{name: "KRB5_TRACE unwritable", env: []string{"KRB5_TRACE={dir}/no/such/trace"}, args: []string{"-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "KCM cache, no daemon", conf: "kcm_socket = /nonexistent/kcm-socket", args: []string{"-c", "KCM:1000", "bob"}, stdin: "bob-pw\n"},
		{name: "-R KCM cache, no daemon", conf: "kcm_socket = /nonexistent/kcm-socket", args: []string{"-R", "-c", "KCM:1000", "bob"}},
		{name: "cache directory missing", args: []string{"-c", "{dir}/no/such/cc", "bob"}, stdin: "bob-pw\n"},
		{name: "-c with an empty name", args: []string{"-c", "", "bob"}, stdin: "bob-pw\n", diff: "MIT asks for the password and logs in before failing to store; we fail the same way before asking (never the default cache in its place)"},
		{name: "cache is a directory", args: []string{"-c", "{dir}", "bob"}, stdin: "bob-pw\n"},
		{name: "cache FILE: in a missing directory", args: []string{"-c", "FILE:{dir}/none/cc", "bob"}, stdin: "bob-pw\n"},

		// Lifetimes, every krb5_string_to_deltat form.
		{name: "-l 1h", args: []string{"-l", "1h", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-l 90m", args: []string{"-l", "90m", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-l 1:30", args: []string{"-l", "1:30", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-l 1:30:00", args: []string{"-l", "1:30:00", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-l 3600", args: []string{"-l", "3600", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-l 0d2h30m", args: []string{"-l", "0d2h30m", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-l '1h 30m'", args: []string{"-l", "1h 30m", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-l attached", args: []string{"-l2h", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-l 0", args: []string{"-l", "0", "bob"}},
		{name: "-l abc", args: []string{"-l", "abc", "bob"}},
		{name: "-l missing", args: []string{"-l"}},
		{name: "-r 2d", args: []string{renewable, "2d", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-r 1d -l 1h", args: []string{renewable, "1d", "-l", "1h", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-r 0", args: []string{renewable, "0", "bob"}},

		// Ticket flags and their exclusions.
		{name: "-f", args: []string{"-f", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-F", args: []string{"-F", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-f -F", args: []string{"-f", "-F", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-p", args: []string{"-p", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-P", args: []string{"-P", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-p -P", args: []string{"-p", "-P", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-a", args: []string{"-a", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-A", args: []string{"-A", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-a -A", args: []string{"-a", "-A", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-fpA clustered", args: []string{"-fpA", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-C", args: []string{"-C", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-E", args: []string{"-E", "-c", "{cc}", "bob@{realm}"}, stdin: "bob-pw\n"},
		{name: "-S service", args: []string{"-S", "host/kt.krbtest", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-X attribute", args: []string{"-V", "-X", "foo=bar", "-X", "flag", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "forwardable from krb5.conf", conf: "forwardable = true", args: []string{"-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-F over krb5.conf", conf: "forwardable = true\n proxiable = true", args: []string{"-F", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},

		// Long options as glibc's getopt_long reads them.
		{name: "--forwardable", args: []string{"--forwardable", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "--noforwardable", args: []string{"--noforwardable", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "--proxiable --noaddresses", args: []string{"--proxiable", "--noaddresses", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "--forw abbreviated", args: []string{"--forw", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "--canon --enterprise", args: []string{"--canon", "--enterprise", "-c", "{cc}", "bob@{realm}"}, stdin: "bob-pw\n"},
		{name: "--no ambiguous", args: []string{"--no", "bob"}},
		{name: "--foo unknown", args: []string{"--foo", "bob"}},
		{name: "--forwardable=1", args: []string{"--forwardable=1", "bob"}},
		{name: "--request-pac", args: []string{"--request-pac", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "--no-request-pac", args: []string{"--no-request-pac", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "--request-pac --no-request-pac", args: []string{"--request-pac", "--no-request-pac", "bob"}},

		// Postdating.
		{name: "-s 1h", args: []string{"-s", "1h", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-s 2h -l 1h", args: []string{"-s", "2h", "-l", "1h", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-s yyyymmddhhmmss", args: []string{"-s", abs.Format("20060102150405"), "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-s dd-mon-yyyy:hh:mm:ss", args: []string{"-s", abs.Format("02-Jan-2006:15:04:05"), "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-s yyyy.mm.dd.hh.mm.ss", args: []string{"-s", abs.Format("2006.01.02.15.04.05"), "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-s bogus", args: []string{"-s", "bogus", "bob"}},
		{name: "-s 0", args: []string{"-s", "0", "bob"}},

		// Keytabs.
		{name: "-k -t", args: []string{"-k", "-t", "{kt}", "-c", "{cc}", "host/kt.krbtest"}},
		{name: "-kt clustered", args: []string{"-kt", "{kt}", "-c", "{cc}", "host/kt.krbtest"}},
		{name: "-t forces -k", args: []string{"-t", "{kt}", "-c", "{cc}", "host/kt.krbtest"}},
		{name: "-V -k -t", args: []string{"-V", "-k", "-t", "{kt}", "-c", "{cc}", "host/kt.krbtest"}},
		{name: "-t and -i", args: []string{"-k", "-i", "-t", "{kt}", "host/kt.krbtest"}},
		{name: "-t twice", args: []string{"-k", "-t", "{kt}", "-t", "{kt}", "host/kt.krbtest"}},
		{name: "missing keytab", args: []string{"-k", "-t", "{dir}/none.keytab", "-c", "{cc}", "host/kt.krbtest"}},
		{name: "empty keytab", args: []string{"-k", "-t", "{dir}/empty.keytab", "-c", "{cc}", "host/kt.krbtest"}, pre: [][]string{{"touch", "{dir}/empty.keytab"}}},
		{name: "garbage keytab", args: []string{"-k", "-t", "{dir}/garbage.keytab", "-c", "{cc}", "host/kt.krbtest"}, pre: [][]string{{"sh", "-c", "printf 'garbage' > {dir}/garbage.keytab"}}},
		{name: "keytab without the principal", args: []string{"-k", "-t", "{kt}", "-c", "{cc}", "bob"}},
		{name: "-k -t missing, bob", args: []string{"-k", "-t", "{dir}/none.keytab", "-c", "{cc}", "bob"}},
		{name: "-k -t a directory, bob", args: []string{"-k", "-t", "{dir}", "-c", "{cc}", "bob"}},
		{name: "-k -t unknown type, bob", args: []string{"-k", "-t", "FOO:{dir}/x", "-c", "{cc}", "bob"}},
		{name: "-k -t empty file, bob", args: []string{"-k", "-t", "{dir}/empty.kt", "-c", "{cc}", "bob"}, pre: [][]string{{"touch", "{dir}/empty.kt"}}},
		{name: "-k -t missing, nopre", args: []string{"-k", "-t", "{dir}/none.keytab", "-c", "{cc}", "nopre"}},
		{name: "-k -t a directory, nopre", args: []string{"-k", "-t", "{dir}", "-c", "{cc}", "nopre"}},
		{name: "-k -t unknown type, nopre", args: []string{"-k", "-t", "FOO:{dir}/x", "-c", "{cc}", "nopre"}},
		{name: "-k -t empty file, nopre", args: []string{"-k", "-t", "{dir}/empty.kt", "-c", "{cc}", "nopre"}, pre: [][]string{{"touch", "{dir}/empty.kt"}}},
		{name: "-k -t with an empty name", args: []string{"-k", "-t", "", "-c", "{cc}", "bob"}},
		{name: "-t with an empty name, no -k", args: []string{"-t", "", "-c", "{cc}", "nopre"}},
		{name: "-k default keytab", env: []string{"KRB5_KTNAME=FILE:{kt}"}, args: []string{"-k", "-c", "{cc}", "host/kt.krbtest"}},
		{name: "-k -i client keytab's principal", env: []string{"KRB5_CLIENT_KTNAME=FILE:{kt}"}, args: []string{"-k", "-i", "-c", "{cc}"}},
		{name: "-k -i no client keytab", env: []string{"KRB5_CLIENT_KTNAME=FILE:{dir}/none.keytab"}, args: []string{"-k", "-i", "-c", "{cc}"}},

		// Renewal and validation.
		{name: "-R", args: []string{"-R", "-c", "{cc}"}, pre: [][]string{{"sh", "-c", "echo np-pw | kinit -r 1d -c {cc} nopre >/dev/null"}}},
		{name: "-V -R", args: []string{"-V", "-R", "-c", "{cc}"}, pre: [][]string{{"sh", "-c", "echo np-pw | kinit -r 1d -c {cc} nopre >/dev/null"}}},
		{name: "-R with the principal", args: []string{"-R", "-c", "{cc}", "nopre"}, pre: [][]string{{"sh", "-c", "echo np-pw | kinit -r 1d -c {cc} nopre >/dev/null"}}},
		{name: "-R another principal's ticket", args: []string{"-R", "-c", "{cc}", "bob"}, pre: [][]string{{"sh", "-c", "echo np-pw | kinit -r 1d -c {cc} nopre >/dev/null"}}},
		{name: "-R not renewable", args: []string{"-R", "-c", "{cc}"}, pre: [][]string{{"sh", "-c", "echo np-pw | kinit -c {cc} nopre >/dev/null"}}},
		{name: "-R no cache", args: []string{"-R", "-c", "{cc}"}},
		// Damaged caches, in MIT's cc_file.c words.
		{name: "-R cache: not a cache", args: []string{"-R", "-c", "{dir}/bad.cc", "bob"}, pre: [][]string{{"sh", "-c", "printf 'x\\n' > {dir}/bad.cc"}}},
		{name: "-v cache: not a cache", args: []string{"-v", "-c", "{dir}/bad.cc", "bob"}, pre: [][]string{{"sh", "-c", "printf 'x\\n' > {dir}/bad.cc"}}},
		{name: "-T cache: not a cache", args: []string{"-T", "{dir}/bad.cc", "-c", "{cc}", "bob"}, stdin: "bob-pw\n", pre: [][]string{{"sh", "-c", "printf 'x\\n' > {dir}/bad.cc"}}},
		{name: "-R cache: header cut", args: []string{"-R", "-c", "{dir}/bad.cc", "bob"}, pre: [][]string{{"sh", "-c", "printf '\\005\\004' > {dir}/bad.cc"}}},
		{name: "-v cache: header cut", args: []string{"-v", "-c", "{dir}/bad.cc", "bob"}, pre: [][]string{{"sh", "-c", "printf '\\005\\004' > {dir}/bad.cc"}}},
		{name: "-T cache: header cut", args: []string{"-T", "{dir}/bad.cc", "-c", "{cc}", "bob"}, stdin: "bob-pw\n", pre: [][]string{{"sh", "-c", "printf '\\005\\004' > {dir}/bad.cc"}}},
		{name: "-R cache: principal cut", args: []string{"-R", "-c", "{dir}/bad.cc", "bob"}, pre: [][]string{{"sh", "-c", "printf '\\005\\003\\000\\000\\000\\001' > {dir}/bad.cc"}}},
		{name: "-v cache: principal cut", args: []string{"-v", "-c", "{dir}/bad.cc", "bob"}, pre: [][]string{{"sh", "-c", "printf '\\005\\003\\000\\000\\000\\001' > {dir}/bad.cc"}}},
		{name: "-T cache: principal cut", args: []string{"-T", "{dir}/bad.cc", "-c", "{cc}", "bob"}, stdin: "bob-pw\n", pre: [][]string{{"sh", "-c", "printf '\\005\\003\\000\\000\\000\\001' > {dir}/bad.cc"}}},
		{name: "-R cache: bad version", args: []string{"-R", "-c", "{dir}/bad.cc", "bob"}, pre: [][]string{{"sh", "-c", "printf '\\005\\011\\000\\000' > {dir}/bad.cc"}}},
		{name: "-v cache: bad version", args: []string{"-v", "-c", "{dir}/bad.cc", "bob"}, pre: [][]string{{"sh", "-c", "printf '\\005\\011\\000\\000' > {dir}/bad.cc"}}},
		{name: "-T cache: bad version", args: []string{"-T", "{dir}/bad.cc", "-c", "{cc}", "bob"}, stdin: "bob-pw\n", pre: [][]string{{"sh", "-c", "printf '\\005\\011\\000\\000' > {dir}/bad.cc"}}},
		{name: "-v no cache", args: []string{"-v", "-c", "{cc}"}},
		{name: "-v not postdated", args: []string{"-v", "-c", "{cc}"}, pre: [][]string{{"sh", "-c", "echo np-pw | kinit -c {cc} nopre >/dev/null"}}},
		{name: "-v another principal's ticket", args: []string{"-v", "-c", "{cc}", "bob"}, pre: [][]string{{"sh", "-c", "echo np-pw | kinit -s 1h -c {cc} nopre >/dev/null"}}},
		{name: "-k -R: the last wins", args: []string{"-k", "-R", "-c", "{cc}"}, pre: [][]string{{"sh", "-c", "echo np-pw | kinit -r 1d -c {cc} nopre >/dev/null"}}},

		// Input and armor caches.
		{name: "-I", args: []string{"-I", "{dir}/in", "-c", "{cc}", "bob"}, stdin: "bob-pw\n", pre: [][]string{{"sh", "-c", "echo bob-pw | kinit -c {dir}/in bob >/dev/null"}}},
		{name: "-V -I", args: []string{"-V", "-I", "{dir}/in", "-c", "{cc}", "bob"}, stdin: "bob-pw\n", pre: [][]string{{"sh", "-c", "echo bob-pw | kinit -c {dir}/in bob >/dev/null"}}},
		{name: "-I twice", args: []string{"-I", "a", "-I", "b", "bob"}},
		{name: "-c twice", args: []string{"-c", "a", "-c", "b", "bob"}},
		{name: "-T twice", args: []string{"-T", "a", "-T", "b", "bob"}},
		{name: "-T missing armor cache", args: []string{"-T", "{dir}/no-armor", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},

		// Verbose lines.
		{name: "-V", args: []string{"-V", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "-V default cache", env: []string{"KRB5CCNAME=FILE:{cc}"}, args: []string{"-V", "bob"}, stdin: "bob-pw\n"},
		{name: "-V wrong password", args: []string{"-V", "-c", "{cc}", "bob"}, stdin: "wrong\n"},

		// Usage.
		{name: "-4", args: []string{"-4", "bob"}},
		{name: "-5", args: []string{"-5", "-c", "{cc}", "bob"}, stdin: "bob-pw\n"},
		{name: "invalid option", args: []string{"-Q", "bob"}},
		{name: "two invalid options", args: []string{"-QZ", "bob"}},
		{name: "extra arguments", args: []string{"bob", "alice", "carol"}},
		{name: "errors and exclusions together", args: []string{"-f", "-F", "-l", "0", "-Q", "-t", "x", "bob", "extra"}},
		{name: "operands before options", args: []string{"bob", "-c", "{cc}", "-l", "1h"}, stdin: "bob-pw\n"},
		{name: "-- ends options", args: []string{"-c", "{cc}", "--", "bob"}, stdin: "bob-pw\n"},

		// Principal state set with kadmin.local.
		{name: "disabled principal", user: []string{"-allow_tix"}, args: []string{"-c", "{cc}", "{user}"}, stdin: "user-pw\n"},
		{name: "expired principal", user: []string{"-expire", "2020-01-01"}, args: []string{"-c", "{cc}", "{user}"}, stdin: "user-pw\n"},
		{name: "stale keytab, no preauth", user: []string{"-maxlife", "1d"}, args: []string{"-k", "-t", "{dir}/stale.kt", "-c", "{cc}", "{user}"}, pre: [][]string{{"kadmin.local", "-q", "ktadd -k {dir}/stale.kt {user}"}, {"kadmin.local", "-q", "cpw -randkey {user}"}}},
		{name: "stale keytab, requires preauth", user: []string{"+requires_preauth"}, args: []string{"-k", "-t", "{dir}/stale.kt", "-c", "{cc}", "{user}"}, pre: [][]string{{"kadmin.local", "-q", "ktadd -k {dir}/stale.kt {user}"}, {"kadmin.local", "-q", "cpw -randkey {user}"}}},
		{name: "principal with two realms", args: []string{"-c", "{cc}", "bob@@{realm}"}, stdin: "bob-pw\n"},
		{name: "principal with a trailing backslash", args: []string{"-c", "{cc}", "bob\\"}, stdin: "bob-pw\n"},
		{name: "requires hardware preauth, no armor", user: []string{"+requires_hwauth"}, args: []string{"-c", "{cc}", "{user}"}, stdin: "user-pw\n"},
		{name: "requires preauth, fresh principal", user: []string{"+requires_preauth"}, args: []string{"-c", "{cc}", "{user}"}, stdin: "user-pw\n"},
		{name: "principal without keys", user: []string{"-nokey"}, args: []string{"-c", "{cc}", "{user}"}, stdin: "user-pw\n"},

		// At a terminal.
		{name: "terminal: typed password", args: []string{"-c", "{cc}", "bob"}, keys: []string{"bob-pw\r"}},
		{name: "terminal: typed wrong password", args: []string{"-c", "{cc}", "bob"}, keys: []string{"nope\r"}},
		{name: "terminal: Ctrl-C", args: []string{"-c", "{cc}", "bob"}, keys: []string{"\x03"}},
		{name: "terminal: Ctrl-D", args: []string{"-c", "{cc}", "bob"}, keys: []string{"\x04"}},
		{name: "terminal: Ctrl-D, no preauth", args: []string{"-c", "{cc}", "nopre"}, keys: []string{"\x04"}},
		{name: "terminal: expired password, Ctrl-D at the new one", user: []string{"+requires_preauth", "+needchange"}, args: []string{"-c", "{cc}", "{user}"}, keys: []string{"user-pw\r", "\x04"}},
	}
}

func TestSideBySideWithMIT(t *testing.T) {
	if _, err := os.Stat(mitKinit); err != nil {
		krbtest.SkipOrFail(t, "MIT's kinit is not installed: "+mitKinit)
	}
	realm := sideRealm(t)
	ours := ourBinary(t)
	kt, err := realm.Keytab("host/kt.krbtest")
	require.NoError(t, err)
	cases := sideCases(time.Now())
	t.Logf("%d rows", len(cases))
	deliberate := 0
	for _, tc := range cases {
		if tc.diff != "" {
			deliberate++
		}
	}
	t.Logf("%d deliberate differences", deliberate)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.keys == nil {
				t.Parallel()
			}
			mit := runSide(t, realm, tc, mitKinit, kt)
			our := runSide(t, realm, tc, ours, kt)
			assert.Equal(t, mit.code, our.code, "exit status\nMIT stderr: %s\nour stderr: %s", mit.stderr, our.stderr)
			if tc.diff != "" {
				t.Logf("deliberate difference: %s", tc.diff)
				return
			}
			assert.Equal(t, mit.stderr, our.stderr, "standard error")
			assert.Equal(t, mit.stdout, our.stdout, "standard output")
			assert.Equal(t, mit.klist, our.klist, "the cache as klist -f -e shows it")
			if tc.keys != nil {
				assert.True(t, our.echoOn, "echo restored")
				assert.True(t, mit.echoOn, "echo restored (MIT)")
				if len(tc.keys) == 1 && strings.ContainsAny(tc.keys[0], "\x03\x04") {
					// Within 100 ms, or, on a machine too busy for that,
					// no later than MIT's kinit on the same machine.
					if our.keyToExit >= 100*time.Millisecond {
						assert.Less(t, our.keyToExit, mit.keyToExit+50*time.Millisecond, "exit after the key (MIT: %v)", mit.keyToExit)
					}
				}
			}
		})
	}
}

// runSide runs one side of a row in a directory of its own.
func runSide(t *testing.T, realm *krbtest.Realm, tc sideCase, bin, kt string) sideResult {
	t.Helper()
	dir := t.TempDir()
	cc := filepath.Join(dir, "cc")
	user := ""
	if tc.user != nil {
		user = fmt.Sprintf("u%d", userSeq.Add(1))
		args := append([]string{"addprinc", "-pw", "user-pw"}, tc.user...)
		_, err := realm.Kadmin(append(args, user)...)
		require.NoError(t, err)
	}
	repl := strings.NewReplacer("{cc}", cc, "{dir}", dir, "{kt}", kt, "{user}", user, "{realm}", realm.Name)
	env := append(realm.Env(), "KRB5CCNAME=FILE:"+filepath.Join(dir, "default-cc"), "KRB5_CLIENT_KTNAME=FILE:"+filepath.Join(dir, "client.keytab"), "KRB5_KTNAME=FILE:"+filepath.Join(dir, "krb5.keytab"), "LC_ALL=C", "TZ=UTC")
	if tc.conf != "" {
		conf, err := realm.WriteClientConfig(tc.conf, "")
		require.NoError(t, err)
		env = append(env, "KRB5_CONFIG="+conf)
	}
	for _, e := range tc.env {
		if key, ok := strings.CutPrefix(e, "-"); ok { // "-KEY" unsets KEY
			env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, key+"=") })
			continue
		}
		env = append(env, repl.Replace(e))
	}
	for _, p := range tc.pre {
		args := make([]string, len(p))
		for i, a := range p {
			args[i] = repl.Replace(a)
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%v: %s", args, out)
	}
	args := make([]string, len(tc.args))
	for i, a := range tc.args {
		args[i] = repl.Replace(a)
	}
	cmd := exec.Command(bin, args...)
	cmd.Args[0] = "kinit" // both programs name themselves alike
	cmd.Env = env
	start := time.Now()
	var r sideResult
	if tc.keys != nil {
		r = runOnTerminal(t, cmd, tc.keys)
	} else {
		cmd.Stdin = strings.NewReader(tc.stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		r.code = exitCode(t, err)
		r.stdout, r.stderr = out.String(), errb.String()
	}
	norm := func(s string) string {
		s = strings.ReplaceAll(s, dir, "{dir}")
		if user != "" {
			s = strings.ReplaceAll(s, user, "{user}")
		}
		s = strings.ReplaceAll(s, bin, "kinit")
		// Deliberate: our usage text also lists --responder=json.
		s = strings.ReplaceAll(s, " [--responder=json]", "")
		s = regexp.MustCompile(`(?m)^\t--responder=json .*\n`).ReplaceAllString(s, "")
		return s
	}
	r.stdout, r.stderr = norm(r.stdout), norm(r.stderr)
	if _, err := os.Stat(cc); err == nil {
		klist := exec.Command("klist", "-f", "-e", "-c", cc)
		klist.Env = env
		out, err := klist.CombinedOutput()
		require.NoError(t, err, "%s", out)
		r.klist = renewableToEnd(norm(relativeTimes(string(out), start)))
	}
	return r
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

var klistTime = regexp.MustCompile(`\d\d/\d\d/\d\d \d\d:\d\d:\d\d`)

// renewableUntilEnd is a klist entry renewable only up to its own end time.
var renewableUntilEnd = regexp.MustCompile(`(?m)^(T[+-]\d+m  (T[+-]\d+m)  \S+\n)\trenew until (T[+-]\d+m), Flags: (\w*)R(\w*)\n\t`)

// renewableToEnd reads a ticket renewable only until its own end time as
// the same ticket without the renewable flag: nothing can be renewed. MIT's
// kinit occasionally gets such a ticket when no renewable life was asked
// for (seen once in five runs of "-k default keytab", on MIT's side only:
// the KDC's RENEWABLE-OK path at a second boundary); the rest of the cache
// is still compared.
func renewableToEnd(s string) string {
	return renewableUntilEnd.ReplaceAllStringFunc(s, func(m string) string {
		sm := renewableUntilEnd.FindStringSubmatch(m)
		if sm[2] != sm[3] {
			return m
		}
		return sm[1] + "\tFlags: " + sm[4] + sm[5] + ", "
	})
}

// relativeTimes replaces klist's times with their distance from start in
// minutes, so that two runs a second apart read the same.
func relativeTimes(s string, start time.Time) string {
	return klistTime.ReplaceAllStringFunc(s, func(ts string) string {
		t, err := time.ParseInLocation("01/02/06 15:04:05", ts, time.UTC)
		if err != nil {
			return ts
		}
		return fmt.Sprintf("T%+dm", int(t.Sub(start).Round(time.Minute)/time.Minute))
	})
}

// runOnTerminal runs cmd on a new pseudo-terminal (its controlling
// terminal, so Ctrl-C is SIGINT from the terminal) and types keys, each
// once the program waits for input with echo off or a prompt ends the
// screen.
func runOnTerminal(t *testing.T, cmd *exec.Cmd, keys []string) sideResult {
	t.Helper()
	master, err := pty.Start(cmd)
	require.NoError(t, err)
	defer master.Close()
	var mu sync.Mutex
	var screen bytes.Buffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 1024)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	waitFor := func(prompts int) {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			s := screen.String()
			mu.Unlock()
			tio, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS)
			if strings.Count(s, ": ") >= prompts && err == nil && tio.Lflag&unix.ECHO == 0 {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Errorf("no prompt %d on the terminal: %q", prompts, screen.String())
	}
	var last time.Time
	for i, k := range keys {
		waitFor(i + 1)
		time.Sleep(20 * time.Millisecond) // the read has started
		last = time.Now()
		_, err := io.WriteString(master, k)
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		werr = <-done
		t.Errorf("still running after the keys")
	}
	r := sideResult{keyToExit: time.Since(last)}
	r.code = exitCode(t, werr)
	tio, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS)
	require.NoError(t, err)
	r.echoOn = tio.Lflag&unix.ECHO != 0
	master.Close()
	<-readDone
	mu.Lock()
	r.stderr = screen.String() // the terminal shows both streams
	mu.Unlock()
	return r
}
