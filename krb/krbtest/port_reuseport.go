//go:build linux || darwin || freebsd || netbsd || openbsd

package krbtest

import (
	"errors"
	"fmt"
	"syscall"
)

// reservePort picks a free port on 127.0.0.1 for both UDP and TCP and keeps
// it bound until release is called. krb5kdc sets SO_REUSEPORT on its
// sockets, and so do these placeholder sockets, so the KDC can bind the port
// while it is held. Holding it closes the window in which another process
// (say another test binary starting its own realm) could pick the same port:
// two krb5kdc processes on one port would both bind it and share its
// traffic. The TCP placeholder never listens, so connections reach only the
// KDC.
func reservePort() (port int, release func(), err error) {
	var lastErr error
	for range 50 {
		tcp, err := reuseportSocket(syscall.SOCK_STREAM, 0)
		if err != nil {
			return 0, nil, err
		}
		sa, err := syscall.Getsockname(tcp)
		if err != nil {
			syscall.Close(tcp)
			return 0, nil, fmt.Errorf("krbtest: getsockname: %w", err)
		}
		port = sa.(*syscall.SockaddrInet4).Port
		udp, err := reuseportSocket(syscall.SOCK_DGRAM, port)
		if err != nil {
			syscall.Close(tcp)
			if errors.Is(err, syscall.EADDRINUSE) {
				lastErr = err
				continue
			}
			return 0, nil, err
		}
		return port, func() {
			syscall.Close(tcp)
			syscall.Close(udp)
		}, nil
	}
	return 0, nil, fmt.Errorf("krbtest: no port free for both UDP and TCP: %w", lastErr)
}

// reuseportSocket returns a close-on-exec socket with SO_REUSEPORT bound to
// 127.0.0.1:port.
func reuseportSocket(typ, port int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(syscall.AF_INET, typ, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, fmt.Errorf("krbtest: socket: %w", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, soReusePort, 1); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("krbtest: SO_REUSEPORT: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("krbtest: bind 127.0.0.1:%d: %w", port, err)
	}
	return fd, nil
}
