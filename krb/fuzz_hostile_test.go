package krb

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/gokinit/gokinit/krb/prf"
)

// Fuzz targets of issue 12: the checks of the AS-REP's authenticated parts
// (PA-REQ-ENC-PA-REP, the anonymous PKINIT key exchange) and keytab
// loading. FuzzReqEncPARepValid's and FuzzLoadKeytab's seeds come from
// MIT's KDC (TestFuzzSeedsFromMIT writes them); the anonymous exchange's
// are built here with known keys, because the reply key of a real
// anonymous exchange comes out of a Diffie-Hellman the test cannot see.

// parseKeySpec reads "etype:hexkey"; ok is false unless the key has its
// enctype's length (the engine's keys always do).
func parseKeySpec(b []byte) (types.EncryptionKey, bool) {
	e, h, ok := strings.Cut(string(b), ":")
	if !ok {
		return types.EncryptionKey{}, false
	}
	n, err := strconv.Atoi(e)
	if err != nil {
		return types.EncryptionKey{}, false
	}
	kv, err := hex.DecodeString(h)
	if err != nil {
		return types.EncryptionKey{}, false
	}
	et, err := crypto.GetEtype(int32(n))
	if err != nil || et.GetKeyByteSize() != len(kv) && !(int32(n) == etypeID.AES256_CTS_HMAC_SHA384_192 && len(kv) == 32) {
		return types.EncryptionKey{}, false
	}
	return types.EncryptionKey{KeyType: int32(n), KeyValue: kv}, true
}

// FuzzReqEncPARepValid: the encrypted padata of an AS-REP (as MIT sends
// it), the request it vouches for, and the reply key. The check never
// panics; what it accepts carries a checksum of exactly that request
// under that key, and the same padata does not vouch for another request.
func FuzzReqEncPARepValid(f *testing.F) {
	f.Fuzz(func(t *testing.T, encPA, req, keySpec []byte) {
		key, ok := parseKeySpec(keySpec)
		if !ok {
			return
		}
		var pas types.PADataSequence
		if _, err := asn1.Unmarshal(encPA, &pas); err != nil {
			return
		}
		err := reqEncPARepValid(pas, req, key)
		if err != nil {
			checkBadReply(t, "reqEncPARepValid", err)
			return
		}
		v, _ := findPA(pas, paReqEncPARep)
		var sum types.Checksum
		if _, err := asn1.Unmarshal(v, &sum); err != nil {
			t.Fatalf("accepted an undecodable checksum: %v", err)
		}
		et, err := crypto.GetChksumEtype(sum.CksumType)
		if err != nil {
			t.Fatalf("accepted checksum type %d", sum.CksumType)
		}
		want, err := et.GetChecksumHash(key.KeyValue, req, usageASReq)
		if err != nil || !hmac.Equal(want, sum.Checksum) {
			t.Fatal("accepted a checksum that is not the request's")
		}
		if reqEncPARepValid(pas, append(req[:len(req):len(req)], 0), key) == nil {
			t.Fatal("the same checksum vouched for a longer request")
		}
	})
}

func findPA(pas types.PADataSequence, t int32) ([]byte, bool) {
	for _, p := range pas {
		if p.PADataType == t {
			return p.PADataValue, true
		}
	}
	return nil, false
}

// anonKX builds a PA-PKINIT-KX for reply key rk carrying contribution ck,
// and the session key the KDC would send.
func anonKX(tb testing.TB, rk, ck types.EncryptionKey) ([]byte, types.EncryptionKey) {
	tb.Helper()
	kb, err := asn1.Marshal(ck)
	if err != nil {
		tb.Fatal(err)
	}
	ed, err := crypto.GetEncryptedData(kb, rk, keyUsagePKINITKX, 0)
	if err != nil {
		tb.Fatal(err)
	}
	eb, err := asn1.Marshal(ed)
	if err != nil {
		tb.Fatal(err)
	}
	pas, err := asn1.Marshal(types.PADataSequence{{PADataType: paPKINITKX, PADataValue: eb}})
	if err != nil {
		tb.Fatal(err)
	}
	sess, err := prf.CF2(ck, rk, "PKINIT", "KEYEXCHANGE")
	if err != nil {
		tb.Fatal(err)
	}
	return pas, sess
}

func keySpec(k types.EncryptionKey) []byte {
	return []byte(strconv.Itoa(int(k.KeyType)) + ":" + hex.EncodeToString(k.KeyValue))
}

// FuzzVerifyAnonymousKX: the AS-REP padata of an anonymous PKINIT reply,
// the reply key and the session key. The check never panics, and accepts
// only a session key that is KRB-FX-CF2 of the contribution key it
// decrypts and the reply key.
func FuzzVerifyAnonymousKX(f *testing.F) {
	for _, e := range []int32{etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192} {
		et, _ := crypto.GetEtype(e)
		n := et.GetKeyByteSize()
		if e == etypeID.AES256_CTS_HMAC_SHA384_192 {
			n = 32
		}
		rk := types.EncryptionKey{KeyType: e, KeyValue: []byte(strings.Repeat("r", n))}
		ck := types.EncryptionKey{KeyType: e, KeyValue: []byte(strings.Repeat("c", n))}
		pas, sess := anonKX(f, rk, ck)
		f.Add(pas, keySpec(rk), keySpec(sess))
	}
	f.Fuzz(func(t *testing.T, pa, replySpec, sessSpec []byte) {
		rk, ok1 := parseKeySpec(replySpec)
		sk, ok2 := parseKeySpec(sessSpec)
		if !ok1 || !ok2 {
			return
		}
		var pas types.PADataSequence
		if _, err := asn1.Unmarshal(pa, &pas); err != nil {
			return
		}
		if err := verifyAnonymousKX(pas, rk, sk); err != nil {
			checkBadReply(t, "verifyAnonymousKX", err)
			return
		}
		v, _ := findPA(pas, paPKINITKX)
		var ed types.EncryptedData
		if _, err := asn1.Unmarshal(v, &ed); err != nil {
			t.Fatal("accepted undecodable PA-PKINIT-KX")
		}
		plain, err := crypto.DecryptEncPart(ed, rk, keyUsagePKINITKX)
		if err != nil {
			t.Fatal("accepted PA-PKINIT-KX that does not decrypt")
		}
		var ck types.EncryptionKey
		if _, err := asn1.Unmarshal(plain, &ck); err != nil {
			t.Fatal("accepted a contribution key that does not decode")
		}
		want, err := prf.CF2(ck, rk, "PKINIT", "KEYEXCHANGE")
		if err != nil || !hmac.Equal(want.KeyValue, sk.KeyValue) {
			t.Fatal("accepted a session key that is not KRB-FX-CF2(contribution, reply key)")
		}
	})
}

// FuzzLoadKeytab: a keytab file's bytes. Loading never panics and fails
// with a *KeytabError that does not hold the file's contents.
func FuzzLoadKeytab(f *testing.F) {
	f.Add([]byte{0x05, 0x02})
	f.Add([]byte{0x05, 0x02, 0xff, 0xff, 0xff, 0xff})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "kt")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		kt, err := LoadKeytab("FILE:" + p)
		if err != nil {
			var kerr *KeytabError
			if !errors.As(err, &kerr) {
				t.Fatalf("error %v (%T) is not a *KeytabError", err, err)
			}
			if len(b) >= 8 && strings.Contains(err.Error(), string(b)) {
				t.Fatal("the error holds the file's contents")
			}
			return
		}
		for _, e := range kt.Entries {
			_ = e.Principal.Realm
		}
	})
}

// TestMITEncPARepSeedVerifies: the seed captured from MIT's KDC passes the
// check (so the fuzzer starts from an accepted input), and fails once the
// request or the checksum is changed.
func TestMITEncPARepSeedVerifies(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzReqEncPARepValid", "mit-enc-padata"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")[1:]
	if len(lines) != 3 {
		t.Fatalf("%d values in the seed", len(lines))
	}
	var vals [][]byte
	for _, l := range lines {
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(l, "[]byte("), ")"))
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, []byte(s))
	}
	key, ok := parseKeySpec(vals[2])
	if !ok {
		t.Fatal("bad key in the seed")
	}
	var pas types.PADataSequence
	if _, err := asn1.Unmarshal(vals[0], &pas); err != nil {
		t.Fatal(err)
	}
	if err := reqEncPARepValid(pas, vals[1], key); err != nil {
		t.Fatalf("MIT's PA-REQ-ENC-PA-REP does not verify: %v", err)
	}
	req := append([]byte(nil), vals[1]...)
	req[len(req)/2] ^= 1
	if err := reqEncPARepValid(pas, req, key); !errors.Is(err, ErrBadReply) {
		t.Fatalf("a modified request verified: %v", err)
	}
}
