// Package pkinit is public-key initial authentication (PKINIT) for
// Kerberos: RFC 4556 with Diffie-Hellman key agreement in the 2048-bit MODP
// group, elliptic-curve Diffie-Hellman (RFC 5349), anonymous PKINIT
// (RFC 8062) and the algorithm-agility key derivation of RFC 8636.
//
// The client signs an AuthPack (RFC 4556 §3.2.1) holding a PKAuthenticator
// bound to the request (its nonce, a SHA-1 checksum of the KDC-REQ-BODY and
// the KDC's freshness token, RFC 8070) and its DH public value, as a CMS
// SignedData with its certificate's key; anonymously it sends the AuthPack
// unsigned. The KDC answers in PA-PK-AS-REP with its own DH value in a
// SignedData, which is verified against pkinit_anchors (its chain, its
// id-pkinit-KPKdc key purpose and its krbtgt/REALM@REALM name) before the
// reply key is derived.
//
// Identities come from the kinit -X option X509_user_identity
// (krb.WithPreauthOption) or krb5.conf's pkinit_identities, as MIT writes
// them: FILE:cert.pem[,key.pem], PKCS12:file.p12, DIR:directory and
// PKCS11:module_name=...:slotid=N:token=LABEL. Identities that need a pass
// phrase or PIN are asked through the responder's "pkinit" question, all
// in one challenge; what it leaves unanswered goes to the prompter with
// MIT's texts ("Pass phrase for FILE", "LABEL PIN").
//
// krb5.conf relations read for the client's realm: pkinit_anchors
// (FILE:, DIR:; required: without anchors the KDC is never trusted),
// pkinit_identities, pkinit_kdc_hostname, pkinit_eku_checking (kpKDC or
// kpServerAuth; MIT's "none" is not honoured, the KDC's key purpose is
// always checked), pkinit_dh_min_bits (2048, or 4096 for RFC 3526 group
// 16), and pkinit_dh_groups (this package's extension: the groups to offer
// in order, among P-256, P-384, P-521, MODP2048 and MODP4096). A KDC that
// refuses the offered group (KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED, as
// MIT 1.20 does for ECDH) gets a new request in a group it lists in
// TD-DH-PARAMETERS.
//
// The client's SignedData is built with smallstep/pkcs7. The KDC's is
// verified by this package's own code over encoding/asn1 and crypto/x509
// (cms_verify.go): smallstep/pkcs7 knows only issuerAndSerialNumber signer
// identifiers, and a KDC may send any form RFC 5652 allows: Heimdal's
// names its certificate by subjectKeyIdentifier (in BER's constructed
// form), signs with SHA-1, and BER, signed attributes or none are all
// valid. Each form is accepted or refused deliberately there.
package pkinit

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	stdasn1 "encoding/asn1"
	"errors"
	"fmt"
	"github.com/gokinit/gokinit/internal/safetext"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Mechanism is PKINIT. It claims PA-PK-AS-REQ as a real type and
// PA-PKINIT-KX and PA-AS-FRESHNESS as informational ones; the KDC's
// PA-PK-AS-REP arrives in the AS-REP.
var Mechanism preauth.Mechanism = mechanism{}

type mechanism struct{}

func (mechanism) Name() string { return "pkinit" }

func (mechanism) PATypes() []preauth.PAType {
	return []preauth.PAType{
		{Type: PATypePKASReq, Kind: preauth.Real},
		{Type: PATypePKASRep, Kind: preauth.Info},
		{Type: PATypePKINITKX, Kind: preauth.Info},
		{Type: PATypeFreshness, Kind: preauth.Info},
	}
}

func (mechanism) NewRequest() preauth.Request { return &request{} }

// request is the state of one login: the freshness token, the identity
// once loaded, and the DH key pair of the request in flight.
type request struct {
	mu        sync.Mutex
	freshness []byte
	specs     []*idSpec
	needs     []secretNeed
	probeErr  error
	id        *identity
	ka        keyAgreement
	groups    []Group // offered in order; the first is in use
	sent      bool
}

// Close releases a token session.
func (r *request) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.id.Close()
	r.id = nil
}

// The anonymous principal (RFC 8062 §3).
const (
	nameTypeWellKnown = 11 // KRB5_NT_WELLKNOWN
	anonymousRealm    = "WELLKNOWN:ANONYMOUS"
)

func isAnonymous(cb preauth.Callbacks) bool {
	name, _ := cb.Client()
	return len(name.NameString) == 2 && name.NameString[0] == "WELLKNOWN" && name.NameString[1] == "ANONYMOUS"
}

// identityStrings returns X509_user_identity, else pkinit_identities.
func identityStrings(cb preauth.Callbacks) []string {
	if v := cb.PreauthOption("X509_user_identity"); len(v) > 0 {
		return v
	}
	var out []string
	for _, v := range cb.Config("pkinit_identities") {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// FillResponseSet asks the "pkinit" question for the identities that need
// a PIN or pass phrase (MIT's pkinit_client_prep_questions), with every
// such identity in one challenge.
func (r *request) FillResponseSet(_ context.Context, cb preauth.Callbacks, in *preauth.Input, rs *responder.ResponseSet) error {
	if in.PAData.PADataType != PATypePKASReq || isAnonymous(cb) {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.id != nil {
		return nil
	}
	if err := r.probe(cb); err != nil {
		return err
	}
	chal := responder.PKINITChallenge{}
	for _, n := range r.needs {
		if n.need {
			chal[n.name] = n.flags
		}
	}
	if len(chal) == 0 {
		return nil
	}
	s, err := chal.Encode()
	if err != nil {
		return err
	}
	rs.Ask(responder.QuestionPKINIT, s)
	return nil
}

// probe parses the identities and finds which need secrets, once.
func (r *request) probe(cb preauth.Callbacks) error {
	if r.specs != nil || r.probeErr != nil {
		return r.probeErr
	}
	ids := identityStrings(cb)
	if len(ids) == 0 {
		r.probeErr = fmt.Errorf("%w: set X509_user_identity or pkinit_identities", ErrNoIdentity)
		return r.probeErr
	}
	var errs []error
	for _, s := range ids {
		sp, err := parseIdentity(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n, err := sp.probe()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.specs = append(r.specs, sp)
		r.needs = append(r.needs, n)
	}
	if len(r.specs) == 0 {
		r.probeErr = fmt.Errorf("%w: %w", ErrNoIdentity, errors.Join(errs...))
	}
	return r.probeErr
}

// Process records the KDC's freshness token, builds PA-PK-AS-REQ, or, on
// the AS-REP, verifies PA-PK-AS-REP and sets the reply key.
func (r *request) Process(ctx context.Context, cb preauth.Callbacks, in *preauth.Input) ([]types.PAData, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch in.PAData.PADataType {
	case PATypeFreshness:
		if !in.Reply && len(in.PAData.PADataValue) > 0 {
			r.freshness = slices.Clone(in.PAData.PADataValue)
		}
		return nil, nil
	case PATypePKINITKX:
		return nil, nil
	case PATypePKASRep:
		if !in.Reply {
			return nil, nil
		}
		if !r.sent {
			return nil, fmt.Errorf("%w: PA-PK-AS-REP without a PKINIT request", ErrBadReply)
		}
		return nil, r.processReply(cb, in)
	case PATypePKASReq:
		if in.Reply {
			return nil, nil
		}
		if !isAnonymous(cb) && len(identityStrings(cb)) == 0 && offersOtherMechanism(in.All) {
			// No identity is configured and the KDC offers a password
			// mechanism: stay out of its way rather than report "no
			// identity" in place of its error.
			return nil, nil
		}
		if r.groups == nil {
			g, err := configuredGroups(cb)
			if err != nil {
				return nil, err
			}
			r.groups = g
		}
		return r.makeRequest(ctx, cb, in)
	}
	return nil, nil
}

// offersOtherMechanism reports whether the KDC's offer holds a real type
// of another built-in mechanism (encrypted timestamp, encrypted challenge,
// OTP, SPAKE).
func offersOtherMechanism(pas types.PADataSequence) bool {
	for _, pa := range pas {
		switch pa.PADataType {
		case 2, 138, 141, 151:
			return true
		}
	}
	return false
}

// TryAgain answers KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED (RFC 4556
// §3.2.2, RFC 5349 §4) by dropping the rejected group and sending a new
// request with the next configured one, else a MODP group (2048, then
// 4096 bits). Only the groups the KDC lists in TD-DH-PARAMETERS are kept
// when the engine hands them over.
func (r *request) TryAgain(ctx context.Context, cb preauth.Callbacks, in *preauth.Input) ([]types.PAData, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if in.ErrorCode != errDHKeyParametersNotAccepted || !r.sent || len(r.groups) == 0 {
		return nil, nil
	}
	// The error is not authenticated, so it may only move the client to a
	// group at least as strong as the one refused (MIT skips parameters
	// shorter than what it offered), and only to one the KDC lists in
	// TD-DH-PARAMETERS: a forged error must not downgrade the exchange.
	algs, err := parseTDDHParameters(in.EData)
	if err != nil {
		return nil, nil
	}
	rejected := r.groups[0]
	rest := slices.Clone(r.groups[1:])
	for _, g := range []Group{GroupMODP2048, GroupMODP4096} {
		if !slices.Contains(rest, g) {
			rest = append(rest, g) // the MODP groups every PKINIT KDC knows
		}
	}
	rest = slices.DeleteFunc(rest, func(g Group) bool {
		return g == rejected || g.strength() < rejected.strength() || !kdcAccepts(algs, g)
	})
	if len(rest) == 0 {
		return nil, nil
	}
	r.groups = rest
	return r.makeRequest(ctx, cb, in)
}

// kdcAccepts reports whether TD-DH-PARAMETERS lists group g.
func kdcAccepts(algs []algorithmIdentifier, g Group) bool {
	for _, a := range algs {
		switch {
		case a.Algorithm.Equal(oidDHPublicNumber) && (g == GroupMODP2048 || g == GroupMODP4096):
			var dp domainParameters
			if _, err := stdasn1.Unmarshal(a.Parameters.FullBytes, &dp); err == nil {
				var p *big.Int
				if _, err := stdasn1.Unmarshal(dp.P.FullBytes, &p); err == nil && p.Cmp(modpPrime(g)) == 0 {
					return true
				}
			}
		case a.Algorithm.Equal(oidECPublicKey):
			var curve stdasn1.ObjectIdentifier
			if _, err := stdasn1.Unmarshal(a.Parameters.FullBytes, &curve); err == nil && curve.Equal(curveOIDs[g]) {
				return true
			}
		}
	}
	return false
}

// configuredGroups reads pkinit_dh_groups (default MODP2048).
func configuredGroups(cb preauth.Callbacks) ([]Group, error) {
	var out []Group
	for _, v := range cb.Config("pkinit_dh_groups") {
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			var g Group
			switch strings.ToUpper(f) {
			case "MODP2048", "MODP14", "MODP_2048":
				g = GroupMODP2048
			case "MODP4096", "MODP16", "MODP_4096":
				g = GroupMODP4096
			case "P-256", "P256", "SECP256R1":
				g = GroupP256
			case "P-384", "P384", "SECP384R1":
				g = GroupP384
			case "P-521", "P521", "SECP521R1":
				g = GroupP521
			default:
				return nil, fmt.Errorf("pkinit: unknown group %q in pkinit_dh_groups", f)
			}
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	if len(out) == 0 {
		// MIT's pkinit_dh_min_bits: 2048 by default; above that, 4096.
		out = []Group{GroupMODP2048}
		if v := cb.Config("pkinit_dh_min_bits"); len(v) > 0 {
			if n, err := strconv.Atoi(v[0]); err == nil && n > 2048 {
				out = []Group{GroupMODP4096}
			}
		}
	}
	return out, nil
}

// makeRequest builds PA-PK-AS-REQ for the request body in.ReqBody.
func (r *request) makeRequest(ctx context.Context, cb preauth.Callbacks, in *preauth.Input) ([]types.PAData, error) {
	anonymous := isAnonymous(cb)
	if !anonymous && r.id == nil {
		if err := r.loadIdentity(ctx, cb); err != nil {
			return nil, err
		}
	}
	body, err := decodeReqBody(in.ReqBody)
	if err != nil {
		return nil, err
	}
	ka, err := newKeyAgreement(r.groups[0])
	if err != nil {
		return nil, err
	}
	spki, err := ka.spki()
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(in.ReqBody)
	now := cb.PreauthTime(true).UTC()
	ap := authPack{
		PKAuthenticator: pkAuthenticator{
			Cusec:          now.Nanosecond() / 1000,
			Ctime:          now.Truncate(1e9),
			Nonce:          int64(body.Nonce),
			PAChecksum:     sum[:],
			FreshnessToken: r.freshness,
		},
		ClientPublicValue: contextExplicit(1, spki),
	}
	for _, k := range supportedKDFs {
		ap.SupportedKDFs = append(ap.SupportedKDFs, kdfAlgorithmID{KDFID: k})
	}
	apDER, err := stdasn1.Marshal(ap)
	if err != nil {
		return nil, err
	}
	var signed []byte
	if anonymous {
		signed, err = unsignedAuthPack(apDER)
	} else {
		signed, err = signAuthPack(apDER, r.id)
	}
	if err != nil {
		return nil, err
	}
	req, err := stdasn1.Marshal(paPKASReq{SignedAuthPack: signed})
	if err != nil {
		return nil, err
	}
	r.ka, r.sent = ka, true
	// As in MIT, a PKINIT request is a commitment: no fallback to a
	// password mechanism after it.
	cb.DisableFallback()
	return []types.PAData{{PADataType: PATypePKASReq, PADataValue: req}}, nil
}

// loadIdentity opens the first identity that loads, with the secret from
// the responder's answer, else from the prompter.
func (r *request) loadIdentity(ctx context.Context, cb preauth.Callbacks) error {
	if err := r.probe(cb); err != nil {
		return err
	}
	var pins map[string]string
	if a, ok := cb.Answer(responder.QuestionPKINIT); ok {
		p, err := responder.ParsePKINITAnswer(a)
		if err != nil {
			return err
		}
		pins = p
	}
	name, realm := cb.Client()
	want := func(c *x509.Certificate) bool { return certNamesClient(c, realm, name) }
	var errs []error
	for i, sp := range r.specs {
		n := r.needs[i]
		var secret *string
		if n.need {
			if n.locked {
				errs = append(errs, fmt.Errorf("pkinit: %s: %w", n.name, ErrPINLocked))
				continue
			}
			if pin, ok := pins[n.name]; ok {
				secret = &pin
			} else {
				replies, err := prompter.Fallback(ctx, cb.Prompter(), responder.QuestionPKINIT, "",
					[]prompter.Prompt{{Text: safetext.String(n.prompt), Hidden: true, Type: prompter.TypePreauth}}) // a token label
				if err != nil {
					errs = append(errs, err)
					continue
				}
				secret = &replies[0]
			}
		}
		id, err := sp.load(secret, want)
		if err != nil {
			if errors.Is(err, ErrIncorrectPIN) && !strings.Contains(err.Error(), n.name) {
				err = fmt.Errorf("pkinit: %s: %w", n.name, ErrIncorrectPIN)
			}
			errs = append(errs, err)
			continue
		}
		r.id = id
		return nil
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return fmt.Errorf("%w: %w", ErrNoIdentity, errors.Join(errs...))
}

// certNamesClient reports whether a certificate is for the client: its
// id-pkinit-san names the principal, or it has no such name (the KDC may
// map it otherwise).
func certNamesClient(c *x509.Certificate, realm string, name types.PrincipalName) bool {
	sans, err := pkinitSANs(c)
	if err != nil || len(sans) == 0 {
		return true
	}
	for _, s := range sans {
		if s.Realm == realm && slices.Equal(s.PrincipalName.NameString, name.NameString) {
			return true
		}
	}
	return false
}

// processReply verifies the KDC's PA-PK-AS-REP and sets the reply key
// (RFC 4556 §3.2.3-3.2.4, RFC 8636 §5).
func (r *request) processReply(cb preauth.Callbacks, in *preauth.Input) error {
	rep, err := parsePKASRep(in.PAData.PADataValue)
	if err != nil {
		return err
	}
	pol, err := policy(cb)
	if err != nil {
		return err
	}
	content, err := verifyKDCSignedData(rep.signedData, pol)
	if err != nil {
		return err
	}
	var info kdcDHKeyInfo
	if rest, err := stdasn1.Unmarshal(content, &info); err != nil || len(rest) > 0 {
		return fmt.Errorf("%w: KDCDHKeyInfo: %v", ErrBadReply, err)
	}
	body, err := decodeReqBody(in.ReqBody)
	if err != nil {
		return err
	}
	if info.Nonce != int64(body.Nonce) {
		return fmt.Errorf("%w: the KDC's DH nonce does not match the request", ErrBadReply)
	}
	secret, err := r.ka.shared(info.SubjectPublicKey.RightAlign())
	if err != nil {
		return err
	}
	etype := cb.Enctype()
	if err := checkEtype(etype); err != nil {
		return err
	}
	var key types.EncryptionKey
	if rep.kdf.KDFID != nil {
		name, realm := body.CName, body.Realm
		if isAnonymous(cb) {
			// MIT's KDC replaces the client of an anonymous request by
			// WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS before it derives
			// the key (do_as_req.c), so the KDF names that principal.
			name = types.PrincipalName{NameType: nameTypeWellKnown, NameString: []string{"WELLKNOWN", "ANONYMOUS"}}
			realm = anonymousRealm
		}
		key, err = agilityKDF(rep.kdf.KDFID, kdfInput{
			client: name, clientRealm: realm, server: body.SName, kdcRealm: body.Realm,
			etype: etype, asReq: in.PrevRequest, pkASRep: in.PAData.PADataValue, secret: secret,
		})
	} else {
		key, err = octetString2Key(etype, secret, nil, rep.nonce)
	}
	if err != nil {
		return err
	}
	cb.SetASKey(key)
	return nil
}

// policy reads how to check the KDC's certificate.
func policy(cb preauth.Callbacks) (kdcPolicy, error) {
	_, realm := cb.Client()
	// The KDC must be krbtgt/REALM@REALM of the client's realm (for an
	// anonymous client, the realm it asked).
	// Certificates are checked against the local clock, never the KDC
	// offset PreauthTime applies: that offset comes from an unauthenticated
	// KRB-ERROR, and would let a forged one revive an expired KDC
	// certificate.
	pol := kdcPolicy{realm: realm, hostnames: cb.Config("pkinit_kdc_hostname"), now: time.Now()}
	if len(cb.Config("pkinit_revoke")) > 0 || preauth.ConfigBool(cb, "pkinit_require_crl_checking", false) {
		// Fail closed: revocation checking is not implemented, and a site
		// that asked for it must not silently go without.
		return pol, fmt.Errorf("%w: pkinit_revoke or pkinit_require_crl_checking is set, but certificate revocation checking is not supported", ErrKDCNotTrusted)
	}
	for _, v := range cb.Config("pkinit_eku_checking") {
		if strings.EqualFold(v, "kpServerAuth") {
			pol.serverEKU = true
		}
	}
	roots, err := loadAnchors(cb.Config("pkinit_anchors"))
	if err != nil {
		return pol, err
	}
	pol.roots = roots
	return pol, nil
}

// loadAnchors reads pkinit_anchors: FILE:path (PEM, several certificates
// allowed) or DIR:path (every PEM file in it).
func loadAnchors(values []string) (*x509.CertPool, error) {
	var specs []string
	for _, v := range values {
		specs = append(specs, strings.Fields(v)...)
	}
	if len(specs) == 0 {
		return nil, ErrNoAnchors
	}
	pool := x509.NewCertPool()
	n := 0
	for _, s := range specs {
		kind, path, ok := strings.Cut(s, ":")
		if !ok {
			kind, path = "FILE", s
		}
		var files []string
		switch strings.ToUpper(kind) {
		case "FILE":
			files = []string{path}
		case "DIR":
			entries, err := os.ReadDir(path)
			if err != nil {
				return nil, fmt.Errorf("pkinit: pkinit_anchors: %w", err)
			}
			for _, e := range entries {
				if !e.IsDir() {
					files = append(files, filepath.Join(path, e.Name()))
				}
			}
		default:
			return nil, fmt.Errorf("pkinit: pkinit_anchors: unsupported type %q (FILE and DIR are supported)", kind)
		}
		for _, f := range files {
			certs, err := readCerts(f)
			if err != nil {
				if strings.ToUpper(kind) == "DIR" {
					continue
				}
				return nil, fmt.Errorf("pkinit: pkinit_anchors: %w", err)
			}
			for _, c := range certs {
				pool.AddCert(c)
				n++
			}
		}
	}
	if n == 0 {
		return nil, ErrNoAnchors
	}
	return pool, nil
}

// strength is a group's security strength in bits (NIST SP 800-57 part 1,
// table 2), to keep a retry from weakening the key agreement.
func (g Group) strength() int {
	switch g {
	case GroupMODP2048:
		return 112
	case GroupP256:
		return 128
	case GroupMODP4096:
		return 150
	case GroupP384:
		return 192
	case GroupP521:
		return 256
	}
	return 0
}
