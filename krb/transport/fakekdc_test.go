package transport

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/require"
)

// behaviour scripts how a fake KDC treats a request on one transport. Real
// KDCs do not misbehave on purpose, hence the fake.
type behaviour int

const (
	answer          behaviour = iota // reply "reply from NAME"
	garbage                          // reply bytes that are no Kerberos message
	garbageKRBErr                    // reply 0x7e followed by junk
	empty                            // reply with zero bytes
	silent                           // read the request, never answer (TCP: hold the connection)
	closeConn                        // TCP: read the request, close without a reply
	truncated                        // TCP: prefix promises 100 bytes, 10 are sent, then close
	highBitPrefix                    // TCP: length prefix 0x80000000
	oversizedPrefix                  // TCP: length prefix 5 MiB
	tooBig                           // KRB-ERROR KRB_ERR_RESPONSE_TOO_BIG
	svcUnavailable                   // KRB-ERROR KDC_ERR_SVC_UNAVAILABLE
	answerSecond                     // UDP: ignore the first datagram, answer the next
	slowAnswer                       // answer after kdc.delay
)

// fakeKDC listens on 127.0.0.1 (or ::1) on one port number for both UDP and
// TCP, like a real KDC on port 88.
type fakeKDC struct {
	t        testing.TB
	name     string
	udp, tcp behaviour
	delay    time.Duration // for slowAnswer

	uc      *net.UDPConn
	ln      *net.TCPListener
	port    int
	host    string
	udpReqs atomic.Int32
	tcpReqs atomic.Int32

	mu   sync.Mutex
	reqs [][]byte // every request received, either transport

	done chan struct{}
	wg   sync.WaitGroup
}

// startKDC starts a fake KDC on 127.0.0.1 that is stopped at test cleanup.
func startKDC(t testing.TB, name string, udp, tcp behaviour) *fakeKDC {
	return startKDCOn(t, "127.0.0.1", name, udp, tcp, 150*time.Millisecond)
}

// startKDCDelay starts a fake KDC whose slowAnswer waits delay.
func startKDCDelay(t testing.TB, name string, udp, tcp behaviour, delay time.Duration) *fakeKDC {
	return startKDCOn(t, "127.0.0.1", name, udp, tcp, delay)
}

func startKDCOn(t testing.TB, host, name string, udp, tcp behaviour, delay time.Duration) *fakeKDC {
	t.Helper()
	k := &fakeKDC{t: t, name: name, udp: udp, tcp: tcp, host: host, delay: delay, done: make(chan struct{})}
	k.ln, k.uc = listenBoth(t, host)
	k.port = k.ln.Addr().(*net.TCPAddr).Port
	k.wg.Add(2)
	go k.serveUDP()
	go k.serveTCP()
	t.Cleanup(func() {
		close(k.done)
		k.uc.Close()
		k.ln.Close()
		k.wg.Wait()
	})
	return k
}

// listenBoth binds TCP and UDP to the same free port of host.
func listenBoth(t testing.TB, host string) (*net.TCPListener, *net.UDPConn) {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		require.NoError(t, err)
		port := ln.Addr().(*net.TCPAddr).Port
		uc, err := net.ListenPacket("udp", net.JoinHostPort(host, fmt.Sprint(port)))
		if err == nil {
			return ln.(*net.TCPListener), uc.(*net.UDPConn)
		}
		ln.Close()
	}
	t.Fatal("no port free for both UDP and TCP")
	return nil, nil
}

// deadAddr returns host:port of a 127.0.0.1 port nobody listens on, over
// UDP or TCP: datagrams draw ICMP port unreachable, connects a RST.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, uc := listenBoth(t, "127.0.0.1")
	addr := ln.Addr().String()
	ln.Close()
	uc.Close()
	return addr
}

func (k *fakeKDC) addr() string { return net.JoinHostPort(k.host, fmt.Sprint(k.port)) }

func (k *fakeKDC) reply() []byte { return []byte("reply from " + k.name) }

func (k *fakeKDC) requests() [][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([][]byte(nil), k.reqs...)
}

func (k *fakeKDC) record(req []byte) {
	k.mu.Lock()
	k.reqs = append(k.reqs, bytes.Clone(req))
	k.mu.Unlock()
}

// response returns what behaviour b sends (nil: send nothing).
func (k *fakeKDC) response(b behaviour) []byte {
	switch b {
	case answer, answerSecond, slowAnswer:
		return k.reply()
	case garbage:
		return []byte("\x01\x02 not kerberos")
	case garbageKRBErr:
		return []byte{0x7e, 0x05, 0xff, 0x00, 0x13}
	case empty:
		return []byte{}
	case tooBig:
		return krbErrorBytes(k.t, codeResponseTooBig)
	case svcUnavailable:
		return krbErrorBytes(k.t, codeSvcUnavailable)
	}
	return nil
}

func (k *fakeKDC) serveUDP() {
	defer k.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := k.uc.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		k.record(buf[:n])
		count := k.udpReqs.Add(1)
		out := k.response(k.udp)
		switch {
		case out == nil, k.udp == answerSecond && count == 1:
			continue
		case k.udp == slowAnswer:
			k.wg.Add(1)
			go func() {
				defer k.wg.Done()
				select {
				case <-time.After(k.delay):
					k.uc.WriteToUDPAddrPort(out, from)
				case <-k.done:
				}
			}()
			continue
		}
		k.uc.WriteToUDPAddrPort(out, from)
	}
}

func (k *fakeKDC) serveTCP() {
	defer k.wg.Done()
	for {
		c, err := k.ln.Accept()
		if err != nil {
			return
		}
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			defer c.Close()
			k.serveConn(c)
		}()
	}
}

func (k *fakeKDC) serveConn(c net.Conn) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var prefix [4]byte
	if _, err := io.ReadFull(c, prefix[:]); err != nil {
		return
	}
	req := make([]byte, binary.BigEndian.Uint32(prefix[:]))
	if _, err := io.ReadFull(c, req); err != nil {
		return
	}
	k.record(req)
	k.tcpReqs.Add(1)

	switch k.tcp {
	case silent:
		<-k.done
	case closeConn:
	case truncated:
		c.Write(append([]byte{0, 0, 0, 100}, "0123456789"...))
	case highBitPrefix:
		c.Write([]byte{0x80, 0, 0, 0, 'x'})
	case oversizedPrefix:
		c.Write(binary.BigEndian.AppendUint32(nil, 5<<20))
	case slowAnswer:
		select {
		case <-time.After(k.delay):
		case <-k.done:
			return
		}
		writeTCPRequest(c, k.reply())
	default:
		writeTCPRequest(c, k.response(k.tcp))
	}
}

func krbErrorBytes(t testing.TB, code int32) []byte {
	sname := types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "krbtgt/EXAMPLE.COM")
	e := messages.NewKRBError(sname, "EXAMPLE.COM", code, "from the fake KDC")
	b, err := e.Marshal()
	if err != nil {
		t.Errorf("marshal KRB-ERROR: %v", err)
	}
	return b
}

// testConfig returns a krb5.conf with realm's kdc lines and extra
// [libdefaults] lines.
func testConfig(t testing.TB, realm string, kdcs []string, libdefaults ...string) *config.Config {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[libdefaults]\n default_realm = %s\n", realm)
	for _, l := range libdefaults {
		fmt.Fprintf(&b, " %s\n", l)
	}
	fmt.Fprintf(&b, "[realms]\n %s = {\n", realm)
	for _, k := range kdcs {
		fmt.Fprintf(&b, "  kdc = %s\n", k)
	}
	b.WriteString(" }\n")
	cfg, err := config.NewFromString(b.String())
	require.NoError(t, err)
	return cfg
}

// traceLog collects Trace lines (and logs them).
type traceLog struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
}

func (l *traceLog) trace(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	l.t.Log(time.Now().Format("05.000"), "trace: "+line)
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

func (l *traceLog) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// newTestClient returns a client for kdcs of EXAMPLE.COM with tracing.
func newTestClient(t *testing.T, kdcs []string, libdefaults ...string) (*Client, *traceLog) {
	c := New(testConfig(t, "EXAMPLE.COM", kdcs, libdefaults...))
	tl := &traceLog{t: t}
	c.Trace = tl.trace
	return c, tl
}

// fakeResolver answers SRV and host lookups from maps, without DNS.
type fakeResolver struct {
	srv   map[string][]*net.SRV // by proto: "udp", "tcp"
	hosts map[string][]netip.Addr
	calls atomic.Int32
}

func (r *fakeResolver) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	r.calls.Add(1)
	if service != "kerberos" {
		return "", nil, fmt.Errorf("unexpected service %q", service)
	}
	recs, ok := r.srv[proto]
	if !ok {
		return "", nil, &net.DNSError{Err: "no such host", Name: "_kerberos._" + proto + "." + name, IsNotFound: true}
	}
	return "_kerberos._" + proto + "." + name + ".", recs, nil
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, ok := r.hosts[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}
