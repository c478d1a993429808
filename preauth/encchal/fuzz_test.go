package encchal

import (
	"errors"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb/prf"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
)

// FuzzVerifyKDCChallenge: the KDC's PA-ENCRYPTED-CHALLENGE in the AS-REP
// (RFC 6113 §5.4.6), as a hostile KDC or a FAST-stripping attacker sends
// it. It never panics (gokrb5's decryption is behind a recover), and what
// it accepts decrypts under the KDC challenge key to a PA-ENC-TS-ENC.
func FuzzVerifyKDCChallenge(f *testing.F) {
	armor := types.EncryptionKey{KeyType: etypeID.AES256_CTS_HMAC_SHA1_96, KeyValue: make([]byte, 32)}
	longTerm := types.EncryptionKey{KeyType: etypeID.AES256_CTS_HMAC_SHA1_96, KeyValue: []byte("0123456789abcdef0123456789abcdef")}
	key, err := prf.CF2(armor, longTerm, "kdcchallengearmor", "challengelongterm")
	if err != nil {
		f.Fatal(err)
	}
	ts, err := asn1.Marshal(types.PAEncTSEnc{PATimestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), PAUSec: 7})
	if err != nil {
		f.Fatal(err)
	}
	ed, err := crypto.GetEncryptedData(ts, key, usageKDCChallenge, 0)
	if err != nil {
		f.Fatal(err)
	}
	good, err := asn1.Marshal(ed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x30, 0x03, 0xa0, 0x01, 0x12})
	f.Fuzz(func(t *testing.T, v []byte) {
		form, err := verifyKDCChallenge(armor, longTerm, v)
		if err != nil {
			if !errors.Is(err, ErrKDCChallenge) {
				t.Fatalf("error %v does not wrap ErrKDCChallenge", err)
			}
			return
		}
		if len(v) == 0 {
			return // no challenge: nothing to verify
		}
		var e types.EncryptedData
		if _, err := asn1.Unmarshal(v, &e); err != nil {
			t.Fatal("accepted an undecodable challenge")
		}
		pepper := map[string]string{FormRFC6113: "kdcchallengearmor", FormClientKey: "clientchallengearmor"}[form]
		if pepper == "" {
			t.Fatalf("accepted with form %q", form)
		}
		fkey, err := prf.CF2(armor, longTerm, pepper, "challengelongterm")
		if err != nil {
			t.Fatal(err)
		}
		plain, err := crypto.DecryptEncPart(e, fkey, usageKDCChallenge)
		if err != nil {
			t.Fatal("accepted a challenge that does not decrypt")
		}
		var got types.PAEncTSEnc
		if _, err := asn1.Unmarshal(plain, &got); err != nil {
			t.Fatal("accepted a challenge that is not a PA-ENC-TS-ENC")
		}
	})
}
