package krbtest

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Heimdal's KDC as a test realm.
//
// Debian's heimdal-kdc and heimdal-clients conflict with MIT's packages, so
// scripts/install-deps unpacks them (apt-get download, dpkg -x) into
// HeimdalRoot and installs only the Heimdal libraries they link to, which
// live beside MIT's. The realm runs that tree's kdc and kpasswdd on free
// loopback ports and manages principals with its kadmin -l (local database,
// no kadmind).
//
// Creating a Heimdal database is slow here (kadmin -l init gathers entropy
// for a second or more), so a database holding only the realm's own
// principals is made once per machine in the user's cache directory and
// copied for each realm: a realm then starts in well under a second.

// HeimdalRealmName is the realm every HeimdalRealm serves.
const HeimdalRealmName = "HEIMDAL.KRBTEST"

// heimdalHint ends the reason HeimdalAvailable gives.
const heimdalHint = "run scripts/install-deps (it unpacks heimdal-kdc into the cache directory)"

// HeimdalRoot is the directory holding the unpacked heimdal-kdc and
// heimdal-clients packages: $KRBTEST_HEIMDAL_ROOT, else
// $XDG_CACHE_HOME/gokinit/heimdal (~/.cache/gokinit/heimdal).
func HeimdalRoot() string {
	if d := os.Getenv("KRBTEST_HEIMDAL_ROOT"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "gokinit", "heimdal")
}

func heimdalKDCBin() string { return filepath.Join(HeimdalRoot(), "usr/lib/heimdal-servers/kdc") }
func heimdalKpasswdBin() string {
	return filepath.Join(HeimdalRoot(), "usr/lib/heimdal-servers/kpasswdd")
}
func heimdalKadminBin() string { return filepath.Join(HeimdalRoot(), "usr/bin/kadmin.heimdal") }

// HeimdalAvailable reports whether Heimdal's kdc, kpasswdd and kadmin are
// unpacked in HeimdalRoot and start (their libraries are installed), and
// if not a one-line reason.
func HeimdalAvailable() (bool, string) {
	for _, p := range []string{heimdalKDCBin(), heimdalKpasswdBin(), heimdalKadminBin()} {
		if !isExecutable(p) {
			return false, "krbtest: Heimdal's " + filepath.Base(p) + " not found in " + HeimdalRoot() + "; " + heimdalHint
		}
	}
	if out, err := exec.Command(heimdalKadminBin(), "--version").CombinedOutput(); err != nil {
		return false, fmt.Sprintf("krbtest: Heimdal's kadmin does not run (%v: %s); %s", err, bytes.TrimSpace(out), heimdalHint)
	}
	return true, ""
}

// HeimdalRealm is a running Heimdal 7.8 KDC (kdc) with its password-change
// service (kpasswdd), PKINIT (a PKI of its own), anonymous PKINIT and FAST,
// for the realm HeimdalRealmName. Its exported fields are read-only.
type HeimdalRealm struct {
	// Name is HeimdalRealmName.
	Name string
	// Dir holds the database, configurations, logs and keytabs.
	Dir string
	// ConfigPath is a client krb5.conf for the realm (our library and MIT's
	// tools): default_realm, the KDC and kpasswd addresses, pkinit_anchors.
	ConfigPath string
	// KDCConfigPath is the configuration Heimdal's kdc, kpasswdd and
	// kadmin read.
	KDCConfigPath string
	// KDCAddr and KpasswdAddr are "127.0.0.1:PORT" (UDP and TCP).
	KDCAddr, KpasswdAddr string
	// PKI is the realm's CA and KDC certificate (PKINIT).
	PKI *PKI
	// StartTime is how long Start took, database copy to answering KDC.
	StartTime time.Duration

	mu       sync.Mutex // serializes kadmin
	kdc, kpw *process
	seq      int
	closed   bool
}

// heimdalTemplate makes, once per machine, the database of a fresh realm
// (krbtgt, kadmin/changepw, WELLKNOWN/ANONYMOUS, as kadmin init makes them) and returns its directory.
func heimdalTemplate() (string, error) {
	root := HeimdalRoot()
	dir := filepath.Join(filepath.Dir(root), "heimdal-template-v4")
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return dir, nil
	}
	return dir, withFileLock(dir+".lock", func() error {
		if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
			return nil
		}
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		conf := filepath.Join(dir, "krb5.conf")
		if err := os.WriteFile(conf, []byte(heimdalKDCConf(dir, 0, 0, nil)), 0o600); err != nil {
			return err
		}
		cmds := "init --realm-max-ticket-life=1d --realm-max-renewable-life=1w " + HeimdalRealmName + "\n" + // init adds WELLKNOWN/ANONYMOUS too
			// kpasswdd's key: its default keytab (HDBGET:) cannot be
			// iterated, which krb5_rd_req needs.
			"ext_keytab --keytab=FILE:" + filepath.Join(dir, "heimdal-kpasswdd.keytab") + " kadmin/changepw\n"
		if _, err := runHeimdalKadmin(conf, dir, cmds); err != nil {
			return err
		}
		pki, err := NewPKI(dir, HeimdalRealmName)
		if err != nil {
			return err
		}
		// A KDC certificate with a subjectKeyIdentifier, as hxtool and
		// openssl make them: Heimdal's KDC then identifies its signer by
		// it, the SignerIdentifier MIT's KDC never uses.
		pki.subjectKeyIDs = true
		kdc, err := pki.issue(RSAKey(), kdcNameTypeSrvInst, []string{"krbtgt", HeimdalRealmName}, HeimdalRealmName, oidKPKdc, "kdc")
		if err != nil {
			return err
		}
		if err := writePEM(pki.KDCCertPath, "CERTIFICATE", kdc.Cert.Raw); err != nil {
			return err
		}
		if err := writeKey(pki.KDCKeyPath, kdc.Key, ""); err != nil {
			return err
		}
		if err := writeKey(filepath.Join(dir, "cakey.pem"), pki.caKey, ""); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "done"), nil, 0o600)
	})
}

// runHeimdalKadmin runs kadmin -l with commands on standard input, one a
// line (kadmin's own command syntax), and returns its output.
func runHeimdalKadmin(conf, dir, commands string) (string, error) {
	cmd := exec.Command(heimdalKadminBin(), "-c", conf, "-l", "-r", HeimdalRealmName)
	cmd.Env = mergeEnv(os.Environ(), "KRB5_CONFIG="+conf, "LC_ALL=C")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(commands)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("krbtest: kadmin.heimdal: %w", err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		text := out.String()
		// kadmin -l reports a failed command on its output and goes on.
		if err == nil && (strings.Contains(text, "kadmin: ") || strings.Contains(text, "kadmin.heimdal: ")) {
			err = errors.New("a command failed")
		}
		if err != nil {
			return text, fmt.Errorf("krbtest: kadmin.heimdal -l: %v: %s", err, redactPasswords(text))
		}
		return text, nil
	case <-time.After(toolTimeout):
		cmd.Process.Kill()
		<-done
		return "", fmt.Errorf("krbtest: kadmin.heimdal -l timed out after %v", toolTimeout)
	}
}

// redactPasswords hides --password=... in kadmin's echoed commands.
func redactPasswords(s string) string {
	fields := strings.Fields(s)
	for i, f := range fields {
		if strings.HasPrefix(f, "--password=") {
			fields[i] = "--password=..."
		}
	}
	return strings.Join(fields, " ")
}

// loadPKI loads a PKI that NewPKI made in dir, with its CA key written to
// cakey.pem (RSA keys take long to make; templates keep them).
func loadPKI(dir, realm string) (*PKI, error) {
	p := &PKI{Dir: dir, Realm: realm, CAPath: filepath.Join(dir, "ca.pem"),
		KDCCertPath: filepath.Join(dir, "kdc.pem"), KDCKeyPath: filepath.Join(dir, "kdckey.pem")}
	ca, err := os.ReadFile(p.CAPath)
	if err != nil {
		return nil, err
	}
	key, err := os.ReadFile(filepath.Join(dir, "cakey.pem"))
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(ca)
	kb, _ := pem.Decode(key)
	if cb == nil || kb == nil {
		return nil, errors.New("krbtest: template PKI: no PEM")
	}
	if p.ca, err = x509.ParseCertificate(cb.Bytes); err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("krbtest: template PKI: CA key is no signer")
	}
	p.caKey = signer
	p.subjectKeyIDs = true
	return p, nil
}

// heimdalKDCConf is the configuration of Heimdal's kdc, kpasswdd and kadmin
// -l for a realm in dir.
func heimdalKDCConf(dir string, kdcPort, kpwPort int, pki *PKI) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[libdefaults]\n default_realm = %s\n", HeimdalRealmName)
	fmt.Fprintf(&b, "[realms]\n %s = {\n  kdc = 127.0.0.1:%d\n  kpasswd_server = 127.0.0.1:%d\n }\n", HeimdalRealmName, kdcPort, kpwPort)
	fmt.Fprintf(&b, "[kdc]\n database = {\n  dbname = %s\n  acl_file = %s\n  mkey_file = %s\n  log_file = %s\n }\n",
		filepath.Join(dir, "heimdal"), filepath.Join(dir, "kadmind.acl"), filepath.Join(dir, "m-key"), filepath.Join(dir, "iprop.log"))
	fmt.Fprintf(&b, " addresses = 127.0.0.1\n ports = %d\n", kdcPort)
	b.WriteString(" enable-fast = true\n allow-anonymous = true\n require-preauth = true\n check-ticket-addresses = false\n")
	if pki != nil {
		fmt.Fprintf(&b, " enable-pkinit = yes\n pkinit_identity = FILE:%s,%s\n pkinit_anchors = FILE:%s\n", pki.KDCCertPath, pki.KDCKeyPath, pki.CAPath)
		b.WriteString(" pkinit_allow_proxy_certificate = no\n pkinit_principal_in_certificate = yes\n pkinit_win2k_require_binding = yes\n")
	}
	fmt.Fprintf(&b, "[logging]\n kdc = FILE:%s\n kpasswdd = FILE:%s\n default = FILE:%s\n",
		filepath.Join(dir, "kdc.log"), filepath.Join(dir, "kpasswdd.log"), filepath.Join(dir, "heimdal.log"))
	return b.String()
}

// heimdalClientConf is the client krb5.conf (ours and MIT's tools).
func (h *HeimdalRealm) clientConf() string {
	return fmt.Sprintf("[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n"+
		" pkinit_anchors = FILE:%s\n\n[realms]\n %s = {\n  kdc = %s\n  kpasswd_server = %s\n }\n",
		h.Name, h.PKI.CAPath, h.Name, h.KDCAddr, h.KpasswdAddr)
}

// NewHeimdalRealm starts a Heimdal realm for one test and stops it when the
// test ends. It skips the test with one line when Heimdal is not unpacked,
// or fails it under KRBTEST_REQUIRE=1. Prefer SharedHeimdal.
func NewHeimdalRealm(tb testing.TB) *HeimdalRealm {
	tb.Helper()
	return startForTest(tb, HeimdalAvailable, StartHeimdal)
}

var sharedHeimdal sharedDaemon[*HeimdalRealm]

// SharedHeimdal returns the Heimdal realm the test binary's tests share,
// starting it on first use; CloseShared stops it. It skips or fails as
// NewHeimdalRealm does.
func SharedHeimdal(tb testing.TB) *HeimdalRealm {
	tb.Helper()
	return sharedHeimdal.get(tb, "Heimdal realm", HeimdalAvailable, StartHeimdal)
}

// StartHeimdal starts a Heimdal realm outside of a test, in a new temporary
// directory that Close removes.
func StartHeimdal() (*HeimdalRealm, error) {
	if ok, reason := HeimdalAvailable(); !ok {
		return nil, errors.New(reason)
	}
	tmpl, err := heimdalTemplate()
	if err != nil {
		return nil, fmt.Errorf("krbtest: Heimdal template database: %w", err)
	}
	begin := time.Now()
	dir, err := os.MkdirTemp("", "krbtest-heimdal-")
	if err != nil {
		return nil, err
	}
	h := &HeimdalRealm{Name: HeimdalRealmName, Dir: dir, ConfigPath: filepath.Join(dir, "krb5.conf"),
		KDCConfigPath: filepath.Join(dir, "kdc.conf")}
	fail := func(err error) (*HeimdalRealm, error) {
		h.Close()
		return nil, err
	}
	ents, err := os.ReadDir(tmpl)
	if err != nil {
		return fail(err)
	}
	for _, e := range ents {
		if name := e.Name(); strings.HasSuffix(name, ".pem") || strings.HasPrefix(name, "heimdal") && !strings.HasSuffix(name, ".log") {
			if err := copyPath(filepath.Join(tmpl, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				return fail(err)
			}
		}
	}
	if h.PKI, err = loadPKI(dir, h.Name); err != nil {
		return fail(err)
	}
	for attempt := 1; ; attempt++ {
		err := h.startOnce()
		if err == nil {
			break
		}
		if attempt == 5 {
			return fail(err)
		}
	}
	h.StartTime = time.Since(begin)
	return h, nil
}

// freeLoopbackPort returns a port free on 127.0.0.1 for UDP and TCP at the
// time of the call (Heimdal does not set SO_REUSEPORT, so it cannot be held;
// a lost race is retried by the caller).
func freeLoopbackPort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, errors.New("krbtest: no loopback port free for UDP and TCP")
}

func (h *HeimdalRealm) startOnce() error {
	kdcPort, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	kpwPort, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	h.KDCAddr = "127.0.0.1:" + strconv.Itoa(kdcPort)
	h.KpasswdAddr = "127.0.0.1:" + strconv.Itoa(kpwPort)
	if err := os.WriteFile(h.KDCConfigPath, []byte(heimdalKDCConf(h.Dir, kdcPort, kpwPort, h.PKI)), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(h.ConfigPath, []byte(h.clientConf()), 0o644); err != nil {
		return err
	}
	h.kdc, err = h.startDaemon("kdc", heimdalKDCBin(), "-c", h.KDCConfigPath, "--addresses=127.0.0.1", "-P", strconv.Itoa(kdcPort))
	if err != nil {
		return err
	}
	h.kpw, err = h.startDaemon("kpasswdd", heimdalKpasswdBin(), "-c", h.KDCConfigPath, "-r", h.Name,
		"--addresses=127.0.0.1", "-p", strconv.Itoa(kpwPort), "--keytab=FILE:"+filepath.Join(h.Dir, "heimdal-kpasswdd.keytab"))
	if err != nil {
		h.kdc.kill()
		h.kdc = nil
		return err
	}
	if err := waitTCP(h.KDCAddr, h.kdc, 5*time.Second); err != nil {
		h.stopDaemons()
		return err
	}
	if err := waitUDP(h.KpasswdAddr, h.kpw, 5*time.Second); err != nil { // kpasswdd serves UDP only
		h.stopDaemons()
		return err
	}
	return nil
}

func (h *HeimdalRealm) startDaemon(name, bin string, args ...string) (*process, error) {
	out, err := os.OpenFile(filepath.Join(h.Dir, name+".out"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = mergeEnv(os.Environ(), "KRB5_CONFIG="+h.KDCConfigPath, "LC_ALL=C")
	cmd.Dir = h.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	return startProcess(name, cmd)
}

// waitTCP waits until addr accepts TCP connections or p exits.
func waitTCP(addr string, p *process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("krbtest: %s exited while starting: %v", p.name, p.waitErr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("krbtest: %s did not listen on %s within %v", p.name, addr, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitUDP waits until a UDP socket is bound to addr (we can no longer bind
// it) or p exits.
func waitUDP(addr string, p *process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil
		}
		c.Close()
		select {
		case <-p.done:
			return fmt.Errorf("krbtest: %s exited while starting: %v", p.name, p.waitErr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("krbtest: %s did not bind %s within %v", p.name, addr, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *HeimdalRealm) stopDaemons() error {
	var errs []error
	for _, p := range []**process{&h.kpw, &h.kdc} {
		if *p != nil {
			errs = append(errs, (*p).stop(2*time.Second))
			*p = nil
		}
	}
	return errors.Join(errs...)
}

// Close stops the daemons and removes Dir.
func (h *HeimdalRealm) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	err := h.stopDaemons()
	return errors.Join(err, os.RemoveAll(h.Dir))
}

// Kadmin runs Heimdal's kadmin -l with each line of commands as one
// command (its own syntax, e.g. "add --password=pw --use-defaults alice")
// and returns the output; a command that fails fails the call.
func (h *HeimdalRealm) Kadmin(commands ...string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return runHeimdalKadmin(h.KDCConfigPath, h.Dir, strings.Join(commands, "\n")+"\n")
}

// AddPrincipal adds name with password and, when given, Heimdal's
// attributes (e.g. "requires-pre-auth", "disallow-all-tix",
// "requires-pw-change") in one kadmin call.
func (h *HeimdalRealm) AddPrincipal(name, password string, attributes ...string) error {
	cmds := []string{fmt.Sprintf("add --password=%s --use-defaults %s", password, name)}
	if len(attributes) > 0 {
		cmds = append(cmds, fmt.Sprintf("modify --attributes=%s %s", strings.Join(attributes, ","), name))
	}
	_, err := h.Kadmin(cmds...)
	return err
}

// Keytab exports the principals' current keys to a new keytab file in Dir
// and returns its path.
func (h *HeimdalRealm) Keytab(principals ...string) (string, error) {
	h.mu.Lock()
	h.seq++
	path := filepath.Join(h.Dir, fmt.Sprintf("keytab-%d", h.seq))
	h.mu.Unlock()
	_, err := h.Kadmin("ext_keytab --keytab=FILE:" + path + " " + strings.Join(principals, " "))
	return path, err
}

// Principal returns name qualified with the realm.
func (h *HeimdalRealm) Principal(name string) string { return name + "@" + h.Name }

// Env returns the environment for MIT's tools at this realm.
func (h *HeimdalRealm) Env() []string {
	return mergeEnv(os.Environ(), "KRB5_CONFIG="+h.ConfigPath, "KRB5CCNAME=FILE:"+filepath.Join(h.Dir, "ccache"), "LC_ALL=C")
}

// Command returns MIT's tool name (kinit, klist, kvno) with Env.
func (h *HeimdalRealm) Command(name string, args ...string) *exec.Cmd {
	bin, err := findTool(name)
	if err != nil {
		bin = name
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = h.Env()
	cmd.Dir = h.Dir
	return cmd
}

// Logs returns the KDC's and kpasswdd's logs, for a failing test.
func (h *HeimdalRealm) Logs() string {
	var b strings.Builder
	for _, name := range []string{"kdc.log", "kdc.out", "kpasswdd.log", "kpasswdd.out"} {
		data, _ := os.ReadFile(filepath.Join(h.Dir, name))
		fmt.Fprintf(&b, "==== %s ====\n%s\n", name, data)
	}
	return b.String()
}

// subjectKeyID is RFC 5280 §4.2.1.2's method 1: SHA-1 of the public key's
// bits.
func subjectKeyID(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:]
}
