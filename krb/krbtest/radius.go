package krbtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// radiusModules are the FreeRADIUS modules the server enables: files and
// pap check a cleartext password from the users file, preprocess and
// attr_filter are the stock site's steps around them, and expr, always and
// unix complete the small set known to start cleanly from a stock
// configuration.
var radiusModules = []string{"files", "pap", "preprocess", "expr", "attr_filter", "always", "unix"}

// radiusConfigDirs are searched for the FreeRADIUS configuration that
// StartRADIUS copies its modules from.
var radiusConfigDirs = []string{
	"/etc/freeradius/3.0", "/etc/freeradius", "/etc/raddb",
	"/usr/local/etc/raddb", "/opt/homebrew/etc/raddb",
}

const radiusInstallHint = "apt-get install freeradius"

// RADIUSTokenType is the name of the [otp] token type that KDCOption
// configures and OTPConfig names.
const RADIUSTokenType = "krbtest"

// RADIUS is a running FreeRADIUS server for OTP tests. Its exported fields
// are read-only.
type RADIUS struct {
	// Addr is "127.0.0.1:PORT", where the server takes Access-Requests (UDP).
	Addr string
	// Dir holds the server's configuration (raddb), its log and the secret.
	Dir string
	// SecretPath is the file holding the shared secret, as kdc.conf's
	// [otp] secret relation wants it.
	SecretPath string
	// StartupTime is how long the server took to start answering.
	StartupTime time.Duration

	proc      *process
	closeOnce sync.Once
	closeErr  error
}

// RADIUSAvailable reports whether FreeRADIUS and a configuration to copy
// its modules from are installed, and if not, a one-line reason.
func RADIUSAvailable() (ok bool, reason string) {
	if _, err := radiusBinary(); err != nil {
		return false, err.Error()
	}
	if _, err := radiusConfigDir(); err != nil {
		return false, err.Error()
	}
	return true, ""
}

func radiusBinary() (string, error) {
	for _, name := range []string{"freeradius", "radiusd"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		for _, d := range toolDirs {
			if p := filepath.Join(d, name); isExecutable(p) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("krbtest: FreeRADIUS (freeradius or radiusd) not found; %s", radiusInstallHint)
}

func radiusConfigDir() (string, error) {
	for _, d := range radiusConfigDirs {
		if _, err := os.Stat(filepath.Join(d, "mods-available", "pap")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("krbtest: no FreeRADIUS configuration (mods-available) in %s; %s", strings.Join(radiusConfigDirs, ", "), radiusInstallHint)
}

// StartRADIUS starts FreeRADIUS on a free loopback port for a test or
// benchmark, so that the realm's KDC can check one-time passwords (RFC
// 6560) with it as MIT's KDC does, and stops it when the test ends:
//
//	rad := krbtest.StartRADIUS(t, map[string]string{"alice": "123456"})
//	realm := krbtest.NewRealm(t, rad.KDCOption())
//	realm.AddRandomKeyPrincipal("alice", krbtest.NoKey(), krbtest.RequiresPreauth())
//	realm.SetOTP("alice", rad.OTPConfig("alice"))
//
// MIT's KDC offers OTP only inside FAST, so clients need armor
// (Realm.ArmorCache). users maps each RADIUS user name to the password the
// server accepts; for a token with a PIN, that is the PIN followed by the
// code, which is what the KDC forwards. Start the server before the realm:
// the realm's kdc.conf needs its port. StartRADIUS skips the test when
// FreeRADIUS is missing, or fails it when the environment has
// KRBTEST_REQUIRE=1. It takes about 50 ms.
func StartRADIUS(tb testing.TB, users map[string]string) *RADIUS {
	tb.Helper()
	if ok, reason := RADIUSAvailable(); !ok {
		SkipOrFail(tb, reason)
		return nil
	}
	r, err := startRADIUS(tb.TempDir(), users)
	if err != nil {
		tb.Fatal(err)
		return nil
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("krbtest: log of the RADIUS server in %s:\n%s", r.Dir, r.Logs())
		}
		if err := r.Close(); err != nil {
			tb.Error(err)
		}
	})
	return r
}

func startRADIUS(dir string, users map[string]string) (*RADIUS, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	secret, err := randomSecret()
	if err != nil {
		return nil, err
	}
	r := &RADIUS{Dir: dir, SecretPath: filepath.Join(dir, "secret")}
	if err := os.WriteFile(r.SecretPath, []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	if err := writeRADIUSConfig(r.raddb(), secret, users); err != nil {
		return nil, err
	}
	// The port is free when chosen but not held (FreeRADIUS binds without
	// SO_REUSEPORT), so another process may take it first: then try another.
	const attempts = 5
	for i := 1; ; i++ {
		err := r.start()
		if err == nil {
			return r, nil
		}
		var inUse *portInUseError
		if i == attempts || !errors.As(err, &inUse) {
			return nil, err
		}
	}
}

func (r *RADIUS) raddb() string   { return filepath.Join(r.Dir, "raddb") }
func (r *RADIUS) logPath() string { return filepath.Join(r.Dir, "radius.log") }

func randomSecret() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("krbtest: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// KDCOption configures the realm's KDC to check one-time passwords with
// this server: an [otp] token type named RADIUSTokenType in kdc.conf.
func (r *RADIUS) KDCOption() Option {
	return WithKDCConfSection("otp", fmt.Sprintf("%s = {\n server = %s\n secret = %s\n strip_realm = true\n}",
		RADIUSTokenType, r.Addr, r.SecretPath))
}

// OTPConfig returns the value of a principal's "otp" string attribute that
// makes the KDC check its one-time passwords as RADIUS user username
// (MIT's JSON: [{"type":"krbtest","username":"alice"}]). See Realm.SetOTP.
func (r *RADIUS) OTPConfig(username string) string {
	type token struct {
		Type     string `json:"type"`
		Username string `json:"username"`
	}
	b, _ := json.Marshal([]token{{RADIUSTokenType, username}})
	return string(b)
}

// SetOTP sets the principal's "otp" string attribute (kadmin setstr), for
// example to RADIUS.OTPConfig("alice"), so that the KDC offers it OTP
// inside FAST.
func (r *Realm) SetOTP(principal, otpConfig string) error {
	_, err := r.Kadmin("setstr", principal, "otp", otpConfig)
	return err
}

// Logs returns the server's log. FreeRADIUS logs user names, never
// passwords (auth_badpass and auth_goodpass are off).
func (r *RADIUS) Logs() string {
	b, _ := os.ReadFile(r.logPath())
	return string(b)
}

// Close stops the server (SIGTERM, then SIGKILL after 5s). It reports
// whether the server had died before Close. Calling Close again returns the
// first result.
func (r *RADIUS) Close() error {
	r.closeOnce.Do(func() {
		if r.proc != nil {
			r.closeErr = r.proc.stop(5 * time.Second)
		}
		if r.closeErr != nil {
			r.closeErr = fmt.Errorf("%w\n%s", r.closeErr, r.Logs())
		}
	})
	return r.closeErr
}

// stop sends SIGTERM, waits up to grace, then kills the process.
// start picks a port, writes the site that listens on it and runs
// FreeRADIUS in the foreground until it logs that it is ready.
func (r *RADIUS) start() error {
	port, err := freeUDPPort()
	if err != nil {
		return err
	}
	r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := os.WriteFile(filepath.Join(r.raddb(), "sites-enabled", "krbtest"), []byte(radiusSite(port)), 0o600); err != nil {
		return fmt.Errorf("krbtest: %w", err)
	}
	bin, err := radiusBinary()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(r.logPath(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("krbtest: %w", err)
	}
	defer out.Close()

	begin := time.Now()
	cmd := exec.Command(bin, "-f", "-d", r.raddb(), "-l", "stdout")
	cmd.Dir = r.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	p, err := startProcess("FreeRADIUS", cmd)
	if err != nil {
		return err
	}

	const timeout = 10 * time.Second
	deadline := begin.Add(timeout)
	interval := time.Millisecond
	for {
		if strings.Contains(r.Logs(), "Ready to process requests") {
			r.StartupTime = time.Since(begin)
			r.proc = p
			return nil
		}
		select {
		case <-p.done:
			logs := r.Logs()
			err := fmt.Errorf("krbtest: FreeRADIUS exited during start-up (%v)\n%s", p.waitErr, logs)
			if strings.Contains(logs, "Address already in use") {
				return &portInUseError{err}
			}
			return err
		case <-time.After(interval):
		}
		if time.Now().After(deadline) {
			p.cmd.Process.Kill()
			<-p.done
			return fmt.Errorf("krbtest: FreeRADIUS did not start within %v\n%s", timeout, r.Logs())
		}
		interval = min(2*interval, 5*time.Millisecond)
	}
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("krbtest: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// writeRADIUSConfig writes a raddb directory: radiusd.conf, clients.conf,
// the users file and copies of radiusModules and their mods-config files
// from the installed configuration. The site is written by start.
func writeRADIUSConfig(raddb, secret string, users map[string]string) error {
	src, err := radiusConfigDir()
	if err != nil {
		return err
	}
	usersFile, err := radiusUsers(users)
	if err != nil {
		return err
	}
	for _, d := range []string{"mods-enabled", "sites-enabled", "mods-config/files", "logs", "run"} {
		if err := os.MkdirAll(filepath.Join(raddb, d), 0o700); err != nil {
			return fmt.Errorf("krbtest: %w", err)
		}
	}
	copies := map[string]string{"dictionary": "dictionary"}
	for _, m := range radiusModules {
		copies[filepath.Join("mods-available", m)] = filepath.Join("mods-enabled", m)
	}
	for _, f := range []string{"files/accounting", "files/pre-proxy", "preprocess", "attr_filter"} {
		copies[filepath.Join("mods-config", f)] = filepath.Join("mods-config", f)
	}
	for from, to := range copies {
		if err := copyPath(filepath.Join(src, from), filepath.Join(raddb, to)); err != nil {
			return fmt.Errorf("krbtest: copying the FreeRADIUS configuration: %w", err)
		}
	}
	files := map[string]string{
		"radiusd.conf":                radiusdConf(raddb, radiusLibdir(src)),
		"clients.conf":                fmt.Sprintf("client localhost {\n\tipaddr = 127.0.0.1\n\tsecret = %s\n}\n", secret),
		"mods-config/files/authorize": usersFile,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(raddb, name), []byte(text), 0o600); err != nil {
			return fmt.Errorf("krbtest: %w", err)
		}
	}
	return nil
}

// copyPath copies a file, or a directory tree, from to to.
func copyPath(from, to string) error {
	fi, err := os.Stat(from)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return os.CopyFS(to, os.DirFS(from))
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

// radiusUsers renders the users file: one cleartext password per user,
// which the pap module compares with the User-Password the KDC sends.
func radiusUsers(users map[string]string) (string, error) {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(users)) {
		if name == "" || strings.ContainsAny(name, " \t\r\n\"\\#") {
			return "", fmt.Errorf("krbtest: bad RADIUS user name %q", name)
		}
		if strings.ContainsAny(users[name], "\r\n\"\\") {
			return "", fmt.Errorf("krbtest: the password of RADIUS user %q has a quote, backslash or newline", name)
		}
		fmt.Fprintf(&b, "%s Cleartext-Password := \"%s\"\n", name, users[name])
	}
	return b.String(), nil
}

// radiusLibdir reads libdir (where the rlm_*.so modules are) from the
// installed radiusd.conf.
func radiusLibdir(src string) string {
	b, _ := os.ReadFile(filepath.Join(src, "radiusd.conf"))
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "libdir" {
			return strings.TrimSpace(v)
		}
	}
	return "/usr/lib/freeradius"
}

// radiusdConf is a small radiusd.conf: no proxying, no reject delay (a
// wrong code is answered at once), and a small request queue, since the
// default one (65536 entries per queue) costs a quarter of a second to
// allocate at start-up.
func radiusdConf(raddb, libdir string) string {
	return fmt.Sprintf(`prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = ${exec_prefix}/sbin
name = freeradius
raddbdir = %[1]s
confdir = ${raddbdir}
modconfdir = ${confdir}/mods-config
logdir = ${raddbdir}/logs
radacctdir = ${logdir}/radacct
run_dir = ${raddbdir}/run
db_dir = ${raddbdir}
libdir = %[2]s
pidfile = ${run_dir}/radiusd.pid
max_request_time = 30
cleanup_delay = 0
max_requests = 1024
hostname_lookups = no
proxy_requests = no
log {
	destination = files
	auth = yes
	auth_badpass = no
	auth_goodpass = no
}
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = yes
}
thread pool {
	start_servers = 1
	max_servers = 4
	min_spare_servers = 1
	max_spare_servers = 2
	max_requests_per_server = 0
	max_queue_size = 1024
}
$INCLUDE clients.conf
modules {
	$INCLUDE mods-enabled/
}
instantiate {
}
$INCLUDE sites-enabled/
`, raddb, libdir)
}

// radiusSite is the one virtual server: Access-Requests on 127.0.0.1:port,
// checked against the users file.
func radiusSite(port int) string {
	return fmt.Sprintf(`server krbtest {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = %d
	}
	authorize {
		preprocess
		files
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
	}
	post-auth {
		Post-Auth-Type REJECT {
			attr_filter.access_reject
		}
	}
}
`, port)
}
