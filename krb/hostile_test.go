package krb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hostile-KDC tests of issue 12: whoever answers on port 88 chooses
// every size and every string in its replies. Work must not grow with the
// product of two sizes it chooses, and no string it chooses reaches a
// terminal, a prompt or a trace line unescaped.

// builtinPATypes are the PA types the built-in mechanisms claim, with the
// engine's own (cookie, FAST, ETYPE-INFO2, PW-SALT).
var builtinPATypes = []int32{2, 3, 11, 16, 17, 19, 133, 136, 138, 141, 147, 149, 150, 151}

// dupOffer is METHOD-DATA holding n copies of typ before PA-ENC-TIMESTAMP
// and ETYPE-INFO2.
func dupOffer(t testing.TB, typ int32, n int) []byte {
	pas := make([]types.PAData, 0, n+2)
	for range n {
		pas = append(pas, types.PAData{PADataType: typ, PADataValue: []byte{0x30, 0x00}})
	}
	pas = append(pas, types.PAData{PADataType: paEncTS},
		etypeInfo2(t, types.ETypeInfo2Entry{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: fakeRealm + fakeClient}))
	return krbError(t, krb.ErrCodePreauthRequired, methodData(t, pas...))
}

// TestDuplicatePATypesHandledOnce is failure 1 as a class: a KDC error
// listing any PA type many times (PA-PK-AS-REQ, as reported, and every
// other type a built-in mechanism or the engine handles) costs the same
// number of mechanism calls as listing it once, and the login still
// succeeds with encrypted timestamp. The count is of operations, not wall
// time, so that it holds on a loaded machine.
func TestDuplicatePATypesHandledOnce(t *testing.T) {
	for _, typ := range builtinPATypes {
		t.Run(fmt.Sprint(typ), func(t *testing.T) {
			calls := map[int]int{}
			for _, n := range []int{1, 100, 3000} {
				offer := dupOffer(t, typ, n)
				k := newFakeKDC(t, func(i int, req []byte) ([]byte, error) {
					if i == 0 {
						return offer, nil
					}
					return asRepFor(t, req, fakePW, etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96), nil
				})
				l, creds, _, err := k.login(fakeCtx(t))
				if typ == 136 || typ == 133 {
					// PA-FX-FAST / cookie without armor: still a login.
					require.NoError(t, err)
				} else {
					require.NoError(t, err, "%d copies of %d", n, typ)
				}
				require.NotNil(t, creds)
				calls[n] = krb.MechanismCalls(l)
			}
			assert.Equal(t, calls[1], calls[100], "mechanism calls must not grow with duplicates")
			assert.Equal(t, calls[1], calls[3000], "mechanism calls must not grow with duplicates")
			assert.LessOrEqual(t, calls[1], 16)
		})
	}
}

// TestReported300kPKASReqIsCheap is the reported case itself: 300,000
// PA-PK-AS-REQ entries (a 3.6 MB TCP reply) before PA-ENC-TIMESTAMP, on a
// context the test can cancel: the login succeeds and the mechanisms are
// called a fixed number of times.
func TestReported300kPKASReqIsCheap(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3.6 MB reply")
	}
	offer := dupOffer(t, 16, 300000)
	k := newFakeKDC(t, func(i int, req []byte) ([]byte, error) {
		if i == 0 {
			return offer, nil
		}
		return asRepFor(t, req, fakePW, etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96), nil
	})
	l, creds, took, err := k.login(fakeCtx(t))
	require.NoError(t, err)
	require.NotNil(t, creds)
	assert.LessOrEqual(t, krb.MechanismCalls(l), 8)
	t.Logf("300,000 PA-PK-AS-REQ: %v, %d mechanism calls", took, krb.MechanismCalls(l))
}

// TestDuplicatePADataInASRepHandledOnce: the same class in the AS-REP's
// padata (ETYPE-INFO2, PA-FX-FAST, PA-ENC-TIMESTAMP, cookie, PA-REQ-ENC-PA-REP repeated).
func TestDuplicatePADataInASRepHandledOnce(t *testing.T) {
	calls := map[int]int{}
	for _, n := range []int{1, 3000} {
		k := newFakeKDC(t, func(i int, req []byte) ([]byte, error) {
			if i == 0 {
				return preauthRequired(t), nil
			}
			return alterASRep(t, asRepFor(t, req, fakePW, etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96),
				func(r *messages.ASRep) {
					for range n {
						for _, typ := range []int32{19, 136, 2, 133, 150, 11} {
							r.PAData = append(r.PAData, types.PAData{PADataType: typ, PADataValue: []byte{0x30, 0x00}})
						}
					}
				}), nil
		})
		l, _, _, err := k.login(fakeCtx(t))
		// The junk PA-PK-AS-REP is for PKINIT, not selected: ignored.
		require.NoError(t, err)
		calls[n] = krb.MechanismCalls(l)
	}
	assert.Equal(t, calls[1], calls[3000])
}

// safeForTerminal fails when s holds a character that drives a terminal
// or disguises text: C0/C1 controls, DEL, Unicode format characters.
func safeForTerminal(t *testing.T, what, s string) {
	t.Helper()
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			t.Errorf("%s holds %U: %q", what, r, s)
			return
		}
	}
}

// hostileText is what a KDC writes to repaint a terminal: window title,
// clear screen, carriage return over the line, a bidi override, C1 CSI.
const hostileText = "\x1b]0;pwned\x07\x1b[2J\x1b[H\rPassword accepted\u202e\u009b31m\n"

type traceLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *traceLog) trace(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

// TestKDCTextIsEscaped is failure 2 as a class: every string a KDC
// chooses (e-text of KRB_ERR_GENERIC and of other codes, a referral realm,
// a salt, names in the AS-REP, e-text after a referral naming the client
// in the message) reaches neither the error message nor a trace line
// unescaped, and KRB_ERR_GENERIC reads as MIT's "Generic error (see
// e-text)".
func TestKDCTextIsEscaped(t *testing.T) {
	withEText := func(code int32, etext string) []byte {
		e := messages.NewKRBError(tgsName(fakeRealm), fakeRealm, code, etext)
		e.CRealm = fakeRealm
		b, err := e.Marshal()
		require.NoError(t, err)
		return b
	}
	cases := []struct {
		name    string
		reply   func(t *testing.T, i int, req []byte) []byte
		opts    []krb.Option
		wantMsg string
	}{
		{"generic e-text", func(t *testing.T, _ int, _ []byte) []byte { return withEText(krb.ErrCodeGeneric, hostileText) },
			nil, "Generic error (see e-text) while getting initial credentials"},
		{"e-text of another code", func(t *testing.T, _ int, _ []byte) []byte { return withEText(krb.ErrCodePolicy, hostileText) },
			nil, "KDC policy rejects request while getting initial credentials"},
		{"unknown code", func(t *testing.T, _ int, _ []byte) []byte { return withEText(1234, hostileText) },
			nil, "KDC returned error code 1234 while getting initial credentials"},
		{"referral realm", func(t *testing.T, i int, _ []byte) []byte {
			if i == 0 {
				e := messages.NewKRBError(tgsName(fakeRealm), fakeRealm, krb.ErrCodeWrongRealm, hostileText)
				e.CRealm = "EVIL" + hostileText
				b, err := e.Marshal()
				require.NoError(t, err)
				return b
			}
			return withEText(krb.ErrCodeClientUnknown, hostileText)
		}, []krb.Option{krb.WithCanonicalize(true)}, ""},
		{"salt", func(t *testing.T, i int, _ []byte) []byte {
			if i == 0 {
				return krbError(t, krb.ErrCodePreauthRequired, methodData(t, types.PAData{PADataType: paEncTS},
					etypeInfo2(t, types.ETypeInfo2Entry{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: hostileText})))
			}
			return withEText(krb.ErrCodePreauthFailed, hostileText)
		}, nil, "Password incorrect while getting initial credentials"},
		{"names in the AS-REP", func(t *testing.T, i int, req []byte) []byte {
			return alterASRep(t, asRepFor(t, req, fakePW, etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96),
				func(r *messages.ASRep) {
					r.CName.NameString = []string{hostileText}
					r.Ticket.Realm = hostileText
				})
		}, []krb.Option{krb.WithCanonicalize(true)}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tl traceLog
			k := newFakeKDC(t, func(i int, req []byte) ([]byte, error) { return c.reply(t, i, req), nil })
			_, _, _, err := k.login(fakeCtx(t), append(c.opts, krb.WithTrace(tl.trace))...)
			require.Error(t, err)
			safeForTerminal(t, "the error", err.Error())
			if c.wantMsg != "" {
				assert.Equal(t, c.wantMsg, err.Error())
			}
			var kerr *krb.KDCError
			if errors.As(err, &kerr) && kerr.EText != "" {
				assert.Equal(t, hostileText, kerr.EText, "the e-text itself stays available, raw, to a caller that asks")
			}
			require.NotEmpty(t, tl.lines)
			for _, line := range tl.lines {
				safeForTerminal(t, "a trace line", line)
			}
		})
	}
}

// TestLoginContextOnce is failure 6 as a class: whatever the cause (the
// 16-request cap, an error that already carries the context, such as a
// responder's own failed login, a login whose Continue is called again
// after it failed), a message names " while getting initial credentials"
// exactly once; the cap reads as MIT's.
func TestLoginContextOnce(t *testing.T) {
	once := func(t *testing.T, err error) {
		t.Helper()
		require.Error(t, err)
		assert.Equal(t, 1, strings.Count(err.Error(), "while getting initial credentials"), "%q", err.Error())
	}
	t.Run("request cap", func(t *testing.T) {
		k := newFakeKDC(t, func(int, []byte) ([]byte, error) { return preauthRequired(t), nil })
		l, _, _, err := k.login(fakeCtx(t))
		once(t, err)
		assert.Equal(t, "Looping detected inside krb5_get_in_tkt while getting initial credentials", err.Error())
		require.ErrorIs(t, err, krb.ErrLoop)
		_, err = l.Continue(fakeCtx(t))
		once(t, err)
		_, err = l.Run(fakeCtx(t))
		once(t, err)
	})
	t.Run("cause already has the context", func(t *testing.T) {
		inner := errors.New("inner login failed while getting initial credentials")
		k := newFakeKDC(t, func(int, []byte) ([]byte, error) { return preauthRequired(t), nil })
		l, err := krb.NewLogin(fakeClient, krb.WithConfig(fakeConfig(t)), krb.WithTransport(krb.TransportFunc(k.exchange)),
			krb.WithResponder(responder.Func(func(context.Context, *responder.ResponseSet) error { return inner })))
		require.NoError(t, err)
		_, err = l.Run(fakeCtx(t))
		once(t, err)
		require.ErrorIs(t, err, inner)
	})
	t.Run("transport failure", func(t *testing.T) {
		stop := errors.New("no KDC while getting initial credentials")
		k := newFakeKDC(t, func(int, []byte) ([]byte, error) { return nil, stop })
		l, _, _, err := k.login(fakeCtx(t))
		once(t, err)
		_, err = l.Continue(fakeCtx(t))
		once(t, err)
	})
}
