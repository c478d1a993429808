package krb_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/transport"
	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests put the engine in front of a scripted KDC, for what a real
// KDC will not do: garbage, silence, endless PREAUTH_REQUIRED, unusual
// ETYPE-INFO2, KRB_ERR_RESPONSE_TOO_BIG, replies in the wrong enctype. What
// a real KDC does is tested against MIT's in login_kdc_test.go.

const (
	fakeRealm  = "FAKE.GOKINIT.TEST"
	fakeClient = "alice"
	fakePW     = "fake-alice-pw" // test data
	paEncTS    = 2               // PA-ENC-TIMESTAMP
	paEInfo2   = 19              // PA-ETYPE-INFO2
)

// fakeRequest is one AS-REQ the engine sent.
type fakeRequest struct {
	data    []byte
	realm   string
	tcpOnly bool
}

// fakeKDC is a scripted KDC behind krb.TransportFunc: answer gets the
// 0-based number of the request and the request, and returns the reply.
type fakeKDC struct {
	t      *testing.T
	answer func(n int, req []byte) ([]byte, error)

	mu   sync.Mutex
	reqs []fakeRequest
}

func newFakeKDC(t *testing.T, answer func(n int, req []byte) ([]byte, error)) *fakeKDC {
	return &fakeKDC{t: t, answer: answer}
}

func (k *fakeKDC) exchange(_ context.Context, realm string, req []byte, tcpOnly bool) ([]byte, error) {
	k.mu.Lock()
	n := len(k.reqs)
	k.reqs = append(k.reqs, fakeRequest{data: bytes.Clone(req), realm: realm, tcpOnly: tcpOnly})
	k.mu.Unlock()
	return k.answer(n, req)
}

func (k *fakeKDC) requests() []fakeRequest {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.reqs)
}

// fakeConfig is a krb5.conf naming no KDC: the fake transport is the KDC.
func fakeConfig(t testing.TB) *krb.Config {
	t.Helper()
	cfg, err := krb.ParseConfig("[libdefaults]\n default_realm = " + fakeRealm + "\n dns_lookup_kdc = false\n")
	require.NoError(t, err)
	return cfg
}

// login runs a login for alice against k and times it.
func (k *fakeKDC) login(ctx context.Context, opts ...krb.Option) (l *krb.Login, creds *krb.Credentials, took time.Duration, err error) {
	k.t.Helper()
	base := []krb.Option{krb.WithConfig(fakeConfig(k.t)), krb.WithPassword(fakePW), krb.WithTransport(krb.TransportFunc(k.exchange))}
	l, err = krb.NewLogin(fakeClient, append(base, opts...)...)
	require.NoError(k.t, err)
	start := time.Now()
	creds, err = l.Run(ctx)
	return l, creds, time.Since(start), err
}

func fakeCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func tgsName(realm string) types.PrincipalName {
	return types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "krbtgt/"+realm)
}

// krbError encodes a KRB-ERROR from the fake realm's KDC.
func krbError(t testing.TB, code int32, edata []byte) []byte {
	t.Helper()
	e := messages.NewKRBError(tgsName(fakeRealm), fakeRealm, code, "")
	e.CRealm = fakeRealm
	e.CName = types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, fakeClient)
	e.EData = edata
	b, err := e.Marshal()
	require.NoError(t, err)
	return b
}

// methodData encodes METHOD-DATA for a KRB-ERROR's e-data.
func methodData(t testing.TB, pas ...types.PAData) []byte {
	t.Helper()
	b, err := asn1.Marshal(types.PADataSequence(pas))
	require.NoError(t, err)
	return b
}

func etypeInfo2(t testing.TB, entries ...types.ETypeInfo2Entry) types.PAData {
	t.Helper()
	b, err := asn1.Marshal(types.ETypeInfo2(entries))
	require.NoError(t, err)
	return types.PAData{PADataType: paEInfo2, PADataValue: b}
}

// preauthRequired is MIT's usual offer: encrypted timestamp, with the
// aes256 key's default salt in ETYPE-INFO2.
func preauthRequired(t testing.TB) []byte {
	return krbError(t, krb.ErrCodePreauthRequired, methodData(t,
		types.PAData{PADataType: paEncTS},
		etypeInfo2(t, types.ETypeInfo2Entry{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: fakeRealm + fakeClient}),
	))
}

func decodeASReq(t testing.TB, b []byte) messages.ASReq {
	t.Helper()
	var r messages.ASReq
	require.NoError(t, r.Unmarshal(b), "the engine sent something that is not an AS-REQ")
	return r
}

func findPA(pas types.PADataSequence, typ int32) (types.PAData, bool) {
	for _, pa := range pas {
		if pa.PADataType == typ {
			return pa, true
		}
	}
	return types.PAData{}, false
}

func stringToKey(t testing.TB, etype int32, pw, salt string) types.EncryptionKey {
	t.Helper()
	et, err := crypto.GetEtype(etype)
	require.NoError(t, err)
	kb, err := et.StringToKey(pw, salt, et.GetDefaultStringToKeyParams())
	require.NoError(t, err)
	return types.EncryptionKey{KeyType: etype, KeyValue: kb}
}

// asRepFor builds the AS-REP a KDC would send for req, its enc-part
// encrypted in encEtype with the key from pw and the default salt, and a
// session key of sessEtype. It is right in every respect the engine checks
// (nonce, names, times), so that a test changing one thing tests that thing.
func asRepFor(t testing.TB, req []byte, pw string, encEtype, sessEtype int32) []byte {
	t.Helper()
	r := decodeASReq(t, req)
	b := r.ReqBody
	now := time.Now().UTC().Truncate(time.Second)
	end := now.Add(time.Hour)
	if b.Till.Before(end) {
		end = b.Till
	}
	sess, err := crypto.GetEtype(sessEtype)
	require.NoError(t, err)
	fl := types.NewKrbFlags()
	types.SetFlag(&fl, flags.Initial)
	enc := messages.EncKDCRepPart{
		Key:       types.EncryptionKey{KeyType: sessEtype, KeyValue: make([]byte, sess.GetKeyByteSize())},
		LastReqs:  []messages.LastReq{{LRType: 0, LRValue: now}},
		Nonce:     b.Nonce,
		Flags:     fl,
		AuthTime:  now,
		StartTime: now,
		EndTime:   end,
		SRealm:    b.Realm,
		SName:     b.SName,
	}
	plain, err := enc.Marshal()
	require.NoError(t, err)
	key := stringToKey(t, encEtype, pw, b.Realm+strings.Join(b.CName.NameString, ""))
	ed, err := crypto.GetEncryptedData(plain, key, keyusage.AS_REP_ENCPART, 1)
	require.NoError(t, err)
	rep := messages.ASRep{KDCRepFields: messages.KDCRepFields{
		PVNO:    5,
		MsgType: 11,
		CRealm:  b.Realm,
		CName:   b.CName,
		Ticket: messages.Ticket{TktVNO: 5, Realm: b.Realm, SName: b.SName,
			EncPart: types.EncryptedData{EType: etypeID.AES256_CTS_HMAC_SHA1_96, KVNO: 1, Cipher: []byte("opaque to the client")}},
		EncPart: ed,
	}}
	out, err := rep.Marshal()
	require.NoError(t, err)
	return out
}

// requireBadReply checks a login that got an undecodable reply: ErrBadReply,
// no credentials, no further request, and no waiting.
func requireBadReply(t *testing.T, k *fakeKDC, creds *krb.Credentials, err error, took time.Duration) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, krb.ErrBadReply)
	assert.Nil(t, creds)
	assert.Len(t, k.requests(), 1, "the engine must give up on a bad reply, not ask again")
	assert.Less(t, took, time.Second, "a bad reply must be rejected promptly")
}

func TestFakeKDCBadRepliesAreErrBadReply(t *testing.T) {
	const size = 4 << 20
	junk := bytes.Repeat([]byte{0xa0, 0x82, 0xff, 0xff, 0x30}, size/5)
	// oversizedDER is a tag with a 4-byte DER length covering size bytes
	// of junk, so the decoder has to look inside rather than stop at the
	// tag or length.
	oversizedDER := func(tag byte) []byte {
		b := binary.BigEndian.AppendUint32([]byte{tag, 0x84}, size)
		return append(b, bytes.Repeat([]byte{0x30, 0x82, 0x01}, size/3+1)[:size]...)
	}
	cases := []struct {
		name  string
		reply []byte
	}{
		{"garbage", []byte("HTTP/1.0 400 Bad Request\r\n\r\n")},
		{"empty", []byte{}},
		{"nil", nil},
		{"AS-REP tag only", []byte{0x6b}},
		{"KRB-ERROR tag and junk", []byte{0x7e, 0x03, 0x01, 0x02, 0x03}},
		{"oversized junk", junk},
		{"oversized AS-REP", oversizedDER(0x6b)},
		{"oversized KRB-ERROR", oversizedDER(0x7e)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newFakeKDC(t, func(int, []byte) ([]byte, error) { return c.reply, nil })
			_, creds, took, err := k.login(fakeCtx(t))
			requireBadReply(t, k, creds, err, took)
		})
	}
}

// TestTruncatedRealASRep relays the engine's request to MIT's KDC and cuts
// the real AS-REP before the engine sees it. Uncut, the same relay logs in.
func TestTruncatedRealASRep(t *testing.T) {
	realm, cfg := testRealm(t)
	tr := transport.New(cfg.Config)
	for _, c := range []struct {
		name string
		cut  func([]byte) []byte
	}{
		{"uncut", func(b []byte) []byte { return b }},
		{"last byte", func(b []byte) []byte { return b[:len(b)-1] }},
		{"half", func(b []byte) []byte { return b[:len(b)/2] }},
		{"header", func(b []byte) []byte { return b[:4] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var full []byte
			k := newFakeKDC(t, func(_ int, req []byte) ([]byte, error) {
				rep, err := tr.Exchange(context.Background(), realm.Name, req, false)
				if err != nil {
					return nil, err
				}
				full = rep
				return c.cut(rep), nil
			})
			l, err := krb.NewLogin("nopreauth", krb.WithConfig(cfg), krb.WithPassword(npPW), krb.WithTransport(krb.TransportFunc(k.exchange)))
			require.NoError(t, err)
			start := time.Now()
			creds, err := l.Run(fakeCtx(t))
			took := time.Since(start)
			require.NotEmpty(t, full)
			require.Equal(t, byte(0x6b), full[0], "MIT's KDC must have sent an AS-REP")
			if c.name == "uncut" {
				require.NoError(t, err)
				assert.Equal(t, realm.Principal("nopreauth"), creds.Client.String())
				return
			}
			requireBadReply(t, k, creds, err, took)
		})
	}
}

func TestFakeKDCNeverAnswersRespectsDeadline(t *testing.T) {
	var calls atomic.Int32
	blocking := func(ctx context.Context, _ string, _ []byte, _ bool) ([]byte, error) {
		calls.Add(1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	l, err := krb.NewLogin(fakeClient, krb.WithConfig(fakeConfig(t)), krb.WithPassword(fakePW), krb.WithTransport(krb.TransportFunc(blocking)))
	require.NoError(t, err)
	start := time.Now()
	creds, err := l.Run(ctx)
	took := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Nil(t, creds)
	assert.EqualValues(t, 1, calls.Load())
	assert.GreaterOrEqual(t, took, 190*time.Millisecond)
	assert.Less(t, took, time.Second, "the login must end when its context does")
	// The login is over: stepping again gives the error, not a request.
	req, err := l.Step(context.Background(), preauthRequired(t))
	assert.Nil(t, req)
	assert.Error(t, err)
}

// TestSilentUDPKDCIsUnreachable uses the real transport against a UDP
// socket that reads requests and never answers. The transport's schedule
// with the default PerKDCWait w is MIT's: wait w after the first datagram,
// 2w at the end of the first pass, then resend and wait w + 4w, resend and
// wait w + 8w: 17w (17 s), under its 30 s DefaultTimeout.
func TestSilentUDPKDCIsUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 17 s")
	}
	t.Parallel()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	var (
		mu        sync.Mutex
		datagrams [][]byte
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, _, err := pc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			mu.Lock()
			datagrams = append(datagrams, bytes.Clone(buf[:n]))
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })

	// "udp/" keeps TCP out of it: nothing else may answer on the port.
	cfg, err := krb.ParseConfig(fmt.Sprintf("[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n[realms]\n %s = {\n  kdc = udp/%s\n }\n",
		fakeRealm, fakeRealm, pc.LocalAddr()))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	creds, err := krb.GetInitialCreds(ctx, fakeClient, krb.WithConfig(cfg), krb.WithPassword(fakePW))
	took := time.Since(start)

	require.ErrorIs(t, err, krb.ErrKDCUnreachable)
	assert.NotErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, krb.ErrPreauthFailed)
	assert.Nil(t, creds)
	bound := 17 * transport.DefaultPerKDCWait
	assert.Greater(t, took, bound-500*time.Millisecond, "the transport gives up before its schedule ends")
	assert.Less(t, took, bound+3*time.Second, "the transport must give up within its schedule")

	mu.Lock()
	defer mu.Unlock()
	// One AS-REQ, sent on each of the transport's 3 passes.
	require.Len(t, datagrams, 3)
	decodeASReq(t, datagrams[0])
	assert.Equal(t, datagrams[0], datagrams[1])
	assert.Equal(t, datagrams[0], datagrams[2])
}

func TestPreauthRequiredForeverIsErrLoop(t *testing.T) {
	k := newFakeKDC(t, func(int, []byte) ([]byte, error) { return preauthRequired(t), nil })
	l, creds, took, err := k.login(fakeCtx(t))
	require.ErrorIs(t, err, krb.ErrLoop)
	assert.Nil(t, creds)
	assert.Less(t, took, 2*time.Second)
	reqs := k.requests()
	require.Len(t, reqs, krb.MaxRequests)
	assert.Equal(t, krb.MaxRequests, l.Stats().Requests)
	assert.Equal(t, 1, l.Stats().StringToKey, "the key is derived once, not once per round")
	nonces := map[int]bool{}
	for i, r := range reqs {
		req := decodeASReq(t, r.data)
		nonces[req.ReqBody.Nonce] = true
		_, hasTS := findPA(req.PAData, paEncTS)
		assert.Equal(t, i > 0, hasTS, "request %d: PA-ENC-TIMESTAMP in every request but the first", i+1)
	}
	assert.Len(t, nonces, krb.MaxRequests, "every request has its own nonce")
}

// TestETypeInfo2PicksRequestOrder offers ETYPE-INFO2 entries in an order
// unlike the request's, each with its own salt: the engine must use the
// entry of the first enctype it requested, with that entry's salt.
func TestETypeInfo2PicksRequestOrder(t *testing.T) {
	var want types.ETypeInfo2Entry
	stop := errors.New("fake KDC: seen enough")
	k := newFakeKDC(t, nil)
	k.answer = func(n int, req []byte) ([]byte, error) {
		if n > 0 {
			return nil, stop
		}
		etypes := decodeASReq(t, req).ReqBody.EType
		require.GreaterOrEqual(t, len(etypes), 3)
		// The KDC lists the request's second and third enctypes first, and
		// the first one last.
		want = types.ETypeInfo2Entry{EType: etypes[0], Salt: "salt-of-the-first-requested"}
		return krbError(t, krb.ErrCodePreauthRequired, methodData(t,
			types.PAData{PADataType: paEncTS},
			etypeInfo2(t,
				types.ETypeInfo2Entry{EType: etypes[1], Salt: "salt-of-the-kdc-first"},
				types.ETypeInfo2Entry{EType: etypes[2], Salt: "salt-of-the-kdc-second"},
				want,
			))), nil
	}
	_, creds, _, err := k.login(fakeCtx(t))
	require.ErrorIs(t, err, stop)
	assert.Nil(t, creds)
	reqs := k.requests()
	require.Len(t, reqs, 2)
	first, second := decodeASReq(t, reqs[0].data), decodeASReq(t, reqs[1].data)
	assert.NotEqual(t, first.ReqBody.Nonce, second.ReqBody.Nonce, "each request needs a fresh nonce")

	pa, ok := findPA(second.PAData, paEncTS)
	require.True(t, ok, "the second request must carry PA-ENC-TIMESTAMP")
	var ed types.EncryptedData
	require.NoError(t, ed.Unmarshal(pa.PADataValue))
	require.Equal(t, want.EType, ed.EType, "encrypted in the first requested enctype")

	key := stringToKey(t, want.EType, fakePW, want.Salt)
	plain, err := crypto.DecryptEncPart(ed, key, keyusage.AS_REQ_PA_ENC_TIMESTAMP)
	require.NoError(t, err, "PA-ENC-TIMESTAMP must decrypt with the key from the entry's salt")
	var ts types.PAEncTSEnc
	_, err = asn1.Unmarshal(plain, &ts)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), ts.PATimestamp, time.Minute)

	// And not with the default salt: the entry's salt was really used.
	_, err = crypto.DecryptEncPart(ed, stringToKey(t, want.EType, fakePW, fakeRealm+fakeClient), keyusage.AS_REQ_PA_ENC_TIMESTAMP)
	assert.Error(t, err)
}

func TestResponseTooBigResendsOverTCP(t *testing.T) {
	t.Run("then preauth", func(t *testing.T) {
		k := newFakeKDC(t, func(n int, req []byte) ([]byte, error) {
			switch n {
			case 0:
				return krbError(t, krb.ErrCodeResponseTooBig, nil), nil
			case 1:
				return preauthRequired(t), nil
			default:
				return krbError(t, krb.ErrCodeClientUnknown, nil), nil
			}
		})
		_, creds, _, err := k.login(fakeCtx(t))
		require.ErrorIs(t, err, krb.ErrClientUnknown)
		assert.Nil(t, creds)
		reqs := k.requests()
		require.Len(t, reqs, 3)
		assert.False(t, reqs[0].tcpOnly)
		assert.True(t, reqs[1].tcpOnly, "resent over TCP")
		assert.Equal(t, reqs[0].data, reqs[1].data, "the same request, byte for byte")
		assert.Equal(t, fakeRealm, reqs[1].realm)
		assert.True(t, reqs[2].tcpOnly, "later requests of the login stay on TCP")
		_, hasTS := findPA(decodeASReq(t, reqs[2].data).PAData, paEncTS)
		assert.True(t, hasTS)
	})
	t.Run("too big over TCP too", func(t *testing.T) {
		k := newFakeKDC(t, func(int, []byte) ([]byte, error) { return krbError(t, krb.ErrCodeResponseTooBig, nil), nil })
		_, creds, _, err := k.login(fakeCtx(t))
		var kerr *krb.KDCError
		require.ErrorAs(t, err, &kerr)
		assert.EqualValues(t, krb.ErrCodeResponseTooBig, kerr.Code)
		assert.Nil(t, creds)
		assert.Len(t, k.requests(), 2, "one TCP retry, no loop")
	})
}

func TestPreauthFailedWithOneMechanism(t *testing.T) {
	for _, c := range []struct {
		name  string
		edata func(t *testing.T) []byte
	}{
		{"no e-data", func(*testing.T) []byte { return nil }},
		{"same offer again", func(t *testing.T) []byte {
			return methodData(t, types.PAData{PADataType: paEncTS},
				etypeInfo2(t, types.ETypeInfo2Entry{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: fakeRealm + fakeClient}))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := newFakeKDC(t, func(n int, _ []byte) ([]byte, error) {
				if n == 0 {
					return preauthRequired(t), nil
				}
				return krbError(t, krb.ErrCodePreauthFailed, c.edata(t)), nil
			})
			_, creds, _, err := k.login(fakeCtx(t))
			require.ErrorIs(t, err, krb.ErrPreauthFailed)
			assert.Equal(t, "Password incorrect while getting initial credentials", err.Error())
			var kerr *krb.KDCError
			require.ErrorAs(t, err, &kerr)
			assert.EqualValues(t, krb.ErrCodePreauthFailed, kerr.Code)
			assert.Nil(t, creds)
			assert.Len(t, k.requests(), 2, "no mechanism is left to try: no third request")
		})
	}
}

func TestASRepEnctypeMustBeRequested(t *testing.T) {
	requested := []int32{etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA1_96}
	for _, c := range []struct {
		name     string
		encEtype int32
		ok       bool
	}{
		{"requested", etypeID.AES128_CTS_HMAC_SHA1_96, true},
		{"not requested", etypeID.AES128_CTS_HMAC_SHA256_128, false},
		{"not requested, weak", etypeID.RC4_HMAC, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := newFakeKDC(t, func(_ int, req []byte) ([]byte, error) {
				return asRepFor(t, req, fakePW, c.encEtype, etypeID.AES256_CTS_HMAC_SHA1_96), nil
			})
			_, creds, _, err := k.login(fakeCtx(t), krb.WithEnctypes(requested...))
			if c.ok {
				// The fake AS-REP is otherwise right: the engine accepts it.
				require.NoError(t, err)
				assert.Equal(t, fakeClient+"@"+fakeRealm, creds.Client.String())
				assert.Equal(t, "krbtgt/"+fakeRealm+"@"+fakeRealm, creds.Server.String())
				return
			}
			require.ErrorIs(t, err, krb.ErrBadReply)
			assert.NotErrorIs(t, err, krb.ErrPreauthFailed)
			assert.Nil(t, creds)
			assert.Len(t, k.requests(), 1)
		})
	}
}

// TestHostileS2KParamsAreRefused: an unauthenticated PREAUTH_REQUIRED could
// ask for 2^32 PBKDF2 iterations and stall the client for half an hour; MIT
// refuses counts over 0xffffff, and so does the engine.
func TestHostileS2KParamsAreRefused(t *testing.T) {
	for _, params := range [][]byte{{0xff, 0xff, 0xff, 0xff}, {0x01, 0x00, 0x00, 0x00}, {0, 0, 0, 0}, {0, 0x10}} {
		k := newFakeKDC(t, func(n int, req []byte) ([]byte, error) {
			return krbError(t, krb.ErrCodePreauthRequired, methodData(t,
				types.PAData{PADataType: paEncTS},
				etypeInfo2(t, types.ETypeInfo2Entry{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: "s", S2KParams: params}))), nil
		})
		l, creds, took, err := k.login(fakeCtx(t))
		require.ErrorIs(t, err, krb.ErrBadReply, "params %x", params)
		assert.Contains(t, err.Error(), "invalid key generation parameters")
		assert.Nil(t, creds)
		assert.Less(t, took, time.Second)
		assert.Equal(t, 0, l.Stats().StringToKey)
	}
}

// TestSaltChangeDerivesANewKey: a second PREAUTH_REQUIRED with another salt
// must not reuse the key derived for the first one.
func TestSaltChangeDerivesANewKey(t *testing.T) {
	stop := errors.New("fake KDC: seen enough")
	salts := []string{"salt-A", "salt-B"}
	k := newFakeKDC(t, func(n int, req []byte) ([]byte, error) {
		if n >= len(salts) {
			return nil, stop
		}
		return krbError(t, krb.ErrCodePreauthRequired, methodData(t,
			types.PAData{PADataType: paEncTS},
			etypeInfo2(t, types.ETypeInfo2Entry{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: salts[n]}))), nil
	})
	l, _, _, err := k.login(fakeCtx(t))
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 2, l.Stats().StringToKey)
	reqs := k.requests()
	require.Len(t, reqs, 3)
	for i, salt := range salts {
		pa, ok := findPA(decodeASReq(t, reqs[i+1].data).PAData, paEncTS)
		require.True(t, ok)
		var ed types.EncryptedData
		require.NoError(t, ed.Unmarshal(pa.PADataValue))
		_, err := crypto.DecryptEncPart(ed, stringToKey(t, ed.EType, fakePW, salt), keyusage.AS_REQ_PA_ENC_TIMESTAMP)
		assert.NoError(t, err, "request %d must use %s", i+2, salt)
	}
}

// customMech is a third-party mechanism: it claims PA type 9999, asks its
// own question and sends the answer back as PA-DATA.
type customMech struct{}

func (customMech) Name() string { return "custom" }
func (customMech) PATypes() []preauth.PAType {
	return []preauth.PAType{{Type: 9999, Kind: preauth.Real}}
}
func (customMech) NewRequest() preauth.Request { return customReq{} }

type customReq struct{}

func (customReq) FillResponseSet(_ context.Context, _ preauth.Callbacks, in *preauth.Input, rs *responder.ResponseSet) error {
	rs.Ask("custom-question", string(in.PAData.PADataValue))
	return nil
}

func (customReq) Process(_ context.Context, cb preauth.Callbacks, in *preauth.Input) ([]types.PAData, error) {
	a, ok := cb.Answer("custom-question")
	if !ok {
		return nil, errors.New("no answer")
	}
	return []types.PAData{{PADataType: 9999, PADataValue: []byte(a)}}, nil
}

func TestThirdPartyMechanismRunsThroughTheEngine(t *testing.T) {
	stop := errors.New("fake KDC: seen enough")
	k := newFakeKDC(t, func(n int, req []byte) ([]byte, error) {
		if n == 0 {
			return krbError(t, krb.ErrCodePreauthRequired, methodData(t, types.PAData{PADataType: 9999, PADataValue: []byte("challenge")})), nil
		}
		return nil, stop
	})
	var seen string
	ask := responder.Func(func(_ context.Context, rs *responder.ResponseSet) error {
		seen, _ = rs.Challenge("custom-question")
		return rs.SetAnswer("custom-question", "answer")
	})
	_, _, _, err := k.login(fakeCtx(t), krb.WithMechanisms(customMech{}), krb.WithResponder(ask))
	require.ErrorIs(t, err, stop)
	assert.Equal(t, "challenge", seen)
	reqs := k.requests()
	require.Len(t, reqs, 2)
	pa, ok := findPA(decodeASReq(t, reqs[1].data).PAData, 9999)
	require.True(t, ok)
	assert.Equal(t, "answer", string(pa.PADataValue))
}

// alterASRep decodes a fake AS-REP, lets f change it, and encodes it again.
func alterASRep(t testing.TB, b []byte, f func(*messages.ASRep)) []byte {
	t.Helper()
	var rep messages.ASRep
	require.NoError(t, rep.Unmarshal(b))
	f(&rep)
	out, err := rep.Marshal()
	require.NoError(t, err)
	return out
}

// TestShortCiphertextIsBadReply: gokrb5 panics on ciphertext shorter than
// confounder plus checksum; a forged reply must not crash the client.
func TestShortCiphertextIsBadReply(t *testing.T) {
	for _, n := range []int{0, 1, 3, 15, 27} {
		k := newFakeKDC(t, func(_ int, req []byte) ([]byte, error) {
			return alterASRep(t, asRepFor(t, req, fakePW, etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96),
				func(r *messages.ASRep) { r.EncPart.Cipher = make([]byte, n) }), nil
		})
		_, creds, _, err := k.login(fakeCtx(t))
		require.ErrorIs(t, err, krb.ErrPreauthFailed, "%d bytes: a reply that does not decrypt reads as a wrong key", n)
		assert.Nil(t, creds)
	}
}

// TestSwappedTicketIsRefused: the ticket travels outside the encrypted
// part; one naming another server than the encrypted part is refused, as
// MIT's verify_as_reply does.
func TestSwappedTicketIsRefused(t *testing.T) {
	k := newFakeKDC(t, func(_ int, req []byte) ([]byte, error) {
		return alterASRep(t, asRepFor(t, req, fakePW, etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96),
			func(r *messages.ASRep) {
				r.Ticket.SName = types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "evil/attacker.example")
				r.Ticket.Realm = "EVIL.EXAMPLE"
			}), nil
	})
	_, creds, _, err := k.login(fakeCtx(t))
	require.ErrorIs(t, err, krb.ErrBadReply)
	assert.Contains(t, err.Error(), "ticket")
	assert.Nil(t, creds)
}
