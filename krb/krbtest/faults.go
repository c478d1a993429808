package krbtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault injection for a client's tests: a KDC that stops and comes back, a
// second KDC of the same realm for failover, a dead address and a KDC that
// never answers.

// StopKDC stops the realm's krb5kdc (SIGTERM, then SIGKILL after 5 s).
// Until RestartKDC, its address is dead: UDP requests get ICMP port
// unreachable and TCP connections are refused. kadmin.local keeps working:
// it reads the database directly.
func (r *Realm) StopKDC() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("krbtest: realm closed")
	}
	if r.proc == nil {
		return nil
	}
	err := r.proc.stop(5 * time.Second)
	r.proc = nil
	return err
}

// RestartKDC starts the realm's krb5kdc again on the same address
// (KDCAddr) after StopKDC; it does nothing when the KDC runs.
func (r *Realm) RestartKDC() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("krbtest: realm closed")
	}
	if r.proc != nil {
		return nil
	}
	return r.startKDC()
}

// KDC is another krb5kdc serving a realm's database on its own loopback
// port (AddKDC), as a realm's second KDC in krb5.conf. Close of the realm
// stops it.
type KDC struct {
	// Addr is "127.0.0.1:PORT", for UDP and TCP.
	Addr string

	r       *Realm
	profile string
	name    string // pid and output file names in the realm's Dir
	mu      sync.Mutex
	proc    *process
}

// AddKDC starts another KDC for the realm on a free port. A client config
// listing both: r.WriteClientConfig("", "kdc = "+kdc.Addr) (the realm's own
// KDC first).
func (r *Realm) AddKDC() (*KDC, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("krbtest: realm closed")
	}
	port, release, err := reservePort()
	if err != nil {
		return nil, err
	}
	defer release()
	n := len(r.kdcs) + 2
	k := &KDC{
		Addr:    net.JoinHostPort("127.0.0.1", fmt.Sprint(port)),
		r:       r,
		profile: filepath.Join(r.Dir, fmt.Sprintf("kdc%d.conf", n)),
		name:    fmt.Sprintf("krb5kdc%d", n),
	}
	// The realm's kdc.conf, listening on the new address.
	var lines []string
	for _, l := range strings.Split(r.kdcConf(), "\n") {
		switch strings.TrimSpace(strings.SplitN(l, "=", 2)[0]) {
		case "kdc_listen", "kdc_tcp_listen":
			l = strings.Replace(l, r.KDCAddr, k.Addr, 1)
		}
		lines = append(lines, l)
	}
	if err := os.WriteFile(k.profile, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	if k.proc, err = r.launchKDC(k.Addr, k.profile, k.name+".pid", k.name+".out"); err != nil {
		return nil, err
	}
	r.kdcs = append(r.kdcs, k)
	return k, nil
}

// Stop stops the KDC; Restart starts it again on the same address.
func (k *KDC) Stop() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.proc == nil {
		return nil
	}
	err := k.proc.stop(5 * time.Second)
	k.proc = nil
	return err
}

// Restart starts the KDC again on Addr after Stop; it does nothing when
// the KDC runs.
func (k *KDC) Restart() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.proc != nil {
		return nil
	}
	p, err := k.r.launchKDC(k.Addr, k.profile, k.name+".pid", k.name+".out")
	if err != nil {
		return err
	}
	k.proc = p
	return nil
}

// DeadKDCAddr returns a loopback address where nothing listens, for UDP
// or TCP: a client's request there fails at once (port unreachable,
// connection refused). Another program could bind the port later; tests
// use it at once.
func DeadKDCAddr(tb testing.TB) string {
	tb.Helper()
	port, release, err := reservePort()
	if err != nil {
		tb.Fatal(err)
	}
	release()
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
}

// StartSilentKDC listens on a loopback port for UDP and TCP, reads what
// clients send and never answers: a KDC that hangs. The test's cleanup
// closes it. Its address is returned.
func StartSilentKDC(tb testing.TB) string {
	tb.Helper()
	for range 20 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp4", addr)
		if err != nil {
			l.Close()
			continue
		}
		var wg sync.WaitGroup
		var conns sync.Map
		wg.Add(2)
		go func() { // read datagrams, answer none
			defer wg.Done()
			buf := make([]byte, 65536)
			for {
				if _, _, err := u.ReadFrom(buf); err != nil {
					return
				}
			}
		}()
		go func() { // accept connections, read, answer nothing
			defer wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				conns.Store(c, true)
				go func() {
					buf := make([]byte, 4096)
					for {
						if _, err := c.Read(buf); err != nil {
							return
						}
					}
				}()
			}
		}()
		tb.Cleanup(func() {
			u.Close()
			l.Close()
			conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
			wg.Wait()
		})
		return addr
	}
	tb.Fatal("krbtest: no port free for both UDP and TCP")
	return ""
}
