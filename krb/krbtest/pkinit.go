package krbtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// PKI is a throwaway certificate authority for a realm's PKINIT (RFC 4556):
// a CA, the KDC's certificate and key, and client certificates, all as PEM
// files in Dir. Make one with NewPKI, pass Option to NewRealm or Start, and
// issue client certificates with Client.
type PKI struct {
	Dir   string
	Realm string
	// CAPath is the CA certificate (PEM): the pkinit_anchors of the KDC
	// and of the client configuration.
	CAPath string
	// KDCCertPath and KDCKeyPath are the KDC's certificate (EKU
	// id-pkinit-KPKdc, SAN id-pkinit-san krbtgt/REALM@REALM) and key.
	KDCCertPath, KDCKeyPath string

	ca    *x509.Certificate
	caKey crypto.Signer
	// subjectKeyIDs gives issued certificates a subjectKeyIdentifier, as
	// openssl and hxtool do; Heimdal's KDC then names itself by it in its
	// CMS SignedData (a SignerIdentifier of the other kind).
	subjectKeyIDs bool
	mu            sync.Mutex
	seq           int
}

// kdcNameTypeSrvInst is KRB5_NT_SRV_INST, the name type of krbtgt.
const kdcNameTypeSrvInst = 2

// NewPKI creates a CA and a KDC certificate for realm in dir.
func NewPKI(dir, realm string) (*PKI, error) {
	p := &PKI{Dir: dir, Realm: realm, CAPath: filepath.Join(dir, "ca.pem"),
		KDCCertPath: filepath.Join(dir, "kdc.pem"), KDCKeyPath: filepath.Join(dir, "kdckey.pem")}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "krbtest CA " + realm},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("krbtest: CA certificate: %w", err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.caKey = key
	if err := writePEM(p.CAPath, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	kdc, err := p.issue(RSAKey(), kdcNameTypeSrvInst, []string{"krbtgt", realm}, realm, oidKPKdc, "kdc")
	if err != nil {
		return nil, err
	}
	if err := writePEM(p.KDCCertPath, "CERTIFICATE", kdc.Cert.Raw); err != nil {
		return nil, err
	}
	if err := writeKey(p.KDCKeyPath, kdc.Key, ""); err != nil {
		return nil, err
	}
	return p, nil
}

// Option configures a realm for PKINIT: the KDC's pkinit_identity and
// pkinit_anchors in [kdcdefaults], pkinit_anchors in the client
// krb5.conf's [libdefaults], and the realm name of the PKI.
func (p *PKI) Option() Option {
	return func(c *config) {
		c.name = p.Realm
		WithKDCConf(fmt.Sprintf("pkinit_identity = FILE:%s,%s\npkinit_anchors = FILE:%s", p.KDCCertPath, p.KDCKeyPath, p.CAPath), "")(c)
		WithClientLibdefaults("pkinit_anchors = FILE:" + p.CAPath)(c)
	}
}

// NewPKINITRealm starts a realm for a test, as NewRealm does, with a PKI in
// the realm's directory and the realm configured for it (PKI.Option), and
// the principal WELLKNOWN/ANONYMOUS for anonymous PKINIT. The realm name is
// the last WithName among opts, else DefaultRealmName.
func NewPKINITRealm(tb testing.TB, opts ...Option) (*Realm, *PKI) {
	tb.Helper()
	if ok, reason := PKINITAvailable(); !ok {
		SkipOrFail(tb, reason)
		return nil, nil
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	dir := tb.TempDir()
	pki, err := NewPKI(dir, cfg.name)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := start(dir, false, append(append([]Option(nil), opts...), pki.Option()))
	if err != nil {
		tb.Fatal(err)
		return nil, nil
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("krbtest: logs of realm %s in %s:\n%s", r.Name, r.Dir, r.Logs())
		}
		if err := r.Close(); err != nil {
			tb.Error(err)
		}
	})
	if err := r.AddRandomKeyPrincipal("WELLKNOWN/ANONYMOUS"); err != nil {
		tb.Fatal(err)
	}
	return r, pki
}

// PKINITAvailable reports whether MIT's KDC and its PKINIT plugin
// (Debian's krb5-pkinit) are installed.
func PKINITAvailable() (bool, string) {
	if ok, reason := Available(); !ok {
		return ok, reason
	}
	for _, pattern := range []string{"/usr/lib/*/krb5/plugins/preauth/pkinit.so", "/usr/lib/krb5/plugins/preauth/pkinit.so", "/usr/lib64/krb5/plugins/preauth/pkinit.so", "/usr/local/lib/krb5/plugins/preauth/pkinit.so"} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return true, ""
		}
	}
	return false, "krbtest: MIT's PKINIT plugin (pkinit.so) not found; install krb5-pkinit"
}

// AddPKINITPrincipal creates a principal that can log in only with PKINIT
// (addprinc +requires_preauth -nokey).
func (r *Realm) AddPKINITPrincipal(name string, opts ...PrincipalOption) error {
	return r.AddRandomKeyPrincipal(name, append([]PrincipalOption{NoKey(), RequiresPreauth()}, opts...)...)
}

// KeyType chooses a client key algorithm for PKI.Client.
type KeyType func() (crypto.Signer, error)

// RSAKey is a 2048-bit RSA key (the default).
func RSAKey() KeyType {
	return func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) }
}

// ECDSAKey is an ECDSA key on curve.
func ECDSAKey(curve elliptic.Curve) KeyType {
	return func() (crypto.Signer, error) { return ecdsa.GenerateKey(curve, rand.Reader) }
}

// ClientIdentity is a client certificate and key written by PKI.Client.
type ClientIdentity struct {
	CertPath, KeyPath string
	Cert              *x509.Certificate
	Key               crypto.Signer
	pki               *PKI
	base              string
}

// FILE returns the identity as X509_user_identity wants it:
// "FILE:cert.pem,key.pem".
func (c *ClientIdentity) FILE() string { return "FILE:" + c.CertPath + "," + c.KeyPath }

// Client issues a certificate for principal ("alice" or "alice@REALM")
// with EKU id-pkinit-KPClientAuth and id-pkinit-san naming it, and writes
// it with its unencrypted key as PEM files in Dir.
func (p *PKI) Client(principal string, key KeyType) (*ClientIdentity, error) {
	name, realm, ok := strings.Cut(principal, "@")
	if !ok {
		realm = p.Realm
	}
	if key == nil {
		key = RSAKey()
	}
	id, err := p.issue(key, 1, strings.Split(name, "/"), realm, oidKPClientAuth, strings.ReplaceAll(name, "/", "_"))
	if err != nil {
		return nil, err
	}
	if err := writePEM(id.CertPath, "CERTIFICATE", id.Cert.Raw); err != nil {
		return nil, err
	}
	if err := writeKey(id.KeyPath, id.Key, ""); err != nil {
		return nil, err
	}
	return id, nil
}

func (p *PKI) issue(keyType KeyType, nameType int32, components []string, realm string, eku asn1.ObjectIdentifier, base string) (*ClientIdentity, error) {
	key, err := keyType()
	if err != nil {
		return nil, err
	}
	san, err := marshalPKINITSAN(realm, nameType, components...)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.seq++
	serial := int64(100 + p.seq)
	base = fmt.Sprintf("%s-%d", base, p.seq)
	p.mu.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber:       big.NewInt(serial),
		Subject:            pkix.Name{CommonName: strings.Join(components, "/") + "@" + realm},
		NotBefore:          time.Now().Add(-time.Hour),
		NotAfter:           time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:           x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{eku},
		ExtraExtensions:    []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: san}},
	}
	if p.subjectKeyIDs {
		tmpl.SubjectKeyId = subjectKeyID(key.Public())
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, key.Public(), p.caKey)
	if err != nil {
		return nil, fmt.Errorf("krbtest: issuing a certificate: %w", err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &ClientIdentity{
		CertPath: filepath.Join(p.Dir, base+".pem"), KeyPath: filepath.Join(p.Dir, base+"-key.pem"),
		Cert: cert, Key: key, pki: p, base: base,
	}, nil
}

// WriteEncryptedKey writes the key as an encrypted PKCS#8 PEM file (PBES2,
// AES-256, as openssl pkey -aes256 does) and returns the FILE identity
// that uses it.
func (c *ClientIdentity) WriteEncryptedKey(passphrase string) (string, error) {
	path := filepath.Join(c.pki.Dir, c.base+"-enckey.pem")
	if err := writeKey(path, c.Key, passphrase); err != nil {
		return "", err
	}
	return "FILE:" + c.CertPath + "," + path, nil
}

// WritePKCS12 writes the certificate, its CA and the key as a PKCS#12 file
// protected by password and returns its path.
func (c *ClientIdentity) WritePKCS12(password string) (string, error) {
	data, err := pkcs12.Modern.Encode(c.Key, c.Cert, nil, password)
	if err != nil {
		return "", fmt.Errorf("krbtest: PKCS#12: %w", err)
	}
	path := filepath.Join(c.pki.Dir, c.base+".p12")
	return path, os.WriteFile(path, data, 0o600)
}

func writePEM(path, typ string, der []byte) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("krbtest: %w", err)
	}
	return nil
}

func writeKey(path string, key crypto.Signer, passphrase string) error {
	if passphrase != "" {
		der, err := pkcs8.MarshalPrivateKey(key, []byte(passphrase), nil)
		if err != nil {
			return fmt.Errorf("krbtest: encrypting the key: %w", err)
		}
		return writePEM(path, "ENCRYPTED PRIVATE KEY", der)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("krbtest: %w", err)
	}
	return writePEM(path, "PRIVATE KEY", der)
}

// SoftHSM is a SoftHSM2 token (PKCS#11) holding a client identity.
type SoftHSM struct {
	// Conf is the softhsm2.conf to set as SOFTHSM2_CONF before the
	// module is loaded: SoftHSM reads it once per process.
	Conf   string
	Module string
	Label  string
	Slot   int
}

// SoftHSMModule is where Debian's softhsm2 installs its PKCS#11 module.
const SoftHSMModule = "/usr/lib/softhsm/libsofthsm2.so"

// SoftHSMAvailable reports whether softhsm2-util, pkcs11-tool (opensc) and
// the SoftHSM module are installed.
func SoftHSMAvailable() (bool, string) {
	for _, tool := range []string{"softhsm2-util", "pkcs11-tool"} {
		if _, err := exec.LookPath(tool); err != nil {
			return false, "krbtest: " + tool + " not found; install softhsm2 and opensc"
		}
	}
	if _, err := os.Stat(SoftHSMModule); err != nil {
		return false, "krbtest: " + SoftHSMModule + " not found; install softhsm2"
	}
	return true, ""
}

// NewSoftHSM creates a SoftHSM2 token in dir labelled label with user PIN
// pin, imports the identity's key (as PKCS#8) and certificate under id 01,
// as DESIGN.md's smart-card recipe does with softhsm2-util and pkcs11-tool.
func NewSoftHSM(dir string, id *ClientIdentity, label, pin string) (*SoftHSM, error) {
	if ok, reason := SoftHSMAvailable(); !ok {
		return nil, fmt.Errorf("%s", reason)
	}
	tokens := filepath.Join(dir, "softhsm-tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "SOFTHSM2_CONF="+conf)
	run := func(name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("krbtest: %s %s: %v: %s", name, args[0], err, out)
		}
		return string(out), nil
	}
	out, err := run("softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "5678")
	if err != nil {
		return nil, err
	}
	slot := -1
	if i := strings.Index(out, "reassigned to slot "); i >= 0 {
		fmt.Sscanf(out[i+len("reassigned to slot "):], "%d", &slot)
	}
	der, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		return nil, err
	}
	keyPath := filepath.Join(dir, "token-key.p8")
	if err := writePEM(keyPath, "PRIVATE KEY", der); err != nil {
		return nil, err
	}
	if _, err := run("softhsm2-util", "--import", keyPath, "--token", label, "--label", "client", "--id", "01", "--pin", pin); err != nil {
		return nil, err
	}
	certDER := filepath.Join(dir, "token-cert.der")
	if err := os.WriteFile(certDER, id.Cert.Raw, 0o600); err != nil {
		return nil, err
	}
	if _, err := run("pkcs11-tool", "--module", SoftHSMModule, "--token-label", label, "--login", "--pin", pin,
		"--write-object", certDER, "--type", "cert", "--id", "01", "--label", "client"); err != nil {
		return nil, err
	}
	return &SoftHSM{Conf: conf, Module: SoftHSMModule, Label: label, Slot: slot}, nil
}

// Identity returns the PKCS11: identity string of the token, with slotid
// when known.
func (s *SoftHSM) Identity() string {
	if s.Slot >= 0 {
		return fmt.Sprintf("PKCS11:module_name=%s:slotid=%d:token=%s", s.Module, s.Slot, s.Label)
	}
	return fmt.Sprintf("PKCS11:module_name=%s:token=%s", s.Module, s.Label)
}
