package pkinit

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// Identity errors.
var (
	// ErrNoIdentity means no client certificate and key were configured
	// (X509_user_identity, pkinit_identities) or none could be loaded.
	ErrNoIdentity = errors.New("no PKINIT client identity")
	// ErrIncorrectPIN means a pass phrase, password or token PIN was
	// wrong. Errors wrapping it name the identity, never the secret.
	ErrIncorrectPIN = errors.New("incorrect PIN or pass phrase")
	// ErrPINLocked means the token's user PIN is locked.
	ErrPINLocked = errors.New("the token's PIN is locked")
	// ErrPKCS11Unavailable means the program was built without cgo, which
	// loading a PKCS#11 module needs (see PKCS11Available).
	ErrPKCS11Unavailable = errors.New("PKCS#11 identities need a build with cgo")
)

// identity is a loaded client certificate with its private key.
type identity struct {
	name   string // MIT's name of the identity, as the responder sees it
	cert   *x509.Certificate
	chain  []*x509.Certificate // further certificates sent with the signature
	signer crypto.Signer
	close  func()
}

func (id *identity) Close() {
	if id != nil && id.close != nil {
		id.close()
		id.close = nil
	}
}

// idSpec is a parsed identity string (MIT's pkinit_identity.c):
// FILE:cert[,key], PKCS12:file, DIR:dir, PKCS11:opt=val:...
type idSpec struct {
	kind              string
	raw               string
	certFile, keyFile string
	dir               string
	module            string
	slot              int // -1: any
	token             string
	certID            []byte
	certLabel         string
}

// parseIdentity parses one identity string. A string without a type
// prefix is a FILE identity, as in MIT.
func parseIdentity(s string) (*idSpec, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		kind, rest = "FILE", s
	}
	sp := &idSpec{kind: strings.ToUpper(kind), raw: s, slot: -1}
	switch sp.kind {
	case "FILE":
		sp.certFile, sp.keyFile, _ = strings.Cut(rest, ",")
		if sp.keyFile == "" {
			sp.keyFile = sp.certFile
		}
		if sp.certFile == "" {
			return nil, fmt.Errorf("pkinit: identity %q names no certificate file", s)
		}
	case "PKCS12":
		if rest == "" {
			return nil, fmt.Errorf("pkinit: identity %q names no file", s)
		}
		sp.certFile = rest
	case "DIR":
		if rest == "" {
			return nil, fmt.Errorf("pkinit: identity %q names no directory", s)
		}
		sp.dir = rest
	case "PKCS11":
		for _, part := range strings.Split(rest, ":") {
			if part == "" {
				continue
			}
			k, v, _ := strings.Cut(part, "=")
			switch k {
			case "module_name":
				sp.module = v
			case "slotid":
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("pkinit: identity %q has a bad slotid", s)
				}
				sp.slot = n
			case "token":
				sp.token = v
			case "certid":
				id, err := decodeHex(v)
				if err != nil {
					return nil, fmt.Errorf("pkinit: identity %q has a bad certid", s)
				}
				sp.certID = id
			case "certlabel":
				sp.certLabel = v
			default:
				if !strings.Contains(part, "=") && sp.module == "" {
					sp.module = part // MIT accepts a bare module name
				}
			}
		}
		if sp.module == "" {
			sp.module = "opensc-pkcs11.so" // MIT's PKCS11_MODNAME
		}
	default:
		return nil, fmt.Errorf("pkinit: unsupported identity type %q (FILE, PKCS12, PKCS11 and DIR are supported)", kind)
	}
	return sp, nil
}

func decodeHex(s string) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, errors.New("odd length")
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, err
		}
		out[i] = byte(v)
	}
	return out, nil
}

// secretNeed says whether an identity needs a PIN or pass phrase, under
// which name the responder sees it, its flags and the prompt's text.
type secretNeed struct {
	need   bool
	name   string
	flags  int32
	prompt string
	locked bool
}

// probe finds out, without asking anything, whether the identity needs a
// secret (MIT's deferred identity loading for the responder).
func (sp *idSpec) probe() (secretNeed, error) {
	switch sp.kind {
	case "FILE":
		keyPEM, err := os.ReadFile(sp.keyFile)
		if err != nil {
			return secretNeed{}, fmt.Errorf("pkinit: reading the key file: %w", err)
		}
		for block, rest := pem.Decode(keyPEM); block != nil; block, rest = pem.Decode(rest) {
			if isEncryptedKey(block) {
				name := "FILE:" + sp.certFile
				if sp.keyFile != sp.certFile {
					name += "," + sp.keyFile
				}
				return secretNeed{need: true, name: name, prompt: "Pass phrase for " + sp.keyFile}, nil
			}
		}
		return secretNeed{}, nil
	case "PKCS12":
		data, err := os.ReadFile(sp.certFile)
		if err != nil {
			return secretNeed{}, fmt.Errorf("pkinit: reading the PKCS#12 file: %w", err)
		}
		if _, _, _, err := pkcs12.DecodeChain(data, ""); err == nil {
			return secretNeed{}, nil
		}
		return secretNeed{need: true, name: "PKCS12:" + sp.certFile, prompt: "Pass phrase for " + sp.certFile}, nil
	case "PKCS11":
		return probePKCS11(sp)
	}
	return secretNeed{}, nil
}

func isEncryptedKey(b *pem.Block) bool {
	//lint:ignore SA1019 legacy PEM encryption is still what OpenSSL's -traditional writes
	return b.Type == "ENCRYPTED PRIVATE KEY" || x509.IsEncryptedPEMBlock(b)
}

// load opens the identity, with secret when it needs one.
func (sp *idSpec) load(secret *string, want func(*x509.Certificate) bool) (*identity, error) {
	switch sp.kind {
	case "FILE":
		return loadFiles(sp, secret)
	case "PKCS12":
		return loadPKCS12(sp, secret)
	case "PKCS11":
		return loadPKCS11(sp, secret)
	case "DIR":
		return loadDir(sp, want)
	}
	return nil, fmt.Errorf("pkinit: unsupported identity type %q", sp.kind)
}

func readCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pkinit: reading the certificate: %w", err)
	}
	var certs []*x509.Certificate
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("pkinit: parsing %s: %w", path, err)
		}
		return []*x509.Certificate{c}, nil
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pkinit: parsing %s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("pkinit: no certificate in %s", path)
	}
	return certs, nil
}

func loadFiles(sp *idSpec, secret *string) (*identity, error) {
	certs, err := readCerts(sp.certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(sp.keyFile)
	if err != nil {
		return nil, fmt.Errorf("pkinit: reading the key file: %w", err)
	}
	key, err := parseKeyPEM(keyPEM, secret)
	if err != nil {
		return nil, fmt.Errorf("pkinit: key file %s: %w", sp.keyFile, err)
	}
	return newIdentity(sp.raw, certs, key)
}

// parseKeyPEM reads the first private key of a PEM file: PKCS#8
// (encrypted with PBES2 or not), PKCS#1 RSA, SEC 1 EC, or OpenSSL's
// traditional encrypted form.
func parseKeyPEM(data []byte, secret *string) (crypto.Signer, error) {
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		der := block.Bytes
		switch {
		case block.Type == "ENCRYPTED PRIVATE KEY":
			if secret == nil {
				return nil, ErrIncorrectPIN
			}
			k, err := pkcs8.ParsePKCS8PrivateKey(der, []byte(*secret))
			if err != nil {
				return nil, ErrIncorrectPIN
			}
			return asSigner(k)
		//lint:ignore SA1019 MIT reads legacy (RFC 1423) encrypted PEM keys; the key file is local, not an oracle
		case x509.IsEncryptedPEMBlock(block):
			if secret == nil {
				return nil, ErrIncorrectPIN
			}
			var err error
			//lint:ignore SA1019 as above: MIT accepts legacy encrypted PEM keys
			if der, err = x509.DecryptPEMBlock(block, []byte(*secret)); err != nil {
				return nil, ErrIncorrectPIN
			}
		}
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				return nil, err
			}
			return asSigner(k)
		case "RSA PRIVATE KEY":
			return x509.ParsePKCS1PrivateKey(der)
		case "EC PRIVATE KEY":
			return x509.ParseECPrivateKey(der)
		}
	}
	return nil, errors.New("no private key found")
}

func asSigner(k any) (crypto.Signer, error) {
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
	return s, nil
}

func loadPKCS12(sp *idSpec, secret *string) (*identity, error) {
	data, err := os.ReadFile(sp.certFile)
	if err != nil {
		return nil, fmt.Errorf("pkinit: reading the PKCS#12 file: %w", err)
	}
	pw := ""
	if secret != nil {
		pw = *secret
	}
	key, cert, cas, err := pkcs12.DecodeChain(data, pw)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, fmt.Errorf("pkinit: %s: %w", "PKCS12:"+sp.certFile, ErrIncorrectPIN)
	}
	if err != nil {
		return nil, fmt.Errorf("pkinit: decoding %s: %w", sp.certFile, err)
	}
	s, err := asSigner(key)
	if err != nil {
		return nil, err
	}
	return newIdentity(sp.raw, append([]*x509.Certificate{cert}, cas...), s)
}

// loadDir loads a DIR: identity: the first NAME.crt with a matching
// NAME.key whose certificate the caller wants (MIT's pkinit_identity.c).
func loadDir(sp *idSpec, want func(*x509.Certificate) bool) (*identity, error) {
	entries, err := os.ReadDir(sp.dir)
	if err != nil {
		return nil, fmt.Errorf("pkinit: reading identity directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".crt") {
			continue
		}
		base := strings.TrimSuffix(name, ".crt")
		keyPath := filepath.Join(sp.dir, base+".key")
		if _, err := os.Stat(keyPath); err != nil {
			continue
		}
		fs := &idSpec{kind: "FILE", raw: "FILE:" + filepath.Join(sp.dir, name) + "," + keyPath,
			certFile: filepath.Join(sp.dir, name), keyFile: keyPath}
		id, err := loadFiles(fs, nil)
		if err != nil {
			continue // encrypted or unreadable keys are skipped, as in MIT
		}
		if want == nil || want(id.cert) {
			return id, nil
		}
	}
	return nil, fmt.Errorf("%w: no usable certificate and key in %s", ErrNoIdentity, sp.dir)
}

// newIdentity picks the end-entity certificate that matches the key.
func newIdentity(name string, certs []*x509.Certificate, key crypto.Signer) (*identity, error) {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return nil, errors.New("pkinit: unsupported public key type")
	}
	for i, c := range certs {
		if pub.Equal(c.PublicKey) {
			rest := slices.Delete(slices.Clone(certs), i, i+1)
			return &identity{name: name, cert: c, chain: rest, signer: key}, nil
		}
	}
	return nil, errors.New("pkinit: the private key does not match the certificate")
}
