package krb

import (
	"bytes"
	"errors"
	"testing"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// fuzzArmorKey is a fixed armor key, so that the FAST reply fuzzer can be
// seeded with replies that decrypt and explore the decoder behind it.
var fuzzArmorKey = types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{0x42}, 32)}

// sampleFASTResponse is a KrbFastResponse as MIT's KDC builds one for an
// AS-REP: padata, a strengthen key, the finished message and the nonce.
func sampleFASTResponse(t testing.TB) []byte {
	b, err := asn1.Marshal(krbFastResponse{
		PAData:        types.PADataSequence{{PADataType: paFXCookie, PADataValue: []byte("cookie")}},
		StrengthenKey: types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{1}, 32)},
		Finished: krbFastFinished{
			CRealm: "EXAMPLE.TEST", CName: types.NewPrincipalName(1, "alice"),
			TicketChecksum: types.Checksum{CksumType: 16, Checksum: bytes.Repeat([]byte{2}, 12)},
		},
		Nonce: 12345,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// armoredReply wraps a KrbFastResponse as PA-FX-FAST-REPLY under key.
func armoredReply(t testing.TB, resp []byte, key types.EncryptionKey) []byte {
	enc, err := crypto.GetEncryptedData(resp, key, usageFastRep, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := asn1.Marshal(krbFastArmoredRep{EncFastRep: enc})
	if err != nil {
		t.Fatal(err)
	}
	b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: rep})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeFASTReply feeds PA-FX-FAST-REPLY values: the outer CHOICE and
// KrbFastArmoredRep, then (for inputs that decrypt) KrbFastResponse.
func FuzzDecodeFASTReply(f *testing.F) {
	resp := sampleFASTResponse(f)
	f.Add(armoredReply(f, resp, fuzzArmorKey))
	f.Add(armoredReply(f, resp[:len(resp)-3], fuzzArmorKey))
	f.Add(armoredReply(f, []byte{0x30, 0x00}, fuzzArmorKey))
	f.Add([]byte{0xa0, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeFASTReply(b, fuzzArmorKey)
		if err != nil {
			checkBadReply(t, "decodeFASTReply", err)
			if r != nil {
				t.Fatal("decodeFASTReply returned a response with an error")
			}
		}
	})
}

// FuzzDecodeFASTResponse feeds decrypted KrbFastResponse bytes, the part
// an attacker who knows no key cannot reach but a broken KDC can.
func FuzzDecodeFASTResponse(f *testing.F) {
	resp := sampleFASTResponse(f)
	f.Add(resp)
	f.Add(resp[:len(resp)/2])
	f.Add([]byte{0x30, 0x03, 0xa0, 0x01, 0x30})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeFASTResponse(b)
		if err != nil {
			checkBadReply(t, "decodeFASTResponse", err)
			return
		}
		// What decodes must survive the checks the engine runs on it.
		f := &fastState{armorKey: fuzzArmorKey}
		if _, err := f.verifyFinished(r, []byte("ticket")); err == nil {
			t.Fatal("a fuzzed finished message verified")
		}
	})
}

// FuzzDecodeFXError feeds PA-FX-ERROR values: a KRB-ERROR inside FAST.
func FuzzDecodeFXError(f *testing.F) {
	kerr := newSampleKRBError(f)
	f.Add(kerr)
	f.Add(kerr[:len(kerr)-1])
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeFXError(b)
		if err != nil {
			checkBadReply(t, "decodeFXError", err)
			return
		}
		if _, err := decodeMethodData(e.EData); err != nil {
			checkBadReply(t, "decodeMethodData", err)
		}
	})
}

func newSampleKRBError(t testing.TB) []byte {
	pa, err := asn1.Marshal(types.PADataSequence{{PADataType: paFXCookie, PADataValue: []byte("c")}})
	if err != nil {
		t.Fatal(err)
	}
	e := kdcErrorMessage(ErrCodePreauthRequired, pa)
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func kdcErrorMessage(code int32, edata []byte) *messages.KRBError {
	e := messages.NewKRBError(types.NewPrincipalName(2, "krbtgt/EXAMPLE.TEST"), "EXAMPLE.TEST", code, "")
	e.EData = edata
	return &e
}

// FuzzRenewReply feeds the renewal (kinit -R) reply decoder: a TGS-REP, a
// KRB-ERROR or garbage must give a reply or an error, never a panic, and
// never credentials for bytes that do not decrypt.
func FuzzRenewReply(f *testing.F) {
	f.Add(newSampleKRBError(f))
	f.Add([]byte{tagTGSRep, 0x03, 0x30, 0x01, 0x00})
	f.Add([]byte{})
	old := &Credentials{
		Client:     Principal{Name: types.NewPrincipalName(1, "alice"), Realm: "EXAMPLE.TEST"},
		Server:     TGSPrincipal("EXAMPLE.TEST"),
		SessionKey: fuzzArmorKey,
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := renewReply(b, old, 1)
		if err == nil || c != nil {
			t.Fatalf("renewReply accepted fuzzed bytes: %v", err)
		}
		var kerr *KDCError
		if !errors.As(err, &kerr) {
			checkBadReply(t, "renewReply", err)
		}
	})
}

// FuzzKpasswdReply feeds the kpasswd (RFC 3244) reply decoder used when an
// expired password is changed: a result, a typed error or ErrBadReply,
// never a panic and never success from bytes our subkey did not protect.
func FuzzKpasswdReply(f *testing.F) {
	f.Add([]byte{0x00, 0x06, 0x00, 0x01, 0x00, 0x00})
	f.Add([]byte{0x00, 0x08, 0x00, 0x01, 0x00, 0x02, 0x30, 0x00})
	f.Add(newSampleKRBError(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := parseKpasswdReply(b, fuzzArmorKey, Principal{})
		if err == nil {
			if res.Code == kpasswdSuccess {
				t.Fatalf("success from fuzzed bytes")
			}
			return
		}
		var kerr *KDCError
		if !errors.As(err, &kerr) {
			checkBadReply(t, "parseKpasswdReply", err)
		}
	})
}
