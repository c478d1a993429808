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
// That takes root (CAP_SYS_ADMIN), as sssd-kcm itself expects.

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
	if runtime.GOOS != "linux" {
		return false, "krbtest: sssd-kcm runs on Linux only"
	}
	if !isExecutable(kcmPaths.binary) {
		return false, "krbtest: sssd-kcm not found (" + kcmPaths.binary + "); " + kcmInstallHint
	}
	if os.Geteuid() != 0 {
		return false, "krbtest: sssd-kcm needs root for its private mount namespace"
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

// StartKCM starts sssd-kcm (as uid 0, logging to Dir/sssd_kcm.out) and waits
// until its socket accepts connections. The caller must Close it.
func StartKCM() (*KCM, error) {
	if ok, reason := KCMAvailable(); !ok {
		return nil, errors.New(reason)
	}
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
	out, err := os.Create(filepath.Join(dir, "sssd_kcm.out"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	defer out.Close()
	script := fmt.Sprintf("mount --bind %s %s && mount --bind %s %s && exec %s --uid 0 --gid 0 --logger=stderr",
		shellQuote(filepath.Join(dir, "run")), shellQuote(runDir),
		shellQuote(filepath.Join(dir, "lib")), shellQuote(kcmPaths.stateDir), kcmPaths.binary)
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Stdout, cmd.Stderr = out, out
	attr := sysProcAttr()
	attr.Unshareflags = syscall.CLONE_NEWNS // Go makes the new namespace's mounts private
	cmd.SysProcAttr = attr
	p, err := startProcess("sssd_kcm", cmd)
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
			return nil, fmt.Errorf("krbtest: sssd_kcm exited: %v: %s", p.waitErr, strings.TrimSpace(string(b)))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			k.Close()
			return nil, fmt.Errorf("krbtest: sssd_kcm did not listen on %s within 15s", k.Socket)
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
