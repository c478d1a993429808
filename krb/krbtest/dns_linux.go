package krbtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// ResolvConfCommand returns cmd changed to run in a private mount
// namespace where /etc/resolv.conf names only this server (which must come
// from StartDNSPort53: resolv.conf has no port), so that a program using
// the system's resolver (MIT's libkrb5, or Go's) asks it. The machine's own
// resolv.conf is untouched. It needs root, as StartDNSPort53 does.
func (s *DNSServer) ResolvConfCommand(cmd *exec.Cmd) (*exec.Cmd, error) {
	if !s.port53 {
		return nil, fmt.Errorf("krbtest: ResolvConfCommand needs a server from StartDNSPort53")
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	rc := filepath.Join(s.Dir, "resolv.conf")
	if err := os.WriteFile(rc, []byte("nameserver "+host+"\noptions attempts:1 timeout:2\n"), 0o644); err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	target, err := filepath.EvalSymlinks("/etc/resolv.conf")
	if err != nil {
		target = "/etc/resolv.conf"
	}
	wrapped := exec.Command("/bin/sh", append([]string{"-c", `mount --bind "$1" "$2" && shift 2 && exec "$@"`, "resolvconf", rc, target, cmd.Path}, cmd.Args[1:]...)...)
	wrapped.Env, wrapped.Dir = cmd.Env, cmd.Dir
	wrapped.Stdin, wrapped.Stdout, wrapped.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	attr := sysProcAttr()
	attr.Unshareflags = syscall.CLONE_NEWNS // Go makes the new namespace's mounts private
	wrapped.SysProcAttr = attr
	return wrapped, nil
}
