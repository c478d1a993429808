// Package prf implements the Kerberos pseudo-random function of each
// supported enctype (RFC 3961 §3), PRF+ and KRB-FX-CF2 (RFC 6113 §5.1),
// which FAST uses to build armor keys.
//
// gokrb5's rfc3961.PseudoRandom is deliberately not used: it truncates the
// SHA-1 hash to the enctype's "message block size", which gokrb5 sets to 1
// for AES, so its AES PRF output is wrong. gokrb5 is used only for the
// simplified-profile key derivation DK (RFC 3961 §5.1) and for des3
// random-to-key, both of which are checked against MIT's vectors in the
// tests. Key and seed lengths come from the table below, not from gokrb5,
// whose metadata is wrong for aes256-cts-hmac-sha384-192 (it reports 24-byte
// keys) and whose rc4-hmac random-to-key hashes with MD4 instead of being
// the identity.
package prf

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/crypto/rfc3961"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
)

// ErrUnsupported is returned (wrapped) for an enctype this package has no
// verified PRF for.
var ErrUnsupported = errors.New("prf: unsupported enctype")

// prfConstant is the RFC 3961 §5.3 well-known constant for DK(key, "prf").
var prfConstant = []byte("prf")

// profile describes what PRF, PRF+ and CF2 need to know about an enctype.
type profile struct {
	keyLen      int // protocol key length in bytes
	seedLen     int // random-to-key input length in bytes (RFC 3961 §3 "key-generation seed length")
	prf         func(key, input []byte) ([]byte, error)
	randomToKey func(seed []byte) []byte
}

// identity is random-to-key for AES (RFC 3962 §6, RFC 8009 §5) and rc4-hmac
// (RFC 4757, as MIT implements it): the seed is the key.
func identity(seed []byte) []byte { return append([]byte(nil), seed...) }

var profiles = map[int32]profile{
	etypeID.DES3_CBC_SHA1_KD: {
		keyLen: 24, seedLen: 21,
		prf:         simplifiedPRF(crypto.Des3CbcSha1Kd{}, des.NewTripleDESCipher),
		randomToKey: rfc3961.DES3RandomToKey, // RFC 3961 §6.3.1; checked by the cf2 des3 vector
	},
	etypeID.AES128_CTS_HMAC_SHA1_96: {
		keyLen: 16, seedLen: 16,
		prf:         simplifiedPRF(crypto.Aes128CtsHmacSha96{}, aes.NewCipher),
		randomToKey: identity,
	},
	etypeID.AES256_CTS_HMAC_SHA1_96: {
		keyLen: 32, seedLen: 32,
		prf:         simplifiedPRF(crypto.Aes256CtsHmacSha96{}, aes.NewCipher),
		randomToKey: identity,
	},
	etypeID.AES128_CTS_HMAC_SHA256_128: {
		keyLen: 16, seedLen: 16,
		prf:         sha2PRF(sha256.New, 256),
		randomToKey: identity,
	},
	etypeID.AES256_CTS_HMAC_SHA384_192: {
		keyLen: 32, seedLen: 32,
		prf:         sha2PRF(sha512.New384, 384),
		randomToKey: identity,
	},
	etypeID.RC4_HMAC: {
		keyLen: 16, seedLen: 16,
		prf:         rc4PRF,
		randomToKey: identity,
	},
}

// lookup returns the profile of key's enctype after checking the key length,
// so the PRFs below never see a malformed key.
func lookup(key types.EncryptionKey) (profile, error) {
	p, ok := profiles[key.KeyType]
	if !ok {
		return profile{}, fmt.Errorf("%w %d", ErrUnsupported, key.KeyType)
	}
	if len(key.KeyValue) != p.keyLen {
		return profile{}, fmt.Errorf("prf: enctype %d key is %d bytes, want %d", key.KeyType, len(key.KeyValue), p.keyLen)
	}
	return p, nil
}

// PRF is the enctype's pseudo-random function (RFC 3961 §3 "pseudo-random"):
//
//   - aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18), RFC 3962 §6
//     (the RFC 3961 §5.3 simplified profile): SHA-1(input) truncated to a
//     multiple of the AES block size (16 bytes), encrypted with AES-CBC, zero
//     IV, under DK(key, "prf"); 16 bytes.
//   - aes128-cts-hmac-sha256-128 (19) and aes256-cts-hmac-sha384-192 (20),
//     RFC 8009 §5: KDF-HMAC-SHA2(key, "prf", input, 256 or 384); 32 or 48 bytes.
//   - des3-cbc-sha1-kd (16), RFC 3961 §5.3 simplified profile with 3DES-CBC
//     (block size 8); 16 bytes.
//   - rc4-hmac (23): HMAC-SHA1(key, input) as MIT krb5 implements it (RFC 4757
//     defines no PRF; RFC 6113 interoperability relies on MIT's choice); 20 bytes.
//
// des3 and rc4 have no direct PRF vectors; they are verified through MIT's
// KRB-FX-CF2 vectors.
func PRF(key types.EncryptionKey, input []byte) ([]byte, error) {
	p, err := lookup(key)
	if err != nil {
		return nil, err
	}
	return p.prf(key.KeyValue, input)
}

// PRFPlus is PRF+ (RFC 6113 §5.1):
// PRF(key, 0x01||pepper) || PRF(key, 0x02||pepper) || ..., truncated to n
// bytes. The counter is a single octet, so at most 255 PRF outputs can be
// produced; asking for more is an error rather than a silent wrap-around.
func PRFPlus(key types.EncryptionKey, pepper []byte, n int) ([]byte, error) {
	p, err := lookup(key)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("prf: negative PRF+ length %d", n)
	}
	in := make([]byte, 1+len(pepper))
	copy(in[1:], pepper)
	out := make([]byte, 0, n)
	for counter := 1; len(out) < n; counter++ {
		if counter > 255 {
			return nil, fmt.Errorf("prf: PRF+ length %d needs more than 255 PRF blocks", n)
		}
		in[0] = byte(counter)
		block, err := p.prf(key.KeyValue, in)
		if err != nil {
			return nil, err
		}
		out = append(out, block...)
	}
	return out[:n], nil
}

// CF2 is KRB-FX-CF2(key1, key2, pepper1, pepper2) (RFC 6113 §5.1):
// random-to-key(PRF+(key1, pepper1) XOR PRF+(key2, pepper2)), where both PRF+
// outputs are as long as key1's enctype's random-to-key input, and the
// result has key1's enctype. The keys may be of different enctypes, as RFC
// 6113 and MIT's krb5_c_fx_cf2_simple allow: encrypted challenge combines the
// armor key with the client's long-term key, which need not match.
func CF2(key1, key2 types.EncryptionKey, pepper1, pepper2 string) (types.EncryptionKey, error) {
	p, err := lookup(key1)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	if _, err := lookup(key2); err != nil {
		return types.EncryptionKey{}, err
	}
	a, err := PRFPlus(key1, []byte(pepper1), p.seedLen)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	b, err := PRFPlus(key2, []byte(pepper2), p.seedLen)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	for i := range a {
		a[i] ^= b[i]
	}
	return types.EncryptionKey{KeyType: key1.KeyType, KeyValue: p.randomToKey(a)}, nil
}

// SeedLength is the enctype's random-to-key input length in bytes (RFC 3961
// §3 "key-generation seed length").
func SeedLength(etype int32) (int, error) {
	p, ok := profiles[etype]
	if !ok {
		return 0, fmt.Errorf("%w %d", ErrUnsupported, etype)
	}
	return p.seedLen, nil
}

// RandomToKey turns a seed of SeedLength bytes into a key of the enctype
// (RFC 3961 §3 "random-to-key": parity bits for des3, the seed itself for
// AES and rc4-hmac).
func RandomToKey(etype int32, seed []byte) (types.EncryptionKey, error) {
	p, ok := profiles[etype]
	if !ok {
		return types.EncryptionKey{}, fmt.Errorf("%w %d", ErrUnsupported, etype)
	}
	if len(seed) != p.seedLen {
		return types.EncryptionKey{}, fmt.Errorf("prf: enctype %d seed is %d bytes, want %d", etype, len(seed), p.seedLen)
	}
	return types.EncryptionKey{KeyType: etype, KeyValue: p.randomToKey(seed)}, nil
}

// RandomKey returns a fresh random key of the enctype (random-to-key of a
// random seed), such as a FAST armor subkey. gokrb5's key sizes are wrong for
// aes256-cts-hmac-sha384-192, so this uses the table above.
func RandomKey(etype int32) (types.EncryptionKey, error) {
	p, ok := profiles[etype]
	if !ok {
		return types.EncryptionKey{}, fmt.Errorf("%w %d", ErrUnsupported, etype)
	}
	seed := make([]byte, p.seedLen)
	if _, err := rand.Read(seed); err != nil {
		return types.EncryptionKey{}, err
	}
	return types.EncryptionKey{KeyType: etype, KeyValue: p.randomToKey(seed)}, nil
}

// simplifiedPRF is the RFC 3961 §5.3 simplified-profile PRF:
// tmp1 = SHA-1(input) truncated to a multiple of the cipher block size,
// output = E(DK(key, "prf"), tmp1) with a zero IV. For the cipher-block sized
// inputs used here, AES-CTS (RFC 3962) and plain CBC coincide, so CBC serves
// both AES and 3DES.
func simplifiedPRF(et etype.EType, newCipher func([]byte) (cipher.Block, error)) func(key, input []byte) ([]byte, error) {
	return func(key, input []byte) ([]byte, error) {
		dk, err := et.DeriveKey(key, prfConstant)
		if err != nil {
			return nil, fmt.Errorf("prf: DK(key, \"prf\"): %w", err)
		}
		block, err := newCipher(dk)
		if err != nil {
			return nil, err
		}
		sum := sha1.Sum(input)
		tmp := sum[:len(sum)/block.BlockSize()*block.BlockSize()]
		out := make([]byte, len(tmp))
		cipher.NewCBCEncrypter(block, make([]byte, block.BlockSize())).CryptBlocks(out, tmp)
		return out, nil
	}
}

// sha2PRF is the RFC 8009 §5 PRF: KDF-HMAC-SHA2(key, "prf", input, bits),
// where (RFC 8009 §3) KDF-HMAC-SHA2 = first bits/8 bytes of
// HMAC(key, be32(1) | label | 0x00 | context | be32(bits)). bits equals the
// hash size, so no truncation happens and one HMAC suffices.
func sha2PRF(newHash func() hash.Hash, bits uint32) func(key, input []byte) ([]byte, error) {
	return func(key, input []byte) ([]byte, error) {
		mac := hmac.New(newHash, key)
		var be [4]byte
		binary.BigEndian.PutUint32(be[:], 1)
		mac.Write(be[:])
		mac.Write(prfConstant)
		mac.Write([]byte{0})
		mac.Write(input)
		binary.BigEndian.PutUint32(be[:], bits)
		mac.Write(be[:])
		return mac.Sum(nil)[:bits/8], nil
	}
}

// rc4PRF is MIT krb5's rc4-hmac PRF: HMAC-SHA1 keyed with the protocol key.
func rc4PRF(key, input []byte) ([]byte, error) {
	mac := hmac.New(sha1.New, key)
	mac.Write(input)
	return mac.Sum(nil), nil
}
