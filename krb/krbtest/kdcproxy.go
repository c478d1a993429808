package krbtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// kdcproxyPackage is where Debian's python3-kdcproxy installs the WSGI app.
const kdcproxyPackage = "/usr/lib/python3/dist-packages"

// KDCProxyAvailable reports whether an MS-KKDCP proxy can run: Debian's
// python3-kdcproxy (the proxy FreeIPA ships) and gunicorn to serve it; if
// not, a one-line reason.
func KDCProxyAvailable() (bool, string) {
	if _, err := exec.LookPath("gunicorn"); err != nil {
		return false, "krbtest: gunicorn not found; apt-get install gunicorn python3-kdcproxy"
	}
	if _, err := os.Stat(filepath.Join(kdcproxyPackage, "kdcproxy", "__init__.py")); err != nil {
		return false, "krbtest: python3-kdcproxy not found; apt-get install python3-kdcproxy"
	}
	return true, ""
}

// KDCProxy is a running MS-KKDCP proxy for a realm: Debian's kdcproxy WSGI
// application under gunicorn, serving HTTPS on a loopback port with a
// certificate from a throwaway CA, forwarding to the realm's KDC (and to
// its kpasswd server when StartKpasswd ran first). Close stops it; a realm
// that started it stops it on Close too.
type KDCProxy struct {
	// URL is the proxy's address for krb5.conf: "https://127.0.0.1:PORT/KdcProxy".
	URL string
	// Addr is "127.0.0.1:PORT".
	Addr string
	// CAPath is the PEM certificate of the CA that issued the proxy's
	// certificate (for http_anchors = FILE:CAPath).
	CAPath string
	// OtherCAPath is the PEM certificate of a second CA that issued
	// nothing the proxy uses: anchors that must not trust the proxy.
	OtherCAPath string
	// Dir holds the certificates, the proxy's configuration and its log.
	Dir string

	proc *process
}

// StartKDCProxy starts an MS-KKDCP proxy in front of the realm's KDC, and
// of its kpasswd server if StartKpasswd has run. The proxy's certificate
// names IP address 127.0.0.1 (and no host name: a URL with "localhost"
// meets a certificate that is not for it). It skips or fails tb as
// SkipOrFail when kdcproxy or gunicorn is missing.
func (r *Realm) StartKDCProxy() (*KDCProxy, error) {
	if ok, reason := KDCProxyAvailable(); !ok {
		return nil, errors.New(reason)
	}
	dir := filepath.Join(r.Dir, fmt.Sprintf("kdcproxy-%d", r.seq.Add(1)))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}
	p := &KDCProxy{Dir: dir, CAPath: filepath.Join(dir, "ca.pem"), OtherCAPath: filepath.Join(dir, "other-ca.pem")}
	certPath, keyPath := filepath.Join(dir, "proxy.pem"), filepath.Join(dir, "proxy-key.pem")
	if err := writeProxyCerts(p.CAPath, p.OtherCAPath, certPath, keyPath); err != nil {
		return nil, err
	}

	r.mu.Lock()
	kpasswd := ""
	for _, line := range strings.Split(r.cfg.clientRealm, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "kpasswd_server = "); ok {
			kpasswd = v
		}
	}
	r.mu.Unlock()
	conf := fmt.Sprintf("[global]\nuse_dns = false\n\n[%s]\nkerberos = kerberos+tcp://%s\n", r.Name, r.KDCAddr)
	if kpasswd != "" {
		conf += fmt.Sprintf("kpasswd = kpasswd+tcp://%s\n", kpasswd)
	}
	confPath := filepath.Join(dir, "kdcproxy.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("krbtest: %w", err)
	}

	const attempts = 5
	for i := 1; ; i++ {
		err := p.start(r, confPath, certPath, keyPath)
		if err == nil {
			break
		}
		if i == attempts || !strings.Contains(err.Error(), "in use") {
			return nil, err
		}
	}
	r.mu.Lock()
	r.proxies = append(r.proxies, p)
	r.mu.Unlock()
	return p, nil
}

func (p *KDCProxy) start(r *Realm, confPath, certPath, keyPath string) error {
	port, release, err := reservePort()
	if err != nil {
		return err
	}
	release() // gunicorn binds without SO_REUSEPORT; a retry covers a race
	p.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p.URL = "https://" + p.Addr + "/KdcProxy"
	logPath := filepath.Join(p.Dir, "gunicorn.log")
	cmd := exec.Command("gunicorn",
		"--bind", p.Addr,
		"--workers", "2",
		"--certfile", certPath, "--keyfile", keyPath,
		"--chdir", kdcproxyPackage,
		"--error-logfile", logPath,
		"--log-level", "info",
		"kdcproxy:Application()")
	cmd.Env = mergeEnv(os.Environ(), "KDCPROXY_CONFIG="+confPath, "PYTHONDONTWRITEBYTECODE=1")
	cmd.Dir = p.Dir
	out, err := os.Create(filepath.Join(p.Dir, "gunicorn.out"))
	if err != nil {
		return fmt.Errorf("krbtest: %w", err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	proc, err := startProcess("gunicorn", cmd)
	if err != nil {
		return err
	}
	// Ready when a TLS handshake succeeds (the workers are up).
	cfg := &tls.Config{InsecureSkipVerify: true}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", p.Addr, cfg); err == nil {
			c.Close()
			p.proc = proc
			return nil
		}
		select {
		case <-proc.done:
			logs := p.Logs()
			return fmt.Errorf("krbtest: gunicorn exited (%v): %s", proc.waitErr, logs)
		default:
		}
		if time.Now().After(deadline) {
			proc.kill()
			return fmt.Errorf("krbtest: kdcproxy did not serve %s within 20s: %s", p.Addr, p.Logs())
		}
	}
}

// Logs returns gunicorn's output and log.
func (p *KDCProxy) Logs() string {
	var b strings.Builder
	for _, name := range []string{"gunicorn.out", "gunicorn.log"} {
		if data, err := os.ReadFile(filepath.Join(p.Dir, name)); err == nil && len(data) > 0 {
			fmt.Fprintf(&b, "==> %s <==\n%s\n", name, data)
		}
	}
	return b.String()
}

// Close stops the proxy.
func (p *KDCProxy) Close() error {
	if p.proc == nil {
		return nil
	}
	err := p.proc.stop(5 * time.Second)
	p.proc = nil
	return err
}

// writeProxyCerts writes a CA, a second unrelated CA, and a server
// certificate from the first for IP 127.0.0.1 (ECDSA P-256, one day).
func writeProxyCerts(caPath, otherCAPath, certPath, keyPath string) error {
	newCA := func(cn string) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: cn},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return nil, nil, nil, err
		}
		cert, err := x509.ParseCertificate(der)
		return cert, key, der, err
	}
	ca, caKey, caDER, err := newCA("krbtest KDC proxy CA")
	if err != nil {
		return fmt.Errorf("krbtest: proxy CA: %w", err)
	}
	_, _, otherDER, err := newCA("krbtest unrelated CA")
	if err != nil {
		return fmt.Errorf("krbtest: proxy CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("krbtest: proxy key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "krbtest KDC proxy"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("krbtest: proxy certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("krbtest: proxy key: %w", err)
	}
	files := []struct {
		path, typ string
		der       []byte
	}{
		{caPath, "CERTIFICATE", caDER},
		{otherCAPath, "CERTIFICATE", otherDER},
		{certPath, "CERTIFICATE", der},
		{keyPath, "PRIVATE KEY", keyDER},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			return fmt.Errorf("krbtest: %w", err)
		}
	}
	return nil
}

// WriteClientConfig writes a client krb5.conf for realm into the proxy's
// directory and returns its path: the proxy is the realm's only KDC (and
// its kpasswd server, when the realm runs kadmind), with http_anchors
// naming the proxy's CA. extraLibdefaults and extraRealm are added as in
// Realm.WriteClientConfig; a relation they name replaces the default one.
func (p *KDCProxy) WriteClientConfig(r *Realm, extraLibdefaults, extraRealm string) (string, error) {
	r.mu.Lock()
	realmLines := r.cfg.clientRealm
	lib := r.cfg.clientLibdefaults
	r.mu.Unlock()
	defaults := "http_anchors = FILE:" + p.CAPath
	if strings.Contains(realmLines, "kpasswd_server") {
		defaults += "\nkpasswd_server = " + p.URL
	}
	realmLines = overrideLines(overrideLines(realmLines, defaults), extraRealm)
	text := r.krb5Conf(overrideLines(lib, extraLibdefaults), []string{p.URL}, realmLines)
	path := filepath.Join(p.Dir, fmt.Sprintf("krb5-proxy-%d.conf", r.seq.Add(1)))
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return "", fmt.Errorf("krbtest: %w", err)
	}
	return path, nil
}
