//go:build cgo

package pkinit

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"sync"

	"github.com/gokinit/gokinit/responder"
	"github.com/miekg/pkcs11"
)

// PKCS11Available reports whether PKCS11: identities can be used (the
// program was built with cgo, which loading a module needs).
func PKCS11Available() bool { return true }

// PKCS#11 modules are loaded and initialized once per process and never
// finalized: C_Finalize would end the sessions of every other login that
// uses the same module.
var (
	p11Mu   sync.Mutex
	p11Mods = map[string]*pkcs11.Ctx{}
)

func p11Module(path string) (*pkcs11.Ctx, error) {
	p11Mu.Lock()
	defer p11Mu.Unlock()
	if c, ok := p11Mods[path]; ok {
		return c, nil
	}
	c := pkcs11.New(path)
	if c == nil {
		return nil, fmt.Errorf("pkinit: cannot load PKCS#11 module %s", path)
	}
	if err := c.Initialize(); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		return nil, fmt.Errorf("pkinit: initializing PKCS#11 module %s: %w", path, err)
	}
	p11Mods[path] = c
	return c, nil
}

// p11Slot finds the slot of the identity: slotid and token label, when
// given, must match; otherwise the first slot with a token.
func p11Slot(c *pkcs11.Ctx, sp *idSpec) (uint, pkcs11.TokenInfo, error) {
	slots, err := c.GetSlotList(true)
	if err != nil {
		return 0, pkcs11.TokenInfo{}, fmt.Errorf("pkinit: PKCS#11 slot list: %w", err)
	}
	for _, s := range slots {
		if sp.slot >= 0 && uint(sp.slot) != s {
			continue
		}
		ti, err := c.GetTokenInfo(s)
		if err != nil {
			continue
		}
		if sp.token != "" && strings.TrimRight(ti.Label, " \x00") != sp.token {
			continue
		}
		return s, ti, nil
	}
	return 0, pkcs11.TokenInfo{}, fmt.Errorf("%w: no PKCS#11 token matches %s", ErrNoIdentity, sp.raw)
}

// p11Name is MIT's name of a token identity for the responder.
func p11Name(sp *idSpec, slot uint, ti pkcs11.TokenInfo) string {
	return fmt.Sprintf("PKCS11:module_name=%s:slotid=%d:token=%s", sp.module, slot, strings.TrimRight(ti.Label, " \x00"))
}

func p11Flags(ti pkcs11.TokenInfo) int32 {
	var f int32
	if ti.Flags&pkcs11.CKF_USER_PIN_COUNT_LOW != 0 {
		f |= responder.PKINITUserPINCountLow
	}
	if ti.Flags&pkcs11.CKF_USER_PIN_FINAL_TRY != 0 {
		f |= responder.PKINITUserPINFinalTry
	}
	if ti.Flags&pkcs11.CKF_USER_PIN_LOCKED != 0 {
		f |= responder.PKINITUserPINLocked
	}
	return f
}

// p11Prompt is MIT's prompt for a token PIN: "LABEL PIN" with a warning.
func p11Prompt(ti pkcs11.TokenInfo) string {
	warning := ""
	switch {
	case ti.Flags&pkcs11.CKF_USER_PIN_LOCKED != 0:
		warning = " (Warning: PIN locked)"
	case ti.Flags&pkcs11.CKF_USER_PIN_FINAL_TRY != 0:
		warning = " (Warning: PIN final try)"
	case ti.Flags&pkcs11.CKF_USER_PIN_COUNT_LOW != 0:
		warning = " (Warning: PIN count low)"
	}
	return strings.TrimRight(ti.Label, " \x00") + " PIN" + warning
}

func probePKCS11(sp *idSpec) (secretNeed, error) {
	c, err := p11Module(sp.module)
	if err != nil {
		return secretNeed{}, err
	}
	slot, ti, err := p11Slot(c, sp)
	if err != nil {
		return secretNeed{}, err
	}
	if ti.Flags&pkcs11.CKF_LOGIN_REQUIRED == 0 || ti.Flags&pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH != 0 {
		return secretNeed{}, nil
	}
	return secretNeed{need: true, name: p11Name(sp, slot, ti), flags: p11Flags(ti), prompt: p11Prompt(ti),
		locked: ti.Flags&pkcs11.CKF_USER_PIN_LOCKED != 0}, nil
}

func loadPKCS11(sp *idSpec, pin *string) (*identity, error) {
	c, err := p11Module(sp.module)
	if err != nil {
		return nil, err
	}
	slot, ti, err := p11Slot(c, sp)
	if err != nil {
		return nil, err
	}
	name := p11Name(sp, slot, ti)
	sess, err := c.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		return nil, fmt.Errorf("pkinit: opening a session on %s: %w", name, err)
	}
	ok := false
	defer func() {
		if !ok {
			c.CloseSession(sess)
		}
	}()
	if ti.Flags&pkcs11.CKF_LOGIN_REQUIRED != 0 {
		p := ""
		if pin != nil {
			p = *pin
		}
		err := c.Login(sess, pkcs11.CKU_USER, p)
		if errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)) {
			// Another login in this process has the token open: the PIN
			// given here must still be checked, or any PIN would do.
			c.Logout(sess)
			err = c.Login(sess, pkcs11.CKU_USER, p)
		}
		if err != nil {
			switch {
			case errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT)), errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_LEN_RANGE)):
				return nil, fmt.Errorf("pkinit: %s: %w", name, ErrIncorrectPIN)
			case errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_LOCKED)):
				return nil, fmt.Errorf("pkinit: %s: %w", name, ErrPINLocked)
			}
			return nil, fmt.Errorf("pkinit: logging in to %s: %w", name, err)
		}
	}
	cert, certID, err := p11FindCert(c, sess, sp)
	if err != nil {
		return nil, fmt.Errorf("pkinit: %s: %w", name, err)
	}
	key, err := p11FindObject(c, sess, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_ID, certID),
	})
	if err != nil {
		return nil, fmt.Errorf("pkinit: %s: no private key with the certificate's id: %w", name, err)
	}
	ok = true
	s := &p11Signer{c: c, sess: sess, key: key, pub: cert.PublicKey}
	return &identity{name: name, cert: cert, signer: s, close: func() { c.CloseSession(sess) }}, nil
}

// p11FindCert returns the first X.509 certificate matching certid and
// certlabel, and its CKA_ID.
func p11FindCert(c *pkcs11.Ctx, sess pkcs11.SessionHandle, sp *idSpec) (*x509.Certificate, []byte, error) {
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
	}
	if sp.certID != nil {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, sp.certID))
	}
	if sp.certLabel != "" {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_LABEL, sp.certLabel))
	}
	if err := c.FindObjectsInit(sess, tmpl); err != nil {
		return nil, nil, err
	}
	objs, _, err := c.FindObjects(sess, 16)
	c.FindObjectsFinal(sess)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range objs {
		attrs, err := c.GetAttributeValue(sess, o, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil), pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
		})
		if err != nil || len(attrs) != 2 {
			continue
		}
		cert, err := x509.ParseCertificate(attrs[0].Value)
		if err != nil {
			continue
		}
		return cert, attrs[1].Value, nil
	}
	return nil, nil, fmt.Errorf("%w: no certificate on the token", ErrNoIdentity)
}

func p11FindObject(c *pkcs11.Ctx, sess pkcs11.SessionHandle, tmpl []*pkcs11.Attribute) (pkcs11.ObjectHandle, error) {
	if err := c.FindObjectsInit(sess, tmpl); err != nil {
		return 0, err
	}
	objs, _, err := c.FindObjects(sess, 1)
	c.FindObjectsFinal(sess)
	if err != nil {
		return 0, err
	}
	if len(objs) == 0 {
		return 0, errors.New("not found")
	}
	return objs[0], nil
}

// p11Signer signs with a token's private key: RSA PKCS #1 v1.5 over a
// DigestInfo (CKM_RSA_PKCS) or ECDSA (CKM_ECDSA, converted to DER).
type p11Signer struct {
	mu   sync.Mutex
	c    *pkcs11.Ctx
	sess pkcs11.SessionHandle
	key  pkcs11.ObjectHandle
	pub  crypto.PublicKey
}

func (s *p11Signer) Public() crypto.PublicKey { return s.pub }

// digestInfoPrefix is the DER DigestInfo header of RFC 8017 §9.2 note 1.
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

func (s *p11Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.pub.(type) {
	case *rsa.PublicKey:
		if _, pss := opts.(*rsa.PSSOptions); pss {
			return nil, errors.New("pkinit: RSA-PSS on a token is not supported")
		}
		prefix, ok := digestInfoPrefix[opts.HashFunc()]
		if !ok {
			return nil, fmt.Errorf("pkinit: unsupported hash %v", opts.HashFunc())
		}
		if err := s.c.SignInit(s.sess, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}, s.key); err != nil {
			return nil, fmt.Errorf("pkinit: token signature: %w", err)
		}
		return s.c.Sign(s.sess, append(bytes.Clone(prefix), digest...))
	case *ecdsa.PublicKey:
		if err := s.c.SignInit(s.sess, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}, s.key); err != nil {
			return nil, fmt.Errorf("pkinit: token signature: %w", err)
		}
		raw, err := s.c.Sign(s.sess, digest)
		if err != nil {
			return nil, fmt.Errorf("pkinit: token signature: %w", err)
		}
		n := len(raw) / 2
		return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:n]), new(big.Int).SetBytes(raw[n:])})
	}
	return nil, fmt.Errorf("pkinit: unsupported token key type %T", s.pub)
}
