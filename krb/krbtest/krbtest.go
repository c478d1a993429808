// Package krbtest runs a throwaway MIT Kerberos realm for tests, as
// net/http/httptest does for HTTP servers: a krb5kdc process on a free
// loopback port, with its database, configuration and logs in a temporary
// directory, and helpers to add principals, export keytabs and run MIT's
// tools against it. In a test:
//
//	realm := krbtest.NewRealm(t) // skips the test when MIT's KDC is not installed
//	if err := realm.AddPrincipal("alice", "s3cret", krbtest.RequiresPreauth()); err != nil {
//		t.Fatal(err)
//	}
//	kinit := realm.Command("kinit", "alice") // MIT's kinit, with realm.Env()
//	kinit.Stdin = strings.NewReader("s3cret\n")
//
// A Go client loads realm.ConfigPath as its krb5.conf. Outside of tests,
// Start returns a realm that the caller must Close.
//
// krbtest needs MIT krb5's krb5kdc, kdb5_util and kadmin.local (Debian:
// apt-get install krb5-kdc krb5-admin-server krb5-user; krb5-user has kinit,
// klist and kvno). NewRealm skips the test when they are missing, or fails
// it when the environment has KRBTEST_REQUIRE=1 (for CI, where a silent skip
// would hide a broken setup). Nothing outside the realm's directory is
// touched: no system configuration, no service, everything runs as the
// current user.
//
// A Realm is safe for concurrent use by parallel tests; its kadmin.local
// calls are serialized. Several realms may run at once, each on its own port
// and directory.
package krbtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Names of the files a realm keeps in Dir.
const (
	kdcLogName     = "kdc.log"     // the KDC's [logging] kdc output
	kadminLogName  = "kadmin.log"  // kadmin.local's log
	defaultLogName = "krb5.log"    // kdb5_util and other tools
	kdcStderrName  = "krb5kdc.out" // krb5kdc's stdout and stderr
	kdcPidName     = "krb5kdc.pid"
)

// installHint ends the reason Available gives when a binary is missing.
const installHint = "apt-get install krb5-kdc krb5-admin-server krb5-user"

// masterPassword protects the throwaway database's stash; it is no secret.
const masterPassword = "krbtest-master-password"

// toolDirs are searched, after PATH, for MIT's programs; /usr/sbin is often
// not on an ordinary user's PATH. Tests may change it.
var toolDirs = []string{
	"/usr/sbin", "/usr/local/sbin", "/sbin",
	"/usr/bin", "/usr/local/bin",
	"/opt/homebrew/opt/krb5/sbin", "/opt/homebrew/opt/krb5/bin",
	"/usr/local/opt/krb5/sbin", "/usr/local/opt/krb5/bin",
}

// findTool returns the path of one of MIT's programs: next to krb5kdc (its
// directory and ../bin) first, so that kinit is MIT's where another
// implementation's kinit comes first on PATH, then PATH, then toolDirs.
func findTool(name string) (string, error) {
	var dirs []string
	if name != "krb5kdc" {
		if kdc, err := findTool("krb5kdc"); err == nil {
			d := filepath.Dir(kdc)
			dirs = append(dirs, d, filepath.Join(filepath.Dir(d), "bin"))
		}
	}
	for _, d := range dirs {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range toolDirs {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("krbtest: MIT %s not found; %s", name, installHint)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Available reports whether MIT's krb5kdc, kdb5_util and kadmin.local can be
// found (on PATH or in the usual sbin directories) and, if not, a one-line
// reason such as "krbtest: MIT krb5kdc not found; apt-get install krb5-kdc
// krb5-admin-server krb5-user".
func Available() (ok bool, reason string) {
	for _, name := range []string{"krb5kdc", "kdb5_util", "kadmin.local"} {
		if _, err := findTool(name); err != nil {
			return false, err.Error()
		}
	}
	return true, ""
}

// Realm is a running MIT KDC for one realm. Create it with NewRealm in tests
// or Start elsewhere. Its exported fields are read-only.
type Realm struct {
	// Name is the realm name, e.g. "KRBTEST.GOKINIT.TEST" (WithName).
	Name string
	// Dir is the directory holding the database, configuration, logs,
	// keytabs and the default credential cache.
	Dir string
	// KDCAddr is "127.0.0.1:PORT"; the KDC listens on UDP and TCP there.
	KDCAddr string
	// ConfigPath is the client krb5.conf for this realm (KRB5_CONFIG): its
	// default realm is Name and its only KDC is KDCAddr.
	ConfigPath string
	// KDCConfigPath is the krb5.conf read by krb5kdc and kadmin.local
	// (WithKrb5Conf adds to it).
	KDCConfigPath string
	// KDCProfilePath is the KDC's kdc.conf (KRB5_KDC_PROFILE).
	KDCProfilePath string
	// CCache is the default credential cache that Env sets
	// ("FILE:" + Dir + "/ccache").
	CCache string

	cfg       config
	removeDir bool
	seq       atomic.Int64

	mu     sync.Mutex // serializes kadmin.local and guards closed
	closed bool

	proc      *process
	kadmind   *process    // StartKpasswd
	proxies   []*KDCProxy // StartKDCProxy
	kdcs      []*KDC      // AddKDC
	closeOnce sync.Once
	closeErr  error
}

// NewRealm starts a realm for a test or benchmark and stops it, through
// tb.Cleanup, when the test ends; its directory is tb.TempDir(). If MIT's KDC
// programs are missing it calls tb.Skip with the reason from Available, or
// tb.Fatal with it when the environment has KRBTEST_REQUIRE=1. If the test
// fails, the cleanup logs the realm's KDC log.
func NewRealm(tb testing.TB, opts ...Option) *Realm {
	tb.Helper()
	if ok, reason := Available(); !ok {
		SkipOrFail(tb, reason)
		return nil
	}
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.kdcClockOffset != 0 {
		if _, err := os.Stat(FaketimeLib); err != nil {
			SkipOrFail(tb, "krbtest: WithKDCClockOffset needs libfaketime ("+FaketimeLib+"; Debian package faketime)")
			return nil
		}
	}
	r, err := start(tb.TempDir(), false, opts)
	if err != nil {
		tb.Fatal(err)
		return nil
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("krbtest: logs of realm %s in %s:\n%s", r.Name, r.Dir, r.Logs())
		}
		if err := r.Close(); err != nil {
			tb.Error(err)
		}
	})
	return r
}

func required() bool {
	v, _ := strconv.ParseBool(os.Getenv("KRBTEST_REQUIRE"))
	return v
}

// Start starts a realm outside of a test, in a new temporary directory that
// Close removes. The caller must call Close. When MIT's programs are missing
// it returns an error with the reason from Available.
func Start(opts ...Option) (*Realm, error) {
	if ok, reason := Available(); !ok {
		return nil, errors.New(reason)
	}
	dir, err := os.MkdirTemp("", "krbtest-")
	if err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	r, err := start(dir, true, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return r, nil
}

func start(dir string, removeDir bool, opts []Option) (*Realm, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.name == "" || strings.ContainsAny(cfg.name, " \t\n@/{}[]=") {
		return nil, fmt.Errorf("krbtest: bad realm name %q", cfg.name)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	r := &Realm{
		Name:           cfg.name,
		Dir:            dir,
		ConfigPath:     filepath.Join(dir, "krb5.conf"),
		KDCConfigPath:  filepath.Join(dir, "kdc-krb5.conf"),
		KDCProfilePath: filepath.Join(dir, "kdc.conf"),
		CCache:         "FILE:" + filepath.Join(dir, "ccache"),
		cfg:            cfg,
		removeDir:      removeDir,
	}

	// Each attempt picks a new port. With the port held (see reservePort)
	// the first attempt normally succeeds.
	const attempts = 5
	for i := 1; ; i++ {
		err := r.startOnce(i == 1)
		if err == nil {
			return r, nil
		}
		var inUse *portInUseError
		if i == attempts || !errors.As(err, &inUse) {
			return nil, err
		}
	}
}

type portInUseError struct{ err error }

func (e *portInUseError) Error() string { return e.err.Error() }
func (e *portInUseError) Unwrap() error { return e.err }

// startOnce reserves a port, writes the configuration, creates the database
// on the first call and starts krb5kdc.
func (r *Realm) startOnce(createDB bool) error {
	port, release, err := reservePort()
	if err != nil {
		return err
	}
	defer release()
	r.KDCAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := r.writeConfigs(); err != nil {
		return err
	}
	if createDB {
		if _, err := r.runTool("kdb5_util", "-r", r.Name, "create", "-s", "-P", masterPassword); err != nil {
			return err
		}
	}
	return r.startKDC()
}

// kdcEnv is the environment of krb5kdc, kdb5_util and kadmin.local.
func (r *Realm) kdcEnv() []string {
	return mergeEnv(os.Environ(),
		"KRB5_CONFIG="+r.KDCConfigPath,
		"KRB5_KDC_PROFILE="+r.KDCProfilePath,
		"KRB5CCNAME="+r.CCache,
		"KRB5_KTNAME=FILE:"+filepath.Join(r.Dir, "krb5.keytab"),
		"LC_ALL=C", // stable output to parse
	)
}

// startKDC starts krb5kdc in the foreground and waits until it has bound
// its sockets.
func (r *Realm) startKDC() error {
	p, err := r.launchKDC(r.KDCAddr, r.KDCProfilePath, kdcPidName, kdcStderrName)
	if err != nil {
		return err
	}
	r.proc = p
	return nil
}

// launchKDC starts a krb5kdc for the realm's database with the kdc.conf at
// profile (which makes it listen on addr), its pid file and output named in
// Dir, and waits until it listens.
func (r *Realm) launchKDC(addr, profile, pidName, outName string) (*process, error) {
	bin, err := findTool("krb5kdc")
	if err != nil {
		return nil, err
	}
	pidPath := filepath.Join(r.Dir, pidName)
	os.Remove(pidPath)
	out, err := os.OpenFile(filepath.Join(r.Dir, outName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	defer out.Close() // the child has its own copy

	cmd := exec.Command(bin, "-n", "-r", r.Name, "-P", pidPath)
	cmd.Env = mergeEnv(r.kdcEnv(), "KRB5_KDC_PROFILE="+profile)
	if d := r.cfg.kdcClockOffset; d != 0 {
		if _, err := os.Stat(FaketimeLib); err != nil {
			return nil, fmt.Errorf("krbtest: WithKDCClockOffset needs libfaketime (%s): %w", FaketimeLib, err)
		}
		cmd.Env = mergeEnv(cmd.Env, "LD_PRELOAD="+FaketimeLib, fmt.Sprintf("FAKETIME=%+ds", int64(d/time.Second)), "FAKETIME_DONT_FAKE_MONOTONIC=1", "FAKETIME_NO_CACHE=1")
	}
	cmd.Dir = r.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	p, err := startProcess("krb5kdc", cmd)
	if err != nil {
		return nil, err
	}

	// krb5kdc writes its pid file after binding all its sockets; the TCP
	// connect then confirms it listens. Poll briefly: start-up takes a few
	// milliseconds.
	deadline := time.Now().Add(r.cfg.startTimeout)
	interval := time.Millisecond
	for {
		if b, err := os.ReadFile(pidPath); err == nil && strings.HasSuffix(string(b), "\n") {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("krbtest: krb5kdc did not listen on %s within %v\n%s", addr, r.cfg.startTimeout, r.Logs())
		}
		select {
		case <-p.done:
			err := fmt.Errorf("krbtest: krb5kdc exited during start-up (%v)\n%s", p.waitErr, r.Logs())
			if strings.Contains(r.Logs(), "Address already in use") {
				return nil, &portInUseError{err}
			}
			return nil, err
		case <-time.After(interval):
		}
		interval = min(2*interval, 20*time.Millisecond)
	}
}

// kill stops the process at once and waits for it.
// Close stops krb5kdc (SIGTERM, then SIGKILL after 5s) and, for a realm made
// by Start, removes Dir. It reports whether the KDC had died before Close.
// Calling Close again returns the first result.
func (r *Realm) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock() // let running kadmin.local calls finish
		r.closed = true
		r.mu.Unlock()
		var errs []error
		for _, p := range r.proxies {
			errs = append(errs, p.Close())
		}
		for _, k := range r.kdcs {
			errs = append(errs, k.Stop())
		}
		if r.kadmind != nil {
			errs = append(errs, r.kadmind.stop(5*time.Second))
		}
		if r.proc != nil {
			errs = append(errs, r.proc.stop(5*time.Second))
		}
		if r.removeDir {
			if err := os.RemoveAll(r.Dir); err != nil {
				errs = append(errs, fmt.Errorf("krbtest: %w", err))
			}
		}
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// Logs returns the KDC's output and logs (krb5kdc's stderr, kdc.log,
// kadmin.log and the tools' log), each under a header, for a failing test to
// print.
func (r *Realm) Logs() string {
	var b strings.Builder
	for _, name := range []string{kdcStderrName, kdcLogName, kadminLogName, defaultLogName} {
		data, err := os.ReadFile(filepath.Join(r.Dir, name))
		if err != nil || len(data) == 0 {
			continue
		}
		fmt.Fprintf(&b, "==> %s <==\n%s", name, data)
		if !strings.HasSuffix(string(data), "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// Env returns os.Environ() with the variables that point MIT's programs
// (kinit, klist, kvno, kadmin.local...) at this realm: KRB5_CONFIG
// (ConfigPath), KRB5_KDC_PROFILE, KRB5CCNAME (CCache), KRB5_KTNAME and
// KRB5_CLIENT_KTNAME (files in Dir, so the system keytab is never read) and
// KRB5RCACHEDIR (Dir). Parallel tests should each append their own
// KRB5CCNAME=...: os/exec uses the last value of a repeated variable.
func (r *Realm) Env() []string {
	return mergeEnv(os.Environ(),
		"KRB5_CONFIG="+r.ConfigPath,
		"KRB5_KDC_PROFILE="+r.KDCProfilePath,
		"KRB5CCNAME="+r.CCache,
		"KRB5_KTNAME=FILE:"+filepath.Join(r.Dir, "krb5.keytab"),
		"KRB5_CLIENT_KTNAME=FILE:"+filepath.Join(r.Dir, "client.keytab"),
		"KRB5RCACHEDIR="+r.Dir,
	)
}

// Command returns an exec.Cmd running one of MIT's programs (kinit, klist,
// kvno, ...) with Env. The program is looked up next to krb5kdc first, then
// on PATH, then in the usual sbin directories; if it is not found, the
// command's Run reports it.
func (r *Realm) Command(name string, args ...string) *exec.Cmd {
	path, err := findTool(name)
	if err != nil {
		path = name
	}
	cmd := exec.Command(path, args...)
	cmd.Env = r.Env()
	return cmd
}

// Principal returns name qualified with the realm: "alice" gives
// "alice@KRBTEST.GOKINIT.TEST". A name that already has a realm is returned
// as it is.
func (r *Realm) Principal(name string) string {
	if strings.Contains(name, "@") {
		return name
	}
	return name + "@" + r.Name
}

// mergeEnv returns env with each of the KEY=VALUE settings replacing any
// earlier value of KEY.
func mergeEnv(env []string, settings ...string) []string {
	keys := map[string]bool{}
	for _, s := range settings {
		k, _, _ := strings.Cut(s, "=")
		keys[k] = true
	}
	out := make([]string, 0, len(env)+len(settings))
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); !keys[k] {
			out = append(out, e)
		}
	}
	return append(out, settings...)
}
