package krbtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sssd-kcm, the KCM daemon of Fedora and RHEL hosts (default_ccache_name =
// KCM:), for tests of KCM credential caches. Debian's sssd-kcm has its
// socket (/var/run/.heim_org.h5l.kcm-socket) and state (/var/lib/sss)
// compiled in, so StartKCM runs it in a private mount namespace with
// temporary directories bind-mounted over both: every daemon has its own
// caches and its socket appears, seen from outside, in the daemon's Dir.
// As root that is a mount namespace; otherwise also a user namespace in
// which the current user is root (the kernel must allow unprivileged user
// namespaces).

// Heimdal's kcm (package heimdal-kcm, unpacked into HeimdalRoot beside its
// KDC) binds the same compiled-in socket, whatever --socket-path says, and
// keeps its caches in memory; StartHeimdalKCM runs it the same way.

// kcmPaths are sssd-kcm's binary and its compiled-in directories.
var kcmPaths = struct {
	binary, runDir, stateDir, socketName string
}{"/usr/libexec/sssd/sssd_kcm", "/var/run", "/var/lib/sss", ".heim_org.h5l.kcm-socket"}

const kcmInstallHint = "apt-get install sssd-kcm"

// KCM is a running sssd-kcm.
type KCM struct {
	// Socket is the daemon's socket: krb5.conf's kcm_socket (see Libdefaults).
	Socket string
	// Dir holds the daemon's bind-mounted directories and its output.
	Dir  string
	proc *process
}

// KCMAvailable reports whether StartKCM can run, and if not a one-line reason.
func KCMAvailable() (ok bool, reason string) {
	return kcmAvailable("sssd-kcm", kcmPaths.binary, kcmInstallHint)
}

func heimdalKCMBin() string { return filepath.Join(HeimdalRoot(), "usr/sbin/kcm") }

// HeimdalKCMAvailable reports whether StartHeimdalKCM can run, and if not a
// one-line reason.
func HeimdalKCMAvailable() (ok bool, reason string) {
	return kcmAvailable("Heimdal's kcm", heimdalKCMBin(), "run scripts/install-deps (it unpacks heimdal-kcm into "+HeimdalRoot()+")")
}

func kcmAvailable(what, bin, hint string) (bool, string) {
	if runtime.GOOS != "linux" {
		return false, "krbtest: " + what + " runs on Linux only here"
	}
	if !isExecutable(bin) {
		return false, "krbtest: " + what + " not found (" + bin + "); " + hint
	}
	return true, ""
}

// NewKCM starts an sssd-kcm for the test and stops it at cleanup. It skips
// the test (or fails it under KRBTEST_REQUIRE=1) when KCMAvailable says no.
func NewKCM(tb testing.TB) *KCM {
	tb.Helper()
	if ok, reason := KCMAvailable(); !ok {
		SkipOrFail(tb, reason)
	}
	k, err := StartKCM()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { k.Close() })
	return k
}

// NewHeimdalKCM is NewKCM with Heimdal's kcm.
func NewHeimdalKCM(tb testing.TB) *KCM {
	tb.Helper()
	if ok, reason := HeimdalKCMAvailable(); !ok {
		SkipOrFail(tb, reason)
	}
	k, err := StartHeimdalKCM()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { k.Close() })
	return k
}

// StartKCM starts sssd-kcm (as uid 0, logging to Dir/sssd_kcm.out) and waits
// until its socket accepts connections. The caller must Close it.
func StartKCM() (*KCM, error) {
	if ok, reason := KCMAvailable(); !ok {
		return nil, errors.New(reason)
	}
	return startKCM("sssd_kcm", kcmPaths.binary+" --uid 0 --gid 0 --logger=stderr")
}

// StartHeimdalKCM starts Heimdal's kcm as StartKCM starts sssd-kcm.
func StartHeimdalKCM() (*KCM, error) {
	if ok, reason := HeimdalKCMAvailable(); !ok {
		return nil, errors.New(reason)
	}
	return startKCM("kcm", shellQuote(heimdalKCMBin()))
}

func startKCM(name, command string) (*KCM, error) {
	dir, err := os.MkdirTemp("", "krbtest-kcm-")
	if err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	k := &KCM{Dir: dir, Socket: filepath.Join(dir, "run", kcmPaths.socketName)}
	for _, d := range []string{"run", "lib/secrets", "lib/db", "lib/pipes/private", "lib/mc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("krbtest: %w", err)
		}
	}
	runDir, err := filepath.EvalSymlinks(kcmPaths.runDir)
	if err != nil {
		runDir = kcmPaths.runDir
	}
	out, err := os.Create(filepath.Join(dir, name+".out"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	defer out.Close()
	script := fmt.Sprintf("mount --bind %s %s && mount --bind %s %s && exec %s",
		shellQuote(filepath.Join(dir, "run")), shellQuote(runDir),
		shellQuote(filepath.Join(dir, "lib")), shellQuote(kcmPaths.stateDir), command)
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Stdout, cmd.Stderr = out, out
	attr := sysProcAttr()
	if os.Geteuid() == 0 {
		attr.Unshareflags = syscall.CLONE_NEWNS // Go makes the new namespace's mounts private
	} else {
		// Not root: a user namespace where this user is root, so the
		// daemon may mount; the kernel shows its clients' uid (ours) to
		// it as 0, which is what --uid 0 expects.
		attr.Cloneflags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	cmd.SysProcAttr = attr
	p, err := startProcess(name, cmd)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	k.proc = p
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("unix", k.Socket)
		if err == nil {
			c.Close()
			return k, nil
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(out.Name())
			os.RemoveAll(dir)
			return nil, fmt.Errorf("krbtest: %s exited: %v: %s", name, p.waitErr, strings.TrimSpace(string(b)))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			k.Close()
			return nil, fmt.Errorf("krbtest: %s did not listen on %s within 15s", name, k.Socket)
		}
	}
}

// Libdefaults returns the krb5.conf line that points clients at this
// daemon, for WithClientLibdefaults, WithKrb5Conf or WriteClientConfig.
func (k *KCM) Libdefaults() string {
	return "kcm_socket = " + k.Socket
}

// Close stops the daemon and removes Dir.
func (k *KCM) Close() error {
	var err error
	if k.proc != nil {
		err = k.proc.stop(5 * time.Second)
		k.proc = nil
	}
	return errors.Join(err, os.RemoveAll(k.Dir))
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
