package krb_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/gokinit/gokinit/krb"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Cost budgets: for each KDC message the client accepts, the sizes the
// KDC chooses (PA-DATA count, duplicates, list lengths, value sizes,
// nesting depth, e-text length) are grown, and the work the login does
// must grow at most linearly and stay under a fixed bound per unit. Work
// is counted, not timed, so the tests hold on a loaded machine: heap
// allocations of the whole login (testing.AllocsPerRun) and calls into
// mechanisms (krb.MechanismCalls).

// costShape is one attacker-controlled size of one KDC message.
type costShape struct {
	name string
	// replies returns the KDC's answers for size n: the first request gets
	// the first, and so on; the last is repeated.
	replies func(t testing.TB, n int) []func(req []byte) []byte
	// perUnit bounds the allocations per unit of n.
	perUnit float64
}

func preauthRequiredWith(t testing.TB, pas ...types.PAData) []byte {
	return krbError(t, krb.ErrCodePreauthRequired, methodData(t, append(pas,
		types.PAData{PADataType: paEncTS},
		etypeInfo2(t, types.ETypeInfo2Entry{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: fakeRealm + fakeClient}))...))
}

func fixed(b []byte) func([]byte) []byte { return func([]byte) []byte { return b } }

func goodASRep(t testing.TB) func([]byte) []byte {
	return func(req []byte) []byte {
		return asRepFor(t, req, fakePW, etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96)
	}
}

// nested is n SEQUENCEs, one inside the other, around nothing.
func nested(n int) []byte {
	b := []byte{}
	for range n {
		l := len(b)
		switch {
		case l < 0x80:
			b = append([]byte{0x30, byte(l)}, b...)
		case l < 0x100:
			b = append([]byte{0x30, 0x81, byte(l)}, b...)
		case l < 0x10000:
			b = append([]byte{0x30, 0x82, byte(l >> 8), byte(l)}, b...)
		default:
			b = append([]byte{0x30, 0x83, byte(l >> 16), byte(l >> 8), byte(l)}, b...)
		}
	}
	return b
}

var costShapes = []costShape{
	{"PREAUTH_REQUIRED: distinct unknown PA types", func(t testing.TB, n int) []func([]byte) []byte {
		pas := make([]types.PAData, n)
		for i := range pas {
			pas[i] = types.PAData{PADataType: int32(1000 + i)}
		}
		return []func([]byte) []byte{fixed(preauthRequiredWith(t, pas...)), goodASRep(t)}
	}, 40},
	{"PREAUTH_REQUIRED: duplicated PA-PK-AS-REQ", func(t testing.TB, n int) []func([]byte) []byte {
		pas := make([]types.PAData, n)
		for i := range pas {
			pas[i] = types.PAData{PADataType: 16, PADataValue: []byte{0x30, 0x00}}
		}
		return []func([]byte) []byte{fixed(preauthRequiredWith(t, pas...)), goodASRep(t)}
	}, 40},
	{"PREAUTH_REQUIRED: duplicated SPAKE challenges", func(t testing.TB, n int) []func([]byte) []byte {
		pas := make([]types.PAData, n)
		for i := range pas {
			pas[i] = types.PAData{PADataType: 151, PADataValue: []byte{0xa1, 0x00}}
		}
		return []func([]byte) []byte{fixed(preauthRequiredWith(t, pas...)), goodASRep(t)}
	}, 40},
	{"PREAUTH_REQUIRED: ETYPE-INFO2 entries", func(t testing.TB, n int) []func([]byte) []byte {
		ents := make([]types.ETypeInfo2Entry, n)
		for i := range ents {
			ents[i] = types.ETypeInfo2Entry{EType: int32(100 + i%1000), Salt: "s"}
		}
		ents = append(ents, types.ETypeInfo2Entry{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: fakeRealm + fakeClient})
		return []func([]byte) []byte{fixed(krbError(t, krb.ErrCodePreauthRequired, methodData(t, types.PAData{PADataType: paEncTS}, etypeInfo2(t, ents...)))), goodASRep(t)}
	}, 40},
	{"PREAUTH_REQUIRED: FX-COOKIE size (bytes)", func(t testing.TB, n int) []func([]byte) []byte {
		return []func([]byte) []byte{fixed(preauthRequiredWith(t, types.PAData{PADataType: 133, PADataValue: bytes.Repeat([]byte{'c'}, n)})), goodASRep(t)}
	}, 0.01},
	{"PREAUTH_REQUIRED: nesting depth of a SPAKE value", func(t testing.TB, n int) []func([]byte) []byte {
		return []func([]byte) []byte{fixed(preauthRequiredWith(t, types.PAData{PADataType: 151, PADataValue: nested(n)})), goodASRep(t)}
	}, 2},
	{"KRB_ERR_GENERIC: e-text length (bytes)", func(t testing.TB, n int) []func([]byte) []byte {
		e := messages.NewKRBError(tgsName(fakeRealm), fakeRealm, krb.ErrCodeGeneric, string(bytes.Repeat([]byte{0x1b}, n)))
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return []func([]byte) []byte{fixed(b)}
	}, 0.01},
	{"PREAUTH_FAILED: METHOD-DATA count after a failed mechanism", func(t testing.TB, n int) []func([]byte) []byte {
		pas := make([]types.PAData, n)
		for i := range pas {
			pas[i] = types.PAData{PADataType: int32(1000 + i%50000)}
		}
		return []func([]byte) []byte{fixed(preauthRequired(t)), fixed(krbError(t, krb.ErrCodePreauthFailed, methodData(t, pas...)))}
	}, 40},
	{"AS-REP: padata count", func(t testing.TB, n int) []func([]byte) []byte {
		return []func([]byte) []byte{fixed(preauthRequired(t)), func(req []byte) []byte {
			return alterASRep(t, goodASRep(t)(req), func(r *messages.ASRep) {
				for i := range n {
					r.PAData = append(r.PAData, types.PAData{PADataType: int32(1000 + i%3), PADataValue: []byte{1}})
				}
			})
		}}
	}, 80}, // includes the test decoding and re-encoding the AS-REP it alters
}

// costOf runs one login against the shape at size n and returns its heap
// allocations and mechanism calls.
func costOf(t testing.TB, s costShape, n int) (allocs float64, calls int) {
	replies := s.replies(t, n)
	cfg := fakeConfig(t)
	run := func() {
		kdc := krb.TransportFunc(func(_ context.Context, _ string, req []byte, _ bool) ([]byte, error) {
			i := min(calls, len(replies)-1)
			calls++
			return replies[i](req), nil
		})
		calls = 0
		l, err := krb.NewLogin(fakeClient, krb.WithConfig(cfg), krb.WithPassword(fakePW), krb.WithTransport(kdc))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = l.Run(context.Background())
		calls = krb.MechanismCalls(l)
	}
	// The AS-REP is built by the test inside the login; its cost does not
	// depend on n except for the AS-REP shape, where it is linear too.
	return testing.AllocsPerRun(1, run), calls
}

// TestCostBudgets grows each shape fourfold twice and checks that the
// marginal work per unit does not grow (linear, not quadratic), stays
// under the shape's bound, and that mechanism calls do not grow at all.
func TestCostBudgets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds multi-megabyte replies")
	}
	for _, s := range costShapes {
		t.Run(s.name, func(t *testing.T) {
			sizes := []int{1000, 4000, 16000}
			if s.perUnit < 1 {
				sizes = []int{16 << 10, 64 << 10, 256 << 10}
			}
			var allocs []float64
			var calls []int
			for _, n := range sizes {
				a, c := costOf(t, s, n)
				allocs, calls = append(allocs, a), append(calls, c)
			}
			m1 := (allocs[1] - allocs[0]) / float64(sizes[1]-sizes[0])
			m2 := (allocs[2] - allocs[1]) / float64(sizes[2]-sizes[1])
			t.Logf("allocations %v for sizes %v: %.2f then %.2f per unit; mechanism calls %v", allocs, sizes, m1, m2, calls)
			if m2 > 1.25*m1+0.05 {
				t.Errorf("work per unit grows with size (%.2f then %.2f): not linear", m1, m2)
			}
			if m2 > s.perUnit {
				t.Errorf("%.2f allocations per unit, above the budget of %.2f", m2, s.perUnit)
			}
			if calls[2] != calls[0] {
				t.Errorf("mechanism calls grow with size: %v", calls)
			}
		})
	}
}

// BenchmarkHostileReplyWorstCase reports each shape at the largest size a
// single TCP reply allows in practice (about 4 MB): 300,000 PA-DATA
// entries or ETYPE-INFO2 entries, 4 MB of cookie or e-text, nesting 100,000
// deep.
func BenchmarkHostileReplyWorstCase(b *testing.B) {
	for _, s := range costShapes {
		n := 300000
		if s.perUnit < 1 {
			n = 4 << 20
		}
		if s.perUnit == 2 {
			n = 100000
		}
		b.Run(fmt.Sprintf("%s=%d", s.name, n), func(b *testing.B) {
			replies := s.replies(b, n)
			cfg := fakeConfig(b)
			b.ReportAllocs()
			for b.Loop() {
				i := 0
				kdc := krb.TransportFunc(func(_ context.Context, _ string, req []byte, _ bool) ([]byte, error) {
					r := replies[min(i, len(replies)-1)](req)
					i++
					return r, nil
				})
				l, err := krb.NewLogin(fakeClient, krb.WithConfig(cfg), krb.WithPassword(fakePW), krb.WithTransport(kdc))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = l.Run(context.Background())
			}
		})
	}
}
