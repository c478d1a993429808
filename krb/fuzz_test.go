package krb

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// The fuzz targets feed hostile bytes to everything that reads KDC input:
// the decoders must fail with an error wrapping ErrBadReply and never
// panic, and a Login must never turn such bytes into credentials.
//
// The seed corpora in testdata/fuzz/<FuzzName> hold real messages from
// MIT's KDC (krbtest realm KRBTEST.GOKINIT.TEST, principals "alice" with
// password "alice-pw-1", preauth required, and "nopreauth" with
// "nopreauth-pw"): a KRB-ERROR PREAUTH_REQUIRED carrying METHOD-DATA, a
// PREAUTH_FAILED, a C_PRINCIPAL_UNKNOWN, an AS-REP for nopreauth and one for
// alice after encrypted timestamp, the KDC's ETYPE-INFO2, and a decrypted
// EncASRepPart whose session key bytes were zeroed; plus truncated and
// empty inputs. The realm they came from no longer exists.

// fuzzRealm is the realm of the captured seeds.
const fuzzRealm = "KRBTEST.GOKINIT.TEST"

// Principals and passwords of the captured seeds (test data).
const (
	fuzzAlice     = "alice"
	fuzzAlicePW   = "alice-pw-1"
	fuzzNoPreauth = "nopreauth"
	fuzzNoPreauPW = "nopreauth-pw"
)

// checkBadReply fails unless err is a decoding failure as the engine
// promises: it wraps ErrBadReply.
func checkBadReply(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrBadReply) {
		t.Fatalf("%s: error %v (%T) does not wrap ErrBadReply", what, err, err)
	}
}

func FuzzDecodeASRep(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := decodeASRep(b)
		if err != nil {
			checkBadReply(t, "decodeASRep", err)
			if rep != nil {
				t.Fatal("decodeASRep returned a reply with an error")
			}
			return
		}
		if rep.PVNO != 5 || rep.MsgType != 11 {
			t.Fatalf("accepted pvno %d msg-type %d", rep.PVNO, rep.MsgType)
		}
		if len(b) == 0 || b[0] != tagASRep {
			t.Fatalf("accepted an AS-REP that does not start with tag 0x%02x", tagASRep)
		}
		// The ticket kept as encoded is what goes into the ccache: it must
		// be a Ticket on its own.
		var tkt messages.Ticket
		if err := tkt.Unmarshal(rep.Ticket.Bytes); err != nil {
			t.Fatalf("accepted AS-REP whose kept ticket does not decode: %v", err)
		}
	})
}

func FuzzDecodeKRBError(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		// METHOD-DATA is reached through a KRB-ERROR, but feed the raw
		// input too so the fuzzer need not build the wrapper.
		if pas, err := decodeMethodData(b); err != nil {
			checkBadReply(t, "decodeMethodData", err)
			if pas != nil {
				t.Fatal("decodeMethodData returned PA-DATA with an error")
			}
		}
		e, err := decodeKRBError(b)
		if err != nil {
			checkBadReply(t, "decodeKRBError", err)
			if e != nil {
				t.Fatal("decodeKRBError returned a message with an error")
			}
			return
		}
		if e.PVNO != 5 || e.MsgType != 30 {
			t.Fatalf("accepted pvno %d msg-type %d", e.PVNO, e.MsgType)
		}
		pas, err := decodeMethodData(e.EData)
		if err != nil {
			checkBadReply(t, "decodeMethodData(e-data)", err)
			if pas != nil {
				t.Fatal("decodeMethodData returned PA-DATA with an error")
			}
			return
		}
		if len(e.EData) == 0 && pas != nil {
			t.Fatal("PA-DATA from empty e-data")
		}
		// What handleError does next with the METHOD-DATA.
		for _, pa := range pas {
			switch pa.PADataType {
			case paETypeInfo2:
				if _, err := decodeETypeInfo2(pa.PADataValue); err != nil {
					checkBadReply(t, "decodeETypeInfo2(METHOD-DATA)", err)
				}
			case paETypeInfo:
				if _, err := decodeETypeInfo(pa.PADataValue); err != nil {
					checkBadReply(t, "decodeETypeInfo(METHOD-DATA)", err)
				}
			}
		}
	})
}

func FuzzDecodeETypeInfo2(f *testing.F) {
	// Synthetic seeds besides the captured ETYPE-INFO2: the old
	// ETYPE-INFO (MIT sends it only for DES and RC4 keys) and an
	// ETYPE-INFO2 entry with s2kparams, which MIT omits for default counts.
	ei, err := asn1.Marshal(types.ETypeInfo{{EType: etypeID.RC4_HMAC, Salt: []byte(fuzzRealm + "alice")}, {EType: etypeID.DES3_CBC_SHA1_KD}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ei)
	ei2, err := asn1.Marshal(types.ETypeInfo2{{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: "salt", S2KParams: []byte{0, 0, 0x10, 0}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ei2)
	f.Fuzz(func(t *testing.T, b []byte) {
		info2, err := decodeETypeInfo2(b)
		if err != nil {
			checkBadReply(t, "decodeETypeInfo2", err)
			if info2 != nil {
				t.Fatal("decodeETypeInfo2 returned entries with an error")
			}
		}
		info, err := decodeETypeInfo(b)
		if err != nil {
			checkBadReply(t, "decodeETypeInfo", err)
			if info != nil {
				t.Fatal("decodeETypeInfo returned entries with an error")
			}
		}
	})
}

func FuzzDecodeEncASRepPart(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeEncASRepPart(b)
		if err != nil {
			checkBadReply(t, "decodeEncASRepPart", err)
			if p != nil {
				t.Fatal("decodeEncASRepPart returned a part with an error")
			}
			return
		}
		if len(b) == 0 || (b[0] != 0x79 && b[0] != 0x7a) {
			t.Fatalf("accepted an EncASRepPart with leading byte %#x (want APPLICATION 25 or 26)", b[0])
		}
	})
}

// fuzzConfig is a minimal krb5.conf for the seeds' realm. No KDC is named:
// the fuzz targets drive Login.Step directly and do no I/O.
func fuzzConfig(tb testing.TB) *Config {
	tb.Helper()
	cfg, err := ParseConfig("[libdefaults]\n default_realm = " + fuzzRealm + "\n dns_lookup_kdc = false\n")
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// readSeed reads one file of a seed corpus ("go test fuzz v1" with one
// []byte value).
func readSeed(tb testing.TB, target, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", target, name))
	if err != nil {
		tb.Fatal(err)
	}
	s, ok := strings.CutPrefix(string(raw), "go test fuzz v1\n[]byte(")
	if !ok {
		tb.Fatalf("%s/%s: not a []byte corpus file", target, name)
	}
	s = strings.TrimSuffix(strings.TrimSpace(s), ")")
	q, err := strconv.Unquote(s)
	if err != nil {
		tb.Fatalf("%s/%s: %v", target, name, err)
	}
	return []byte(q)
}

// checkStep checks what a Login did with one hostile reply, then keeps
// feeding the same reply: whatever the input, the login must end with an
// error within MaxRequests requests and never yield credentials.
func checkStep(t *testing.T, l *Login, pw string, b []byte) {
	t.Helper()
	ctx := context.Background()
	for i := 0; ; i++ {
		req, err := l.Step(ctx, b)
		switch {
		case err != nil:
			if req != nil {
				t.Fatal("Step returned a request with an error")
			}
			if l.Credentials() != nil {
				t.Fatal("credentials after an error")
			}
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("error reveals the password: %v", err)
			}
			if _, again := l.Step(ctx, nil); again != err {
				t.Fatalf("Step after failure returned %v, want the same error %v", again, err)
			}
			return
		case req == nil:
			t.Fatalf("hostile reply (%d bytes) produced credentials for %v", len(b), l.Credentials().Client)
		}
		if req.Realm != fuzzRealm {
			t.Fatalf("request for realm %q", req.Realm)
		}
		var asreq messages.ASReq
		if err := asreq.Unmarshal(req.Data); err != nil {
			t.Fatalf("the engine's next request is not an AS-REQ: %v", err)
		}
		if l.Stats().Requests > MaxRequests || i > MaxRequests {
			t.Fatalf("%d requests, more than MaxRequests", l.Stats().Requests)
		}
	}
}

// fuzzKeys lets the logins for one client share their string-to-key
// results, so that the seeds' keys are derived once per fuzz worker rather
// than once per input (which made the preauth target ~100 inputs/s). The
// fuzz function runs one input at a time in a worker, so no lock is needed.
// The engine's own cache is per login and keyed without the password, hence
// one map per client and password.
var fuzzKeys = map[string]map[string]types.EncryptionKey{}

// newFuzzLogin returns a login that has produced its first AS-REQ.
func newFuzzLogin(t *testing.T, cfg *Config, client, pw string) *Login {
	t.Helper()
	l, err := NewLogin(client, WithConfig(cfg), WithPassword(pw))
	if err != nil {
		t.Fatal(err)
	}
	id := client + "\x00" + pw
	if keys := fuzzKeys[id]; keys == nil || len(keys) > 64 {
		fuzzKeys[id] = make(map[string]types.EncryptionKey) // hostile salts must not grow it forever
	}
	l.keyCache = fuzzKeys[id]
	req, err := l.Step(context.Background(), nil)
	if err != nil || req == nil {
		t.Fatalf("first step: %v, %v", req, err)
	}
	return l
}

// FuzzLoginStep feeds the input as the KDC's answer to the first AS-REQ of
// a login for nopreauth. A replayed real AS-REP decrypts with its key but
// must fail on the nonce.
func FuzzLoginStep(f *testing.F) {
	cfg := fuzzConfig(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		l := newFuzzLogin(t, cfg, fuzzNoPreauth, fuzzNoPreauPW)
		checkStep(t, l, fuzzNoPreauPW, b)
	})
}

// FuzzLoginStepAfterPreauth first answers a login for alice with the real
// PREAUTH_REQUIRED (so it has sent PA-ENC-TIMESTAMP with a key from the
// KDC's ETYPE-INFO2), then feeds the input as the next reply.
func FuzzLoginStepAfterPreauth(f *testing.F) {
	cfg := fuzzConfig(f)
	preauthRequired := readSeed(f, "FuzzDecodeKRBError", "mit-preauth-required")
	f.Fuzz(func(t *testing.T, b []byte) {
		l := newFuzzLogin(t, cfg, fuzzAlice, fuzzAlicePW)
		req, err := l.Step(context.Background(), preauthRequired)
		if err != nil || req == nil {
			t.Fatalf("the real PREAUTH_REQUIRED gave %v, %v; want a request", req, err)
		}
		if !bytes.Contains(req.Data, []byte(fuzzRealm)) {
			t.Fatal("the preauth request does not name the realm")
		}
		checkStep(t, l, fuzzAlicePW, b)
	})
}

// TestFuzzSeedsAreReal guards the seeds the targets depend on: the
// captured PREAUTH_REQUIRED really offers encrypted timestamp with
// ETYPE-INFO2, and the captured AS-REPs really decrypt with the test
// passwords' keys, so the login targets reach the nonce check.
func TestFuzzSeedsAreReal(t *testing.T) {
	e, err := decodeKRBError(readSeed(t, "FuzzDecodeKRBError", "mit-preauth-required"))
	if err != nil {
		t.Fatal(err)
	}
	if e.ErrorCode != ErrCodePreauthRequired {
		t.Fatalf("code %d", e.ErrorCode)
	}
	pas, err := decodeMethodData(e.EData)
	if err != nil {
		t.Fatal(err)
	}
	if got := paTypes(pas); !containsEtype(got, 2) || !containsEtype(got, paETypeInfo2) {
		t.Fatalf("METHOD-DATA types %v lack PA-ENC-TIMESTAMP or PA-ETYPE-INFO2", got)
	}

	cfg := fuzzConfig(t)
	for _, c := range []struct {
		name, client, pw string
		afterPreauth     bool
	}{
		{"mit-asrep-nopreauth", fuzzNoPreauth, fuzzNoPreauPW, false},
		{"mit-asrep-enc-timestamp", fuzzAlice, fuzzAlicePW, true},
	} {
		l := newFuzzLogin(t, cfg, c.client, c.pw)
		if c.afterPreauth {
			if _, err := l.Step(context.Background(), readSeed(t, "FuzzDecodeKRBError", "mit-preauth-required")); err != nil {
				t.Fatal(err)
			}
		}
		_, err := l.Step(context.Background(), readSeed(t, "FuzzLoginStep", c.name))
		// Decrypted and decoded: only the replay's nonce is wrong.
		if !errors.Is(err, ErrBadReply) || !strings.Contains(err.Error(), "nonce mismatch") {
			t.Errorf("%s replayed to a new login: %v, want a nonce mismatch", c.name, err)
		}
	}
}
