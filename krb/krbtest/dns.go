package krbtest

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// DNSAvailable reports whether a DNS server can run: Debian's dnsmasq
// (package dnsmasq-base, which starts no service); if not, a one-line
// reason.
func DNSAvailable() (bool, string) {
	if _, err := findDNSMasq(); err != nil {
		return false, err.Error()
	}
	return true, ""
}

func findDNSMasq() (string, error) {
	if p, err := exec.LookPath("dnsmasq"); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if p := filepath.Join(d, "dnsmasq"); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("krbtest: dnsmasq not found; apt-get install dnsmasq-base")
}

// DNSRecord is a record a DNSServer serves; make one with URIRecord,
// SRVRecord or ARecord.
type DNSRecord struct{ arg string }

// URIRecord is a URI record (RFC 7553, type 256) for name, such as
// URIRecord("_kerberos.EXAMPLE.TEST", 10, 1, "krb5srv:m:udp:kdc.example.test:88").
func URIRecord(name string, priority, weight uint16, target string) DNSRecord {
	data := make([]byte, 4, 4+len(target))
	binary.BigEndian.PutUint16(data, priority)
	binary.BigEndian.PutUint16(data[2:], weight)
	data = append(data, target...)
	return DNSRecord{"--dns-rr=" + name + ",256," + hex.EncodeToString(data)}
}

// SRVRecord is an SRV record (RFC 2782) for name, such as
// SRVRecord("_kerberos._udp.EXAMPLE.TEST", "kdc.example.test", 88, 0, 0).
func SRVRecord(name, target string, port, priority, weight uint16) DNSRecord {
	return DNSRecord{fmt.Sprintf("--srv-host=%s,%s,%d,%d,%d", name, target, port, priority, weight)}
}

// ARecord gives name the address addr (A or AAAA).
func ARecord(name, addr string) DNSRecord {
	return DNSRecord{"--host-record=" + name + "," + addr}
}

// DNSServer is a real DNS server (Debian's dnsmasq) on a loopback port that
// answers for the domains it was given from the records it was given
// (NXDOMAIN for any other name in them), and refuses everything else: it
// has no upstream. Point a client's resolver at Addr; the machine's
// resolver settings are not touched.
type DNSServer struct {
	// Addr is "127.0.0.1:PORT" (UDP and TCP).
	Addr string
	// Dir holds its log.
	Dir    string
	proc   *process
	port53 bool
}

// StartDNS starts a DNS server for a test, authoritative for domains
// (e.g. "test", so that names under .test that have no record get
// NXDOMAIN), serving records; tb.Cleanup stops it. It skips or fails tb as
// SkipOrFail when dnsmasq is missing.
func StartDNS(tb testing.TB, domains []string, records ...DNSRecord) *DNSServer {
	tb.Helper()
	return startDNS(tb, false, domains, records)
}

// StartDNSPort53 is StartDNS on port 53 of a loopback address of its own
// (127.53.X.Y), where a resolv.conf can name it (ResolvConfCommand). It
// needs root (binding port 53): without it the test is skipped, or fails
// under KRBTEST_REQUIRE=1.
func StartDNSPort53(tb testing.TB, domains []string, records ...DNSRecord) *DNSServer {
	tb.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(tb, "krbtest: a DNS server on port 53 needs root")
		return nil
	}
	return startDNS(tb, true, domains, records)
}

func startDNS(tb testing.TB, port53 bool, domains []string, records []DNSRecord) *DNSServer {
	tb.Helper()
	bin, err := findDNSMasq()
	if err != nil {
		SkipOrFail(tb, err.Error())
		return nil
	}
	s := &DNSServer{Dir: tb.TempDir(), port53: port53}
	for attempt := 1; ; attempt++ {
		err = s.start(bin, domains, records)
		if err == nil || attempt == 5 {
			break
		}
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			log, _ := os.ReadFile(filepath.Join(s.Dir, "dnsmasq.log"))
			tb.Logf("krbtest: dnsmasq log:\n%s", log)
		}
		s.proc.stop(5 * time.Second)
	})
	return s
}

func (s *DNSServer) start(bin string, domains []string, records []DNSRecord) error {
	host := "127.0.0.1"
	port := 53
	if s.port53 {
		var b [2]byte
		rand.Read(b[:])
		host = fmt.Sprintf("127.53.%d.%d", b[0], 1+b[1]%254)
	} else {
		p, release, err := reservePort()
		if err != nil {
			return err
		}
		release() // dnsmasq binds without SO_REUSEPORT; a retry covers a race
		port = p
	}
	s.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	args := []string{
		"--keep-in-foreground", "--conf-file=/dev/null",
		"--no-resolv", "--no-hosts", "--no-poll", "--no-negcache",
		"--listen-address=" + host, "--bind-interfaces", "--port=" + strconv.Itoa(port),
		"--pid-file=" + filepath.Join(s.Dir, "dnsmasq.pid"),
		"--log-queries", "--log-facility=" + filepath.Join(s.Dir, "dnsmasq.log"),
	}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root") // no privilege drop to a user that may not exist
	} else if u, err := user.Current(); err == nil {
		args = append(args, "--user="+u.Username)
	}
	for _, d := range domains {
		args = append(args, "--local=/"+strings.Trim(d, ".")+"/")
	}
	for _, r := range records {
		args = append(args, r.arg)
	}
	cmd := exec.Command(bin, args...)
	out, err := os.Create(filepath.Join(s.Dir, "dnsmasq.out"))
	if err != nil {
		return fmt.Errorf("krbtest: %w", err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	p, err := startProcess("dnsmasq", cmd)
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
			c.Close()
			s.proc = p
			return nil
		}
		select {
		case <-p.done:
			data, _ := os.ReadFile(filepath.Join(s.Dir, "dnsmasq.out"))
			return fmt.Errorf("krbtest: dnsmasq exited (%v): %s", p.waitErr, data)
		default:
		}
		if time.Now().After(deadline) {
			p.kill()
			return fmt.Errorf("krbtest: dnsmasq did not listen on %s within 10s", s.Addr)
		}
	}
}
