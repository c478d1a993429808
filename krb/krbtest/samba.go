package krbtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Samba's Active Directory domain controller as a test realm: the closest
// thing to Active Directory's KDC that runs here (Samba's KDC is its
// embedded Heimdal with AD's account rules, PAC and UPNs).
//
// Provisioning a domain takes from seconds to minutes, and every samba-tool
// or python call several seconds, so a template domain with every account
// the tests use is provisioned once per machine in the user's cache
// directory; each realm copies it (only smb.conf holds absolute paths),
// gives the KDC and kpasswd free ports (smb.conf's "krb5 port" and
// "kpasswd port") and runs "samba -i -M single" with only the kdc service,
// on loopback.

// Names of the Samba domain.
const (
	SambaRealmName  = "AD.EXAMPLE.TEST"
	SambaDNSDomain  = "ad.example.test"
	SambaUPNSuffix  = "upn.example.test" // an alternative UPN suffix (SambaUPNUser)
	SambaPassword   = "Krbtest-Pass-1"   // every account's password; no secret
	sambaDomain     = "ADEX"
	sambaAdminPass  = "Krbtest-Admin-1"
	sambaTemplateV  = "samba-template-v2"
	sambaInstallTip = "apt-get install samba samba-ad-dc samba-ad-provision samba-dsdb-modules winbind (scripts/install-deps)"
)

// The template domain's accounts (password SambaPassword unless said).
const (
	SambaUser             = "alice" // an ordinary user; a keytab of it is in Keytab("alice")
	SambaOtherUser        = "bob"   // an ordinary user; its keytab is Keytab("bob")
	SambaUPNUser          = "carol" // userPrincipalName carol@SambaUPNSuffix
	SambaMustChange       = "eve"   // must change password at next logon (KDC_ERR_KEY_EXPIRED)
	SambaDisabled         = "dave"  // account disabled
	SambaExpired          = "frank" // account expired (accountExpires in the past)
	SambaLockable         = "gina"  // for lockout: the domain locks after SambaLockoutThreshold bad passwords
	SambaManyGroups       = "henry" // member of SambaGroupCount groups: its PAC makes the AS-REP too big for UDP
	SambaWrongPassword    = "ivan"  // for wrong-password tests
	SambaGroupCount       = 250     // groups of SambaManyGroups
	SambaLockoutThreshold = 4
)

// sambaTemplateScript adds the accounts to a freshly provisioned domain
// (python3 with Samba's bindings; argv: smb.conf, sam.ldb).
const sambaTemplateScript = `
import sys, time, ldb
from samba.samdb import SamDB
from samba.auth import system_session
from samba.param import LoadParm
lp = LoadParm(); lp.load(sys.argv[1])
db = SamDB(url=sys.argv[2], session_info=system_session(), lp=lp)
pw = sys.argv[3]
dom = str(db.domain_dn())
# No ageing, complexity or history: a template must not expire, and a test
# changes passwords at will. Lockout after a few bad passwords, for ever.
m = ldb.Message(); m.dn = ldb.Dn(db, dom)
for k, v in {"maxPwdAge": "-9223372036854775808", "minPwdAge": "0", "pwdProperties": "0",
             "minPwdLength": "0", "pwdHistoryLength": "0", "lockoutThreshold": sys.argv[5],
             "lockoutDuration": "-9223372036854775808", "lockOutObservationWindow": "-18000000000"}.items():
    m[k] = ldb.MessageElement(v, ldb.FLAG_MOD_REPLACE, k)
db.modify(m)
for u in ["alice", "bob", "carol", "dave", "frank", "gina", "henry", "ivan"]:
    db.newuser(u, pw)
db.newuser("eve", pw, force_password_change_at_next_login_req=True)
db.newuser("eve2", pw, force_password_change_at_next_login_req=True)
db.disable_account("(sAMAccountName=dave)")
def setattr(user, k, v):
    res = db.search(dom, expression="(sAMAccountName=%s)" % user, attrs=["dn"])
    m = ldb.Message(); m.dn = res[0].dn
    m[k] = ldb.MessageElement(v, ldb.FLAG_MOD_REPLACE, k)
    db.modify(m)
setattr("carol", "userPrincipalName", "carol@" + sys.argv[4])
setattr("frank", "accountExpires", str(116444736000000000 + (int(time.time()) - 86400 * 2) * 10000000))
part = "CN=Partitions,CN=Configuration," + dom
m = ldb.Message(); m.dn = ldb.Dn(db, part)
m["uPNSuffixes"] = ldb.MessageElement(sys.argv[4], ldb.FLAG_MOD_ADD, "uPNSuffixes")
db.modify(m)
for i in range(int(sys.argv[6])):
    g = "krbtest-group-%03d" % i
    db.newgroup(g)
    db.add_remove_group_members(g, ["henry"], add_members_operation=True)
`

// sambaPython is the python3 that samba-tool runs with (its shebang).
func sambaPython() string {
	tool, err := exec.LookPath("samba-tool")
	if err != nil {
		return "python3"
	}
	data, err := os.ReadFile(tool)
	if err != nil {
		return "python3"
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	if f := strings.Fields(strings.TrimPrefix(string(line), "#!")); len(f) > 0 && filepath.IsAbs(f[0]) {
		return f[0]
	}
	return "python3"
}

// sambaBin finds samba, which Debian puts in /usr/sbin.
func sambaBin() (string, error) {
	if p, err := exec.LookPath("samba"); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/local/samba/sbin"} {
		if p := filepath.Join(d, "samba"); isExecutable(p) {
			return p, nil
		}
	}
	return "", errors.New("krbtest: Samba's samba not found; " + sambaInstallTip)
}

// SambaAvailable reports whether Samba's AD DC (samba, samba-tool and its
// python bindings) is installed and, if not, a one-line reason.
func SambaAvailable() (bool, string) {
	if _, err := sambaBin(); err != nil {
		return false, err.Error()
	}
	if _, err := exec.LookPath("samba-tool"); err != nil {
		return false, "krbtest: samba-tool not found; " + sambaInstallTip
	}
	if _, err := os.Stat("/usr/share/samba/setup"); err != nil {
		return false, "krbtest: Samba's provisioning files are missing; " + sambaInstallTip
	}
	return true, ""
}

// sambaTemplateDir returns the per-machine template domain, provisioning it
// on first use (seconds to minutes; other test binaries wait on a lock).
func sambaTemplateDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "gokinit", sambaTemplateV)
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", err
	}
	return dir, withFileLock(dir+".lock", func() error {
		if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
			return nil
		}
		os.RemoveAll(dir)
		if err := provisionSamba(dir); err != nil {
			os.RemoveAll(dir)
			return err
		}
		return os.WriteFile(filepath.Join(dir, "done"), nil, 0o600)
	})
}

func provisionSamba(dir string) error {
	for _, d := range sambaRunDirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	args := []string{"domain", "provision", "--realm=" + SambaRealmName, "--domain=" + sambaDomain,
		"--server-role=dc", "--dns-backend=NONE", "--adminpass=" + sambaAdminPass,
		"--targetdir=" + dir, "--option=interfaces=lo", "--option=bind interfaces only=yes",
		"--option=server services=kdc",
		"--option=pid directory=" + filepath.Join(dir, "pid"),
		"--option=ncalrpc dir=" + filepath.Join(dir, "ncalrpc"),
		"--option=winbindd socket directory=" + filepath.Join(dir, "winbindd"),
		"--option=ntp signd socket directory=" + filepath.Join(dir, "ntp_signd"),
		"--option=cache directory=" + filepath.Join(dir, "cache"),
		"--option=log file=" + filepath.Join(dir, "log", "samba.log"),
	}
	if out, err := runQuiet(10*time.Minute, nil, "samba-tool", args...); err != nil {
		return fmt.Errorf("krbtest: samba-tool domain provision: %v: %s", err, tail(out))
	}
	conf := filepath.Join(dir, "etc", "smb.conf")
	sam := filepath.Join(dir, "private", "sam.ldb")
	if out, err := runQuiet(10*time.Minute, strings.NewReader(sambaTemplateScript), sambaPython(), "-", conf, sam,
		SambaPassword, SambaUPNSuffix, strconv.Itoa(SambaLockoutThreshold), strconv.Itoa(SambaGroupCount)); err != nil {
		return fmt.Errorf("krbtest: adding the template accounts: %v: %s", err, tail(out))
	}
	for _, u := range []string{SambaUser, SambaOtherUser} {
		kt := filepath.Join(dir, "keytab-"+u)
		if out, err := runQuiet(5*time.Minute, nil, "samba-tool", "domain", "exportkeytab", kt,
			"--principal="+u+"@"+SambaRealmName, "-s", conf); err != nil {
			return fmt.Errorf("krbtest: samba-tool domain exportkeytab: %v: %s", err, tail(out))
		}
	}
	return nil
}

// sambaRunDirs are the directories smb.conf names that provisioning does
// not make.
var sambaRunDirs = []string{"pid", "ncalrpc", "winbindd", "ntp_signd", "cache", "log"}

func runQuiet(timeout time.Duration, stdin io.Reader, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdin = stdin
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = mergeEnv(os.Environ(), "LC_ALL=C")
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("timed out after %v", timeout)
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

// SambaRealm is a running Samba AD DC (its KDC and kpasswd only) for the
// domain SambaRealmName, with the template's accounts. Its exported fields
// are read-only.
type SambaRealm struct {
	// Name is SambaRealmName.
	Name string
	// Dir holds the domain's copy, logs and keytabs.
	Dir string
	// ConfigPath is a client krb5.conf for the realm (KDC and kpasswd
	// addresses), for our library and MIT's tools.
	ConfigPath string
	// SMBConf is the DC's smb.conf.
	SMBConf string
	// KDCAddr and KpasswdAddr are "127.0.0.1:PORT" (UDP and TCP).
	KDCAddr, KpasswdAddr string
	// StartTime is how long Start took, template copy to answering KDC.
	StartTime time.Duration

	mu     sync.Mutex
	proc   *process
	stdin  io.WriteCloser // samba -i stops when its standard input closes
	closed bool
}

// NewSambaRealm starts a Samba AD realm for one test and stops it when the
// test ends. It skips the test with one line when Samba is not installed,
// or fails it under KRBTEST_REQUIRE=1. Prefer SharedSamba.
func NewSambaRealm(tb testing.TB) *SambaRealm {
	tb.Helper()
	return startForTest(tb, SambaAvailable, StartSamba)
}

var sharedSamba sharedDaemon[*SambaRealm]

// SharedSamba returns the Samba realm the test binary's tests share,
// starting it on first use; CloseShared stops it.
func SharedSamba(tb testing.TB) *SambaRealm {
	tb.Helper()
	return sharedSamba.get(tb, "Samba realm", SambaAvailable, StartSamba)
}

// StartSamba starts a Samba AD realm outside of a test, in a new temporary
// directory that Close removes.
func StartSamba() (*SambaRealm, error) {
	if ok, reason := SambaAvailable(); !ok {
		return nil, errors.New(reason)
	}
	tmpl, err := sambaTemplateDir()
	if err != nil {
		return nil, fmt.Errorf("krbtest: Samba template domain: %w", err)
	}
	begin := time.Now()
	dir, err := os.MkdirTemp("", "krbtest-samba-")
	if err != nil {
		return nil, err
	}
	s := &SambaRealm{Name: SambaRealmName, Dir: dir, ConfigPath: filepath.Join(dir, "krb5.conf"),
		SMBConf: filepath.Join(dir, "etc", "smb.conf")}
	fail := func(err error) (*SambaRealm, error) {
		s.Close()
		return nil, err
	}
	if err := copyPath(tmpl, dir); err != nil {
		return fail(err)
	}
	conf, err := os.ReadFile(filepath.Join(tmpl, "etc", "smb.conf"))
	if err != nil {
		return fail(err)
	}
	conf = bytes.ReplaceAll(conf, []byte(tmpl), []byte(dir))
	for attempt := 1; ; attempt++ {
		err := s.startOnce(conf)
		if err == nil {
			break
		}
		if attempt == 3 {
			return fail(err)
		}
	}
	s.StartTime = time.Since(begin)
	return s, nil
}

func (s *SambaRealm) startOnce(conf []byte) error {
	kdcPort, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	kpwPort, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	s.KDCAddr = "127.0.0.1:" + strconv.Itoa(kdcPort)
	s.KpasswdAddr = "127.0.0.1:" + strconv.Itoa(kpwPort)
	ports := fmt.Sprintf("[global]\n\tkrb5 port = %d\n\tkpasswd port = %d\n", kdcPort, kpwPort)
	c := bytes.Replace(conf, []byte("[global]\n"), []byte(ports), 1)
	if err := os.WriteFile(s.SMBConf, c, 0o600); err != nil {
		return err
	}
	client := fmt.Sprintf("[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n\n"+
		"[realms]\n %s = {\n  kdc = %s\n  kpasswd_server = %s\n }\n\n[domain_realm]\n .%s = %s\n %s = %s\n",
		s.Name, s.Name, s.KDCAddr, s.KpasswdAddr, SambaDNSDomain, s.Name, SambaDNSDomain, s.Name)
	if err := os.WriteFile(s.ConfigPath, []byte(client), 0o644); err != nil {
		return err
	}
	bin, err := sambaBin()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(filepath.Join(s.Dir, "samba.out"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(bin, "-i", "-M", "single", "--debug-stdout", "-d", "1", "-s", s.SMBConf)
	cmd.Env = mergeEnv(os.Environ(), "LC_ALL=C")
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	p, err := startProcess("samba", cmd)
	if err != nil {
		stdin.Close()
		return err
	}
	if err := waitTCP(s.KDCAddr, p, 20*time.Second); err != nil {
		stdin.Close()
		p.kill()
		return err
	}
	s.proc, s.stdin = p, stdin
	return nil
}

// Close stops samba and removes Dir.
func (s *SambaRealm) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.proc != nil {
		s.stdin.Close()
		err = s.proc.stop(5 * time.Second)
	}
	return errors.Join(err, os.RemoveAll(s.Dir))
}

// Keytab returns the path of the template's keytab for SambaUser or
// SambaOtherUser.
func (s *SambaRealm) Keytab(user string) string { return filepath.Join(s.Dir, "keytab-"+user) }

// Principal returns name qualified with the realm.
func (s *SambaRealm) Principal(name string) string { return name + "@" + s.Name }

// Python runs script with Samba's python bindings against the running
// domain's database; the script gets db (a SamDB) and dom (the domain DN).
// Each call takes seconds: prefer the template's accounts.
func (s *SambaRealm) Python(script string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	prelude := "import sys, ldb\nfrom samba.samdb import SamDB\nfrom samba.auth import system_session\nfrom samba.param import LoadParm\n" +
		"lp = LoadParm(); lp.load(sys.argv[1])\ndb = SamDB(url=sys.argv[2], session_info=system_session(), lp=lp)\ndom = str(db.domain_dn())\n"
	out, err := runQuiet(2*time.Minute, strings.NewReader(prelude+script), sambaPython(), "-", s.SMBConf,
		filepath.Join(s.Dir, "private", "sam.ldb"))
	if err != nil {
		return fmt.Errorf("krbtest: samba python: %v: %s", err, tail(out))
	}
	return nil
}

// Env returns the environment for MIT's tools at this realm.
func (s *SambaRealm) Env() []string {
	return mergeEnv(os.Environ(), "KRB5_CONFIG="+s.ConfigPath, "KRB5CCNAME=FILE:"+filepath.Join(s.Dir, "ccache"), "LC_ALL=C")
}

// Command returns MIT's tool name (kinit, klist, kvno) with Env.
func (s *SambaRealm) Command(name string, args ...string) *exec.Cmd {
	bin, err := findTool(name)
	if err != nil {
		bin = name
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = s.Env()
	cmd.Dir = s.Dir
	return cmd
}

// Logs returns samba's output, for a failing test.
func (s *SambaRealm) Logs() string {
	data, _ := os.ReadFile(filepath.Join(s.Dir, "samba.out"))
	return "==== samba.out ====\n" + tail(string(data))
}
