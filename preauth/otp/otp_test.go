package otp

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// mitChallenge is a PA-OTP-CHALLENGE that MIT krb5 1.20's KDC sent
// (aes256 armor): a 36-byte nonce (a timestamp and 32 random bytes) and one
// token info with no flags and no optional fields.
const mitChallenge = "303180246b037fe4e266d7478b2bf46004d6ec440d1cca8e35af6779d20f0d30f25a79e0316e79aba209300780050000000000"

func i32(v int32) *int32 { return &v }

// encodeChallenge is the KDC's side of decodeChallenge, for tests. The
// supportedHashAlg field is an empty SEQUENCE OF when present.
func encodeChallenge(c *challenge) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(tag(0), func(b *cryptobyte.Builder) { b.AddBytes(c.nonce) })
		addOctets(b, 1, []byte(c.service))
		b.AddASN1(tag(2).Constructed(), func(b *cryptobyte.Builder) {
			for _, ti := range c.tokenInfo {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(tag(0), func(b *cryptobyte.Builder) {
						b.AddBytes([]byte{0, byte(ti.flags >> 24), byte(ti.flags >> 16), byte(ti.flags >> 8), byte(ti.flags)})
					})
					addOctets(b, 1, []byte(ti.vendor))
					addOctets(b, 2, ti.challenge)
					addInt(b, 3, ti.length)
					addInt(b, 4, ti.format)
					addOctets(b, 5, ti.tokenID)
					addOctets(b, 6, []byte(ti.algID))
					if ti.hashAlgs {
						b.AddASN1(tag(7).Constructed(), func(*cryptobyte.Builder) {})
					}
					addInt(b, 8, ti.iterationCount)
				})
			}
		})
	})
	return b.BytesOrPanic()
}

func addInt(b *cryptobyte.Builder, n uint8, v *int32) {
	if v != nil {
		b.AddASN1Int64WithTag(int64(*v), tag(n))
	}
}

// sentRequest is a decoded PA-OTP-REQUEST, with its encData decrypted.
type sentRequest struct {
	flags                         []byte
	nonce                         []byte // from PA-OTP-ENC-REQUEST
	value, pin, tokenID           []byte
	algID, vendor                 string
	format                        *int32
	unexpected                    bool // fields the client never sends
	encEtype                      int32
	encDataDecrypts, encDataIsDER bool
	fieldsInOrder                 []uint8
}

func decodeRequest(t *testing.T, b []byte, armor types.EncryptionKey) sentRequest {
	t.Helper()
	var r sentRequest
	s := cryptobyte.String(b)
	var seq cryptobyte.String
	require.True(t, s.ReadASN1(&seq, cbasn1.SEQUENCE) && s.Empty(), "PA-OTP-REQUEST is one SEQUENCE")
	for !seq.Empty() {
		var v cryptobyte.String
		var tg cbasn1.Tag
		require.True(t, seq.ReadAnyASN1(&v, &tg))
		n := uint8(tg & 0x1f)
		r.fieldsInOrder = append(r.fieldsInOrder, n)
		switch n {
		case 0:
			r.flags = v
		case 2:
			require.Equal(t, tag(2).Constructed(), tg)
			der, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: v})
			require.NoError(t, err)
			var ed types.EncryptedData
			_, err = asn1.Unmarshal(der, &ed)
			require.NoError(t, err)
			r.encEtype = ed.EType
			plain, err := crypto.DecryptEncPart(ed, armor, usageOTPRequest)
			if err == nil {
				r.encDataDecrypts = true
				p := cryptobyte.String(plain)
				var inner, nonce cryptobyte.String
				r.encDataIsDER = p.ReadASN1(&inner, cbasn1.SEQUENCE) && p.Empty() && inner.ReadASN1(&nonce, tag(0)) && inner.Empty()
				r.nonce = nonce
			}
		case 5:
			r.value = v
		case 6:
			r.pin = v
		case 10:
			var f int64
			vv := cryptobyte.String(append([]byte{0x02, byte(len(v))}, v...))
			require.True(t, vv.ReadASN1Int64WithTag(&f, cbasn1.INTEGER))
			r.format = i32(int32(f))
		case 11:
			r.tokenID = v
		case 12:
			r.algID = string(v)
		case 13:
			r.vendor = string(v)
		default:
			r.unexpected = true
		}
	}
	return r
}

// fakeCallbacks is the engine's side of preauth.Callbacks for unit tests;
// the embedded nil interface panics on callbacks OTP must not use.
type fakeCallbacks struct {
	preauth.Callbacks
	armor       *types.EncryptionKey
	rs          *responder.ResponseSet
	prompter    prompter.Prompter
	asKey       *types.EncryptionKey
	fallbackOff bool
}

func (f *fakeCallbacks) SetASKey(k types.EncryptionKey) { f.asKey = &k }
func (f *fakeCallbacks) ArmorKey() *types.EncryptionKey { return f.armor }
func (f *fakeCallbacks) Answer(q string) (string, bool) { return f.rs.Answer(q) }
func (f *fakeCallbacks) Prompter() prompter.Prompter    { return f.prompter }
func (f *fakeCallbacks) DisableFallback()               { f.fallbackOff = true }

var testArmor = types.EncryptionKey{KeyType: 18, KeyValue: []byte("0123456789abcdef0123456789abcdef")}

// round runs one round for the challenge as the engine does: questions,
// the responder, then Process.
func round(t *testing.T, chal []byte, cb *fakeCallbacks, respond func(*responder.ResponseSet)) ([]types.PAData, error) {
	t.Helper()
	if cb.rs == nil {
		cb.rs = &responder.ResponseSet{}
	}
	r := Mechanism.NewRequest()
	in := &preauth.Input{PAData: types.PAData{PADataType: PATypeOTPChallenge, PADataValue: chal}}
	if err := r.FillResponseSet(context.Background(), cb, in, cb.rs); err != nil {
		t.Logf("FillResponseSet: %v", err)
	}
	if respond != nil && !cb.rs.Empty() {
		respond(cb.rs)
	}
	return r.Process(context.Background(), cb, in)
}

func TestDecodeMITChallenge(t *testing.T) {
	b, _ := hex.DecodeString(mitChallenge)
	c, err := decodeChallenge(b)
	require.NoError(t, err)
	assert.Len(t, c.nonce, 36, "a 4-byte timestamp and as many random bytes as the armor key")
	assert.Empty(t, c.service)
	assert.Equal(t, []tokenInfo{{}}, c.tokenInfo)
	j, err := challengeJSON(c)
	require.NoError(t, err)
	assert.Equal(t, `{"tokenInfo":[{"flags":1}]}`, j)
	assert.Equal(t, b, encodeChallenge(c), "the test encoder writes what MIT writes")
}

func TestDecodeChallengeAllFields(t *testing.T) {
	want := &challenge{
		nonce:   []byte("nonce"),
		service: "VPN",
		tokenInfo: []tokenInfo{
			{flags: flagCollectPIN | flagSeparatePIN, vendor: "Acme", challenge: []byte("c-123"),
				length: i32(6), format: i32(0), tokenID: []byte{0, 1, 2}, algID: "urn:x", hashAlgs: true, iterationCount: i32(1000)},
			{flags: flagNextOTP, length: i32(-2)},
		},
	}
	got, err := decodeChallenge(encodeChallenge(want))
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// As in MIT's decoder, an integer field of -1 reads as absent.
	got, err = decodeChallenge(encodeChallenge(&challenge{tokenInfo: []tokenInfo{
		{length: i32(-1), format: i32(-1), iterationCount: i32(-1)},
	}}))
	require.NoError(t, err)
	assert.Equal(t, tokenInfo{}, got.tokenInfo[0])

	// A salt, s2kparams and fields after the extension markers are skipped.
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(tag(0), func(b *cryptobyte.Builder) { b.AddBytes([]byte("n")) })
		b.AddASN1(tag(2).Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(tag(0), func(b *cryptobyte.Builder) { b.AddBytes([]byte{0, 0, 0, 0, 0}) })
				b.AddASN1(tag(9), func(b *cryptobyte.Builder) { b.AddBytes([]byte("future")) })
			})
		})
		b.AddASN1(tag(3), func(b *cryptobyte.Builder) { b.AddBytes([]byte("EXAMPLE.TESTalice")) })
		b.AddASN1(tag(4), func(b *cryptobyte.Builder) { b.AddBytes([]byte{0, 0, 16, 0}) })
		b.AddASN1(tag(5).Constructed(), func(*cryptobyte.Builder) {})
	})
	got, err = decodeChallenge(b.BytesOrPanic())
	require.NoError(t, err)
	assert.Equal(t, &challenge{nonce: []byte("n"), tokenInfo: []tokenInfo{{}}}, got)
}

func TestDecodeChallengeMalformed(t *testing.T) {
	// A valid challenge: nonce aabb and one bare token info.
	_, err := decodeChallenge(mustHex(t, "300f8002aabba209300780050000000000"))
	require.NoError(t, err)
	for name, h := range map[string]string{
		"empty":                 "",
		"truncated":             mitChallenge[:len(mitChallenge)-2],
		"trailing byte":         mitChallenge + "00",
		"not a SEQUENCE":        "31" + mitChallenge[2:],
		"long-form length":      "3081" + mitChallenge[2:],
		"no token list":         "30048002aabb",
		"empty token list":      "30068002aabba200",
		"no nonce":              "300ba209300780050000000000",
		"explicit nonce":        "3011a0040402aabba209300780050000000000",
		"token not a SEQUENCE":  "300f8002aabba209310780050000000000",
		"flags unused bits > 7": "300f8002aabba209300780050800000000",
		"flags of no bytes":     "300b8002aabba2053003800107",
		"length over int32":     "30168002aabba210300e8005000000000083050100000000",
		"fields out of order":   "30158002aabba20f300d80050000000000830106810141",
		"vendor not UTF-8":      "30128002aabba20c300a800500000000008101ff",
	} {
		_, err := decodeChallenge(mustHex(t, h))
		assert.ErrorIs(t, err, errMalformed, name)
	}
}

func mustHex(t *testing.T, h string) []byte {
	t.Helper()
	b, err := hex.DecodeString(h)
	require.NoError(t, err)
	return b
}

func TestSupportedTokens(t *testing.T) {
	for _, tc := range []struct {
		name string
		ti   tokenInfo
		keep bool
	}{
		{"bare", tokenInfo{}, true},
		{"collect PIN", tokenInfo{flags: flagCollectPIN}, true},
		{"separate PIN", tokenInfo{flags: flagCollectPIN | flagSeparatePIN}, true},
		{"do not collect PIN", tokenInfo{flags: flagNoCollectPIN}, true},
		{"decimal", tokenInfo{format: i32(0)}, true},
		{"binary", tokenInfo{format: i32(formatBinary)}, true},
		{"base64", tokenInfo{format: i32(formatBase64)}, false},
		{"next OTP", tokenInfo{flags: flagNextOTP}, false},
		{"combine", tokenInfo{flags: flagCombine}, false},
		{"must encrypt nonce", tokenInfo{flags: flagMustEncryptNonce}, false},
		{"check digit", tokenInfo{flags: flagCheckDigit}, false},
		{"reserved bit", tokenInfo{flags: 0x80000000}, false},
		{"hash algorithms", tokenInfo{hashAlgs: true}, false},
		{"iteration count", tokenInfo{iterationCount: i32(0)}, false},
		{"vendor with a newline", tokenInfo{vendor: "Ac\nme"}, false},
		{"non-ASCII vendor", tokenInfo{vendor: "Acmé"}, false},
		{"binary challenge", tokenInfo{challenge: []byte{1, 2}}, false},
		{"printable challenge", tokenInfo{challenge: []byte("Press 1 ~")}, true},
	} {
		got := supportedTokens([]tokenInfo{tc.ti})
		assert.Equal(t, tc.keep, len(got) == 1, tc.name)
	}
}

func TestChallengeJSON(t *testing.T) {
	c := &challenge{service: "VPN <&>", tokenInfo: []tokenInfo{
		{flags: flagCollectPIN, vendor: "AT&T", challenge: []byte("12/34"), length: i32(6), format: i32(0), tokenID: []byte("t1"), algID: "urn:a"},
		{flags: flagCollectPIN | flagSeparatePIN, format: i32(formatBinary)},
		{flags: flagSeparatePIN, format: i32(responder.OTPFormatAlphanumeric)},
	}}
	j, err := challengeJSON(c)
	require.NoError(t, err)
	// MIT's k5_json: keys in insertion order, no spaces, no HTML escaping.
	assert.Equal(t, `{"service":"VPN <&>","tokenInfo":[`+
		`{"flags":3,"vendor":"AT&T","challenge":"12/34","length":6,"format":0,"tokenID":"t1","algID":"urn:a"},`+
		`{"flags":11},`+
		`{"flags":1,"format":2}]}`, j)
	parsed, err := responder.ParseOTPChallenge(j)
	require.NoError(t, err)
	assert.Equal(t, int32(responder.OTPCollectToken|responder.OTPCollectPIN|responder.OTPSeparatePIN), parsed.TokenInfo[1].Flags)
}

func TestResponderAnswer(t *testing.T) {
	nonce := []byte("the KDC's nonce")
	chal := encodeChallenge(&challenge{nonce: nonce, tokenInfo: []tokenInfo{
		{vendor: "first", format: i32(0)}, {vendor: "second", tokenID: []byte("T2"), algID: "urn:alg", format: i32(2)},
	}})
	cb := &fakeCallbacks{armor: &testArmor}
	var asked string
	out, err := round(t, chal, cb, func(rs *responder.ResponseSet) {
		asked, _ = rs.Challenge(responder.QuestionOTP)
		require.NoError(t, responder.SetOTPAnswer(rs, responder.OTPAnswer{TokenInfo: 1, Value: "abc123"}))
	})
	require.NoError(t, err)
	assert.Equal(t, `{"tokenInfo":[{"flags":1,"vendor":"first","format":0},{"flags":1,"vendor":"second","format":2,"tokenID":"T2","algID":"urn:alg"}]}`, asked)
	require.Len(t, out, 1)
	assert.Equal(t, int32(PATypeOTPRequest), out[0].PADataType)
	req := decodeRequest(t, out[0].PADataValue, testArmor)
	assert.Equal(t, []byte{0, 0, 0, 0, 0}, req.flags)
	assert.True(t, req.encDataDecrypts, "encData is in the armor key, usage 45")
	assert.True(t, req.encDataIsDER, "PA-OTP-ENC-REQUEST with an IMPLICIT [0] nonce")
	assert.Equal(t, nonce, req.nonce)
	assert.Equal(t, testArmor.KeyType, req.encEtype)
	assert.Equal(t, "abc123", string(req.value))
	assert.Nil(t, req.pin)
	assert.Equal(t, i32(2), req.format)
	assert.Equal(t, "T2", string(req.tokenID))
	assert.Equal(t, "urn:alg", req.algID)
	assert.Equal(t, "second", req.vendor)
	assert.False(t, req.unexpected)
	assert.Equal(t, []uint8{0, 2, 5, 10, 11, 12, 13}, req.fieldsInOrder)
	assert.Equal(t, &testArmor, cb.asKey, "the armor key is the reply key")
	assert.True(t, cb.fallbackOff)
}

func TestPIN(t *testing.T) {
	for _, tc := range []struct {
		name       string
		flags      uint32
		value, pin string
		sentValue  string
		sentPIN    string
		err        bool
	}{
		{"no PIN", 0, "123456", "", "123456", "", false},
		{"PIN goes in front", flagCollectPIN, "123456", "4321", "4321123456", "", false},
		{"PIN in front even unasked", 0, "123456", "4321", "4321123456", "", false},
		{"responder combined them", flagCollectPIN, "4321123456", "", "4321123456", "", false},
		{"separate PIN", flagCollectPIN | flagSeparatePIN, "123456", "4321", "123456", "4321", false},
		{"separate PIN missing", flagCollectPIN | flagSeparatePIN, "123456", "", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chal := encodeChallenge(&challenge{nonce: []byte("n"), tokenInfo: []tokenInfo{{flags: tc.flags}}})
			cb := &fakeCallbacks{armor: &testArmor}
			out, err := round(t, chal, cb, func(rs *responder.ResponseSet) {
				require.NoError(t, responder.SetOTPAnswer(rs, responder.OTPAnswer{Value: tc.value, PIN: tc.pin}))
			})
			if tc.err {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), tc.value)
				assert.Nil(t, cb.asKey)
				return
			}
			require.NoError(t, err)
			req := decodeRequest(t, out[0].PADataValue, testArmor)
			assert.Equal(t, tc.sentValue, string(req.value))
			assert.Equal(t, tc.sentPIN, string(req.pin))
		})
	}
}

// scripted is a prompter that records its calls and replies from a list.
type scripted struct {
	replies []string
	calls   []promptCall
}

type promptCall struct {
	banner  string
	prompts []prompter.Prompt
}

func (s *scripted) Prompt(_ context.Context, name, banner string, prompts []prompter.Prompt) ([]string, error) {
	s.calls = append(s.calls, promptCall{banner, prompts})
	if len(s.replies) < len(prompts) {
		return nil, errors.New("scripted prompter: out of replies")
	}
	out := s.replies[:len(prompts)]
	s.replies = s.replies[len(prompts):]
	return out, nil
}

func TestPrompter(t *testing.T) {
	value := prompter.Prompt{Text: "Enter OTP Token Value", Hidden: true, Type: prompter.TypePreauth}
	pin := prompter.Prompt{Text: "OTP Token PIN", Hidden: true, Type: prompter.TypePreauth}
	choice := prompter.Prompt{Text: "Enter #", Hidden: true, Type: prompter.TypePreauth}
	six, eight := tokenInfo{vendor: "six", length: i32(6), format: i32(0)}, tokenInfo{vendor: "eight", length: i32(8), format: i32(0)}

	for _, tc := range []struct {
		name      string
		tokens    []tokenInfo
		replies   []string
		calls     []promptCall
		sentValue string
		vendor    string
		err       error
	}{
		{
			name: "one token", tokens: []tokenInfo{{}}, replies: []string{"123456"},
			calls: []promptCall{{"", []prompter.Prompt{value}}}, sentValue: "123456",
		},
		{
			name: "one token with a challenge and a PIN", tokens: []tokenInfo{{flags: flagCollectPIN, challenge: []byte("42")}},
			replies: []string{"123456", "4321"},
			calls:   []promptCall{{"OTP Challenge: 42\n", []prompter.Prompt{value, pin}}}, sentValue: "4321123456",
		},
		{
			name: "the value chooses the token", tokens: []tokenInfo{six, eight}, replies: []string{"12345678"},
			calls: []promptCall{{"", []prompter.Prompt{value}}}, sentValue: "12345678", vendor: "eight",
		},
		{
			name: "the value fits no token", tokens: []tokenInfo{six, eight}, replies: []string{"1234"},
			calls: []promptCall{{"", []prompter.Prompt{value}}}, err: ErrNoUsableToken,
		},
		{
			name: "the value fits two tokens", tokens: []tokenInfo{six, {vendor: "any", flags: flagCollectPIN}}, replies: []string{"123456", "2", "99"},
			calls: []promptCall{
				{"", []prompter.Prompt{value}},
				{"Please choose from the following:\n\t1. Vendor: six\n\t2. Vendor: any\n", []prompter.Prompt{choice}},
				{"", []prompter.Prompt{pin}},
			},
			sentValue: "99123456", vendor: "any",
		},
		{
			name: "a challenge makes the person choose first", tokens: []tokenInfo{{vendor: "a"}, {vendor: "b", challenge: []byte("777")}},
			replies: []string{"x", "2", "123456"},
			calls: []promptCall{
				{"Please choose from the following:\n\t1. Vendor: a\n\t2. Vendor: b\n", []prompter.Prompt{choice}},
				{"Please choose from the following:\n\t1. Vendor: a\n\t2. Vendor: b\n", []prompter.Prompt{choice}},
				{"OTP Challenge: 777\n", []prompter.Prompt{value}},
			},
			sentValue: "123456", vendor: "b",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &scripted{replies: tc.replies}
			cb := &fakeCallbacks{armor: &testArmor, prompter: p}
			out, err := round(t, encodeChallenge(&challenge{nonce: []byte("n"), tokenInfo: tc.tokens}), cb, nil)
			assert.Equal(t, tc.calls, p.calls)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				assert.NotContains(t, err.Error(), tc.replies[0])
				return
			}
			require.NoError(t, err)
			req := decodeRequest(t, out[0].PADataValue, testArmor)
			assert.Equal(t, tc.sentValue, string(req.value))
			assert.Equal(t, tc.vendor, req.vendor)
		})
	}
}

func TestUnusableAnswer(t *testing.T) {
	chal := encodeChallenge(&challenge{nonce: []byte("n"), tokenInfo: []tokenInfo{{}}})
	for name, answer := range map[string]string{
		"not JSON":       `{"tokeninfo":0,"value":"s3cr3t-value"`,
		"no such token":  `{"tokeninfo":1,"value":"s3cr3t-value"}`,
		"negative token": `{"tokeninfo":-1,"value":"s3cr3t-value"}`,
	} {
		t.Run(name, func(t *testing.T) {
			set := func(rs *responder.ResponseSet) { require.NoError(t, rs.SetAnswer(responder.QuestionOTP, answer)) }
			_, err := round(t, chal, &fakeCallbacks{armor: &testArmor}, set)
			require.Error(t, err, "without a prompter the answer's problem is the error")
			assert.NotContains(t, err.Error(), "s3cr3t")

			p := &scripted{replies: []string{"123456"}}
			out, err := round(t, chal, &fakeCallbacks{armor: &testArmor, prompter: p}, set)
			require.NoError(t, err, "with one, the person is asked, as MIT does")
			assert.Equal(t, "123456", string(decodeRequest(t, out[0].PADataValue, testArmor).value))
		})
	}
}

func TestNoAnswerNoPrompter(t *testing.T) {
	chal := encodeChallenge(&challenge{nonce: []byte("n"), tokenInfo: []tokenInfo{{}}})
	_, err := round(t, chal, &fakeCallbacks{armor: &testArmor}, nil)
	require.ErrorIs(t, err, responder.ErrNoAnswer)
	assert.Contains(t, err.Error(), `"otp"`)
}

func TestNeedFAST(t *testing.T) {
	b, _ := hex.DecodeString(mitChallenge)
	cb := &fakeCallbacks{}
	_, err := round(t, b, cb, func(*responder.ResponseSet) { t.Error("no question without armor") })
	require.ErrorIs(t, err, ErrNeedFAST)
	assert.True(t, cb.rs.Empty())
	assert.Nil(t, cb.asKey)
}

func TestNoUsableToken(t *testing.T) {
	chal := encodeChallenge(&challenge{nonce: []byte("n"), tokenInfo: []tokenInfo{
		{format: i32(formatBase64)}, {flags: flagNextOTP}, {iterationCount: i32(1)},
	}})
	cb := &fakeCallbacks{armor: &testArmor}
	_, err := round(t, chal, cb, nil)
	require.ErrorIs(t, err, ErrNoUsableToken)
	assert.True(t, cb.rs.Empty(), "no question for tokens nobody can use")

	_, err = round(t, []byte{0x30, 0x00}, &fakeCallbacks{armor: &testArmor}, nil)
	require.ErrorIs(t, err, errMalformed)
}

func TestReplyPADataIgnored(t *testing.T) {
	r := Mechanism.NewRequest()
	out, err := r.Process(context.Background(), &fakeCallbacks{armor: &testArmor}, &preauth.Input{Reply: true})
	assert.NoError(t, err)
	assert.Nil(t, out)
}
