package pkinit

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	stdasn1 "encoding/asn1"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
)

// supportedKDFs are the RFC 8636 KDFs the client offers, in preference
// order (MIT 1.20 offers SHA-256, SHA-1, SHA-512).
var supportedKDFs = []stdasn1.ObjectIdentifier{oidKDFSHA256, oidKDFSHA1, oidKDFSHA512}

func kdfHash(oid stdasn1.ObjectIdentifier) (func() hash.Hash, bool) {
	switch {
	case oid.Equal(oidKDFSHA1):
		return sha1.New, true
	case oid.Equal(oidKDFSHA256):
		return sha256.New, true
	case oid.Equal(oidKDFSHA512):
		return sha512.New, true
	}
	return nil, false
}

// keyLength returns the random-to-key input length (the "key bytes") of an
// enctype, and its key length.
func keyLength(etype int32) (seed, key int, err error) {
	switch etype {
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA256_128:
		return 16, 16, nil
	case etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA384_192:
		return 32, 32, nil
	case etypeID.DES3_CBC_SHA1_KD:
		return 21, 24, nil
	}
	return 0, 0, fmt.Errorf("pkinit: no key derivation for enctype %d", etype)
}

// randomToKey is the enctype's random-to-key (RFC 3961 §3): the identity
// for AES, parity expansion for triple DES (RFC 3961 §6.3.1).
func randomToKey(etype int32, seed []byte) []byte {
	if etype != etypeID.DES3_CBC_SHA1_KD {
		return seed
	}
	out := make([]byte, 0, 24)
	for i := 0; i < 3; i++ {
		out = append(out, des3Fold(seed[i*7:i*7+7])...)
	}
	return out
}

// des3Fold expands 7 random bytes into an 8-byte DES key with odd parity.
func des3Fold(in []byte) []byte {
	out := make([]byte, 8)
	var last byte
	for i := 0; i < 7; i++ {
		out[i] = in[i] & 0xfe
		last |= (in[i] & 1) << (i + 1)
	}
	out[7] = last
	for i := range out {
		b := out[i] & 0xfe
		p := b ^ b>>4
		p ^= p >> 2
		p ^= p >> 1
		if p&1 == 0 {
			b |= 1
		}
		out[i] = b
	}
	return out
}

// octetString2Key is RFC 4556 §3.2.3.1's octetstring2key: K-truncate of
// SHA-1(0 | x) | SHA-1(1 | x) | ..., where x is the shared secret followed
// by the nonces, then random-to-key.
func octetString2Key(etype int32, secret, clientNonce, serverNonce []byte) (types.EncryptionKey, error) {
	seedLen, _, err := keyLength(etype)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	x := append(append(append([]byte(nil), secret...), clientNonce...), serverNonce...)
	var out []byte
	for counter := 0; len(out) < seedLen; counter++ {
		h := sha1.New()
		h.Write([]byte{byte(counter)})
		h.Write(x)
		out = h.Sum(out)
	}
	return types.EncryptionKey{KeyType: etype, KeyValue: randomToKey(etype, out[:seedLen])}, nil
}

// pkinitSuppPubInfo is PkinitSuppPubInfo (RFC 8636 §6).
type pkinitSuppPubInfo struct {
	EncType int32  `asn1:"explicit,tag:0"`
	ASReq   []byte `asn1:"explicit,tag:1"`
	PKASRep []byte `asn1:"explicit,tag:2"`
}

// otherInfo is the OtherInfo of RFC 8636 §6 (NIST SP 800-56A).
type otherInfo struct {
	AlgorithmID struct {
		Algorithm stdasn1.ObjectIdentifier
	}
	PartyUInfo  []byte `asn1:"explicit,tag:0"`
	PartyVInfo  []byte `asn1:"explicit,tag:1"`
	SuppPubInfo []byte `asn1:"explicit,tag:2"`
}

// kdfInput names the parties and messages that RFC 8636 binds into the key.
type kdfInput struct {
	client, server         types.PrincipalName
	clientRealm, kdcRealm  string
	etype                  int32
	asReq, pkASRep, secret []byte
}

// encodeOtherInfo returns the DER OtherInfo for a KDF.
func encodeOtherInfo(kdf stdasn1.ObjectIdentifier, in kdfInput) ([]byte, error) {
	u, err := asn1.Marshal(krb5PrincipalName{Realm: in.clientRealm, PrincipalName: in.client})
	if err != nil {
		return nil, err
	}
	v, err := asn1.Marshal(krb5PrincipalName{Realm: in.kdcRealm, PrincipalName: in.server})
	if err != nil {
		return nil, err
	}
	supp, err := stdasn1.Marshal(pkinitSuppPubInfo{EncType: in.etype, ASReq: in.asReq, PKASRep: in.pkASRep})
	if err != nil {
		return nil, err
	}
	var oi otherInfo
	oi.AlgorithmID.Algorithm = kdf
	oi.PartyUInfo, oi.PartyVInfo, oi.SuppPubInfo = u, v, supp
	return stdasn1.Marshal(oi)
}

// agilityKDF is the key derivation of RFC 8636 §5: the NIST SP 800-56A
// concatenation KDF with the hash that kdf names, over the shared secret
// and OtherInfo, truncated to the enctype's random-to-key input.
func agilityKDF(kdf stdasn1.ObjectIdentifier, in kdfInput) (types.EncryptionKey, error) {
	newHash, ok := kdfHash(kdf)
	if !ok {
		return types.EncryptionKey{}, fmt.Errorf("%w: the KDC chose KDF %v, which was not offered", ErrBadReply, kdf)
	}
	seedLen, _, err := keyLength(in.etype)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	info, err := encodeOtherInfo(kdf, in)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	var out []byte
	var ctr [4]byte
	for i := uint32(1); len(out) < seedLen; i++ {
		h := newHash()
		binary.BigEndian.PutUint32(ctr[:], i)
		h.Write(ctr[:])
		h.Write(in.secret)
		h.Write(info)
		out = h.Sum(out)
	}
	return types.EncryptionKey{KeyType: in.etype, KeyValue: randomToKey(in.etype, out[:seedLen])}, nil
}

// checkEtype makes sure gokrb5 can use a key of this enctype.
func checkEtype(etype int32) error {
	_, err := crypto.GetEtype(etype)
	return err
}
