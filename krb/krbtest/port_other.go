//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package krbtest

import (
	"fmt"
	"net"
)

// reservePort picks a port free on 127.0.0.1 for both UDP and TCP. On this
// platform it cannot keep the port while krb5kdc binds it; release is a
// no-op.
func reservePort() (port int, release func(), err error) {
	var lastErr error
	for range 50 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, nil, fmt.Errorf("krbtest: %w", err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err != nil {
			lastErr = err
			continue
		}
		u.Close()
		return port, func() {}, nil
	}
	return 0, nil, fmt.Errorf("krbtest: no port free for both UDP and TCP: %w", lastErr)
}
