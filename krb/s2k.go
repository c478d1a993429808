package krb

import (
	"context"
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/rfc8009"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
)

// s2kCheckEvery is how many PBKDF2 iterations run between looks at the
// context: about 0.3 ms of HMAC-SHA1 on a slow core, so a cancel is seen
// well within 100 ms even at maxPBKDF2Iterations (about 8 s of work).
const s2kCheckEvery = 1024

// stringToKey derives the long-term key from a password (RFC 3961 §3's
// string-to-key) as gokrb5's StringToKey does, but observes ctx: for the
// PBKDF2 enctypes (RFC 3962 §4, RFC 8009 §4), whose iteration count the
// unauthenticated KDC chooses (up to maxPBKDF2Iterations, MIT's bound),
// the derivation runs in chunks and returns ctx.Err() soon after ctx ends.
// The result is gokrb5's, byte for byte (tested against RFC 3962's
// vectors and gokrb5). Other enctypes have no iteration count and are
// derived by gokrb5 directly.
func stringToKey(ctx context.Context, etype int32, password, salt, params string) ([]byte, error) {
	et, err := crypto.GetEtype(etype)
	if err != nil {
		return nil, err
	}
	var keyLen int
	switch etype {
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96:
		keyLen = et.GetKeyByteSize()
	case etypeID.AES128_CTS_HMAC_SHA256_128:
		keyLen = et.GetKeyByteSize()
		salt = rfc8009.GetSaltP(salt, "aes128-cts-hmac-sha256-128")
	case etypeID.AES256_CTS_HMAC_SHA384_192:
		keyLen = 32 // gokrb5's key size for this enctype is the checksum's
		salt = rfc8009.GetSaltP(salt, "aes256-cts-hmac-sha384-192")
	default:
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return et.StringToKey(password, salt, params)
	}
	b, err := hex.DecodeString(params)
	if err != nil || len(b) != 4 {
		return nil, fmt.Errorf("invalid string-to-key parameters %q", params)
	}
	iter := int(binary.BigEndian.Uint32(b))
	if iter == 0 || iter > maxPBKDF2Iterations {
		return nil, fmt.Errorf("string-to-key iteration count %d out of range", iter)
	}
	tk, err := pbkdf2(ctx, et.GetHashFunc(), []byte(password), []byte(salt), iter, keyLen)
	if err != nil {
		return nil, err
	}
	return et.DeriveKey(et.RandomToKey(tk), []byte("kerberos"))
}

// pbkdf2 is PBKDF2 (RFC 8018 §5.2) with HMAC over h, checking ctx every
// s2kCheckEvery iterations.
func pbkdf2(ctx context.Context, h func() hash.Hash, password, salt []byte, iter, keyLen int) ([]byte, error) {
	prf := hmac.New(h, password)
	hLen := prf.Size()
	blocks := (keyLen + hLen - 1) / hLen
	out := make([]byte, 0, blocks*hLen)
	var ibuf [4]byte
	u := make([]byte, 0, hLen)
	t := make([]byte, hLen)
	for block := 1; block <= blocks; block++ {
		prf.Reset()
		prf.Write(salt)
		binary.BigEndian.PutUint32(ibuf[:], uint32(block))
		prf.Write(ibuf[:])
		u = prf.Sum(u[:0])
		copy(t, u)
		for n := 2; n <= iter; n++ {
			if n%s2kCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			prf.Reset()
			prf.Write(u)
			u = prf.Sum(u[:0])
			for i := range t {
				t[i] ^= u[i]
			}
		}
		out = append(out, t...)
	}
	return out[:keyLen], nil
}
