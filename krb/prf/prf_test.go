package prf

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hexBytes decodes a JSON hex string, so vector files stay readable.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

type prfVector struct {
	Enctype     int32    `json:"enctype"`
	EnctypeName string   `json:"enctype_name"`
	Key         hexBytes `json:"key"`
	Input       hexBytes `json:"input"`
	Output      hexBytes `json:"output"`
}

type cf2Vector struct {
	Enctype     int32    `json:"enctype"`
	EnctypeName string   `json:"enctype_name"`
	Password1   string   `json:"password1"`
	Salt1       string   `json:"salt1"`
	Password2   string   `json:"password2"`
	Salt2       string   `json:"salt2"`
	Pepper1     string   `json:"pepper1"`
	Pepper2     string   `json:"pepper2"`
	Key1        hexBytes `json:"key1"`
	Key2        hexBytes `json:"key2"`
	Out         hexBytes `json:"out"`
}

func loadVectors[T any](t testing.TB, name string) []T {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	var f struct {
		Vectors []T `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	require.NotEmpty(t, f.Vectors)
	return f.Vectors
}

func key(et int32, v []byte) types.EncryptionKey {
	return types.EncryptionKey{KeyType: et, KeyValue: v}
}

func TestPRFVectors(t *testing.T) {
	for i, v := range loadVectors[prfVector](t, "prf.json") {
		t.Run(fmt.Sprintf("%d_%s_%x", i, v.EnctypeName, v.Input), func(t *testing.T) {
			got, err := PRF(key(v.Enctype, v.Key), v.Input)
			require.NoError(t, err)
			assert.Equal(t, hex.EncodeToString(v.Output), hex.EncodeToString(got))
		})
	}
}

// The aes-sha1 PRF vectors are PRF+ blocks (counter || pepper), so PRF+ of
// the same key must be their concatenation.
func TestPRFPlusMatchesBlocks(t *testing.T) {
	vs := loadVectors[prfVector](t, "prf.json")
	blocks := map[string][]byte{} // enctype/key/pepper -> concatenated outputs in counter order
	for _, v := range vs {
		if v.Enctype != 17 && v.Enctype != 18 {
			continue
		}
		id := fmt.Sprintf("%d/%x/%x", v.Enctype, v.Key, v.Input[1:])
		require.Equal(t, len(blocks[id])/16+1, int(v.Input[0]), "vectors must be in counter order")
		blocks[id] = append(blocks[id], v.Output...)
	}
	require.NotEmpty(t, blocks)
	for _, v := range vs {
		id := fmt.Sprintf("%d/%x/%x", v.Enctype, v.Key, v.Input[1:])
		want, ok := blocks[id]
		if !ok || v.Input[0] != 1 {
			continue
		}
		delete(blocks, id)
		t.Run(id, func(t *testing.T) {
			for _, n := range []int{0, 1, 16, len(want) - 1, len(want)} {
				got, err := PRFPlus(key(v.Enctype, v.Key), v.Input[1:], n)
				require.NoError(t, err)
				assert.Equal(t, hex.EncodeToString(want[:n]), hex.EncodeToString(got), "n=%d", n)
			}
		})
	}
}

func TestCF2Vectors(t *testing.T) {
	for _, v := range loadVectors[cf2Vector](t, "cf2.json") {
		t.Run(v.EnctypeName, func(t *testing.T) {
			// Keys from the vector file, so CF2 is checked independently of string-to-key.
			got, err := CF2(key(v.Enctype, v.Key1), key(v.Enctype, v.Key2), v.Pepper1, v.Pepper2)
			require.NoError(t, err)
			assert.Equal(t, v.Enctype, got.KeyType)
			assert.Equal(t, hex.EncodeToString(v.Out), hex.EncodeToString(got.KeyValue))
		})
	}
}

// TestCF2StringToKey reproduces MIT t_cf2 end to end: keys come from gokrb5's
// string-to-key (password also as salt, default parameters), which this
// checks against the keys recorded in the vector file.
func TestCF2StringToKey(t *testing.T) {
	for _, v := range loadVectors[cf2Vector](t, "cf2.json") {
		t.Run(v.EnctypeName, func(t *testing.T) {
			et, err := crypto.GetEtype(v.Enctype)
			require.NoError(t, err)
			params := et.GetDefaultStringToKeyParams()
			k1, err := et.StringToKey(v.Password1, v.Salt1, params)
			require.NoError(t, err)
			k2, err := et.StringToKey(v.Password2, v.Salt2, params)
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(v.Key1), hex.EncodeToString(k1), "gokrb5 string-to-key key1")
			require.Equal(t, hex.EncodeToString(v.Key2), hex.EncodeToString(k2), "gokrb5 string-to-key key2")

			got, err := CF2(key(v.Enctype, k1), key(v.Enctype, k2), v.Pepper1, v.Pepper2)
			require.NoError(t, err)
			assert.Equal(t, hex.EncodeToString(v.Out), hex.EncodeToString(got.KeyValue))
		})
	}
}

// PRF output lengths per enctype: these fix the PRF+ block size.
func TestPRFLength(t *testing.T) {
	for et, want := range map[int32]int{16: 16, 17: 16, 18: 16, 19: 32, 20: 48, 23: 20} {
		out, err := PRF(key(et, make([]byte, profiles[et].keyLen)), []byte("x"))
		require.NoError(t, err, "enctype %d", et)
		assert.Len(t, out, want, "enctype %d", et)
	}
}

func TestErrors(t *testing.T) {
	aes256 := key(18, make([]byte, 32))

	t.Run("unknown enctype", func(t *testing.T) {
		for _, et := range []int32{0, 1, 3, 24, 25, 26, -128} {
			k := key(et, make([]byte, 16))
			_, err := PRF(k, nil)
			assert.ErrorIs(t, err, ErrUnsupported, "PRF enctype %d", et)
			_, err = PRFPlus(k, nil, 16)
			assert.ErrorIs(t, err, ErrUnsupported, "PRFPlus enctype %d", et)
			_, err = CF2(k, k, "a", "b")
			assert.ErrorIs(t, err, ErrUnsupported, "CF2 enctype %d", et)
		}
	})

	t.Run("wrong key length", func(t *testing.T) {
		// 24 bytes for enctype 20 is what gokrb5's GetKeyByteSize claims; it is wrong.
		for et, n := range map[int32]int{16: 21, 17: 32, 18: 16, 19: 0, 20: 24, 23: 15} {
			k := key(et, make([]byte, n))
			_, err := PRF(k, []byte("x"))
			assert.ErrorContains(t, err, "key is", "PRF enctype %d len %d", et, n)
			_, err = CF2(k, k, "a", "b")
			assert.ErrorContains(t, err, "key is", "CF2 enctype %d len %d", et, n)
		}
		// A bad second key must be caught too, not just key1.
		_, err := CF2(aes256, key(18, make([]byte, 31)), "a", "b")
		assert.ErrorContains(t, err, "key is")
	})

	t.Run("mixed enctypes", func(t *testing.T) {
		// key1 decides the output enctype and length; key2's PRF+ is
		// stretched to that length (MIT's krb5_c_fx_cf2_simple).
		k17 := key(17, bytes.Repeat([]byte{7}, 16))
		out, err := CF2(aes256, k17, "a", "b")
		require.NoError(t, err)
		assert.EqualValues(t, 18, out.KeyType)
		a, err := PRFPlus(aes256, []byte("a"), 32)
		require.NoError(t, err)
		b, err := PRFPlus(k17, []byte("b"), 32)
		require.NoError(t, err)
		for i := range a {
			a[i] ^= b[i]
		}
		assert.Equal(t, a, out.KeyValue)
	})

	t.Run("random keys", func(t *testing.T) {
		for et, n := range map[int32]int{16: 24, 17: 16, 18: 32, 19: 16, 20: 32, 23: 16} {
			k, err := RandomKey(et)
			require.NoError(t, err)
			assert.Len(t, k.KeyValue, n, "enctype %d", et)
			_, err = PRF(k, []byte("x"))
			assert.NoError(t, err, "a random key is a valid key for enctype %d", et)
		}
		_, err := RandomKey(1)
		assert.ErrorIs(t, err, ErrUnsupported)
	})

	t.Run("PRF+ length", func(t *testing.T) {
		_, err := PRFPlus(aes256, []byte("p"), -1)
		assert.Error(t, err)
		out, err := PRFPlus(aes256, []byte("p"), 255*16) // exactly 255 blocks is allowed
		require.NoError(t, err)
		assert.Len(t, out, 255*16)
		_, err = PRFPlus(aes256, []byte("p"), 255*16+1) // counter octet would wrap
		assert.ErrorContains(t, err, "255")
	})
}

// CF2 must not alias or modify its inputs.
func TestCF2DoesNotModifyInputs(t *testing.T) {
	k1 := key(18, bytesOf(1, 32))
	k2 := key(18, bytesOf(2, 32))
	out, err := CF2(k1, k2, "a", "b")
	require.NoError(t, err)
	assert.Equal(t, bytesOf(1, 32), k1.KeyValue)
	assert.Equal(t, bytesOf(2, 32), k2.KeyValue)
	out.KeyValue[0] ^= 0xff
	assert.Equal(t, bytesOf(1, 32), k1.KeyValue)
}

func bytesOf(b byte, n int) []byte {
	s := make([]byte, n)
	for i := range s {
		s[i] = b
	}
	return s
}

func BenchmarkCF2AES256(b *testing.B) {
	var v cf2Vector
	for _, c := range loadVectors[cf2Vector](b, "cf2.json") {
		if c.Enctype == 18 {
			v = c
		}
	}
	require.NotNil(b, v.Key1)
	k1, k2 := key(18, v.Key1), key(18, v.Key2)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CF2(k1, k2, v.Pepper1, v.Pepper2); err != nil {
			b.Fatal(err)
		}
	}
}
