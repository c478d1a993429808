package krb

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"hash"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func iterParams(n uint32) string { return fmt.Sprintf("%08x", n) }

// TestStringToKeyRFC3962Vectors: RFC 3962 Appendix B.
func TestStringToKeyRFC3962Vectors(t *testing.T) {
	const salt = "ATHENA.MIT.EDUraeburn"
	cases := []struct {
		iter   uint32
		etype  int32
		keyHex string
	}{
		{1, etypeID.AES128_CTS_HMAC_SHA1_96, "42263c6e89f4fc28b8df68ee09799f15"},
		{1, etypeID.AES256_CTS_HMAC_SHA1_96, "fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161"},
		{2, etypeID.AES128_CTS_HMAC_SHA1_96, "c651bf29e2300ac27fa469d693bdda13"},
		{2, etypeID.AES256_CTS_HMAC_SHA1_96, "a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff"},
		{1200, etypeID.AES128_CTS_HMAC_SHA1_96, "4c01cd46d632d01e6dbe230a01ed642a"},
		{1200, etypeID.AES256_CTS_HMAC_SHA1_96, "55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a"},
	}
	for _, c := range cases {
		k, err := stringToKey(context.Background(), c.etype, "password", salt, iterParams(c.iter))
		require.NoError(t, err)
		assert.Equal(t, c.keyHex, hex.EncodeToString(k), "etype %d, %d iterations", c.etype, c.iter)
	}
}

// TestStringToKeyMatchesGokrb5: for every enctype, including the RFC 8009
// ones and those without an iteration count, the chunked derivation gives
// gokrb5's key, across chunk boundaries.
func TestStringToKeyMatchesGokrb5(t *testing.T) {
	etypes := []int32{etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96,
		etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192,
		etypeID.DES3_CBC_SHA1_KD, etypeID.RC4_HMAC}
	for _, e := range etypes {
		et, err := crypto.GetEtype(e)
		require.NoError(t, err)
		params := []string{et.GetDefaultStringToKeyParams()}
		if len(params[0]) == 8 {
			params = append(params, iterParams(1), iterParams(s2kCheckEvery-1), iterParams(s2kCheckEvery), iterParams(s2kCheckEvery+1), iterParams(5000))
		}
		for _, p := range params {
			for _, pw := range []string{"", "password", "pässwörd with a long tail that exceeds one SHA block of sixty-four bytes"} {
				want, err := et.StringToKey(pw, "EXAMPLE.COMalice", p)
				require.NoError(t, err)
				got, err := stringToKey(context.Background(), e, pw, "EXAMPLE.COMalice", p)
				require.NoError(t, err)
				assert.Equal(t, want, got, "etype %d params %s", e, p)
			}
		}
	}
}

// TestStringToKeyCancelsWithin100ms: at the largest iteration count a KDC
// may ask for (about 8 s of work), a cancel returns within 100 ms, for
// each PBKDF2 hash.
func TestStringToKeyCancelsWithin100ms(t *testing.T) {
	for _, e := range []int32{etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA384_192} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := stringToKey(ctx, e, "password", "salt", iterParams(maxPBKDF2Iterations))
			done <- err
		}()
		time.Sleep(30 * time.Millisecond)
		cancel()
		at := time.Now()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, context.Canceled)
			assert.Less(t, time.Since(at), 100*time.Millisecond, "etype %d", e)
		case <-time.After(5 * time.Second):
			t.Fatalf("etype %d: string-to-key did not stop after cancel", e)
		}
	}
}

// BenchmarkStringToKey compares the chunked derivation with gokrb5's at
// the default iteration count (4096).
func BenchmarkStringToKey(b *testing.B) {
	et, _ := crypto.GetEtype(etypeID.AES256_CTS_HMAC_SHA1_96)
	p := et.GetDefaultStringToKeyParams()
	b.Run("chunked", func(b *testing.B) {
		for b.Loop() {
			_, _ = stringToKey(context.Background(), etypeID.AES256_CTS_HMAC_SHA1_96, "password", "EXAMPLE.COMalice", p)
		}
	})
	b.Run("gokrb5", func(b *testing.B) {
		for b.Loop() {
			_, _ = et.StringToKey("password", "EXAMPLE.COMalice", p)
		}
	})
}

// countingHash counts the blocks hashed, PBKDF2's unit of work.
type countingHash struct {
	hash.Hash
	n *int
}

func (c countingHash) Write(p []byte) (int, error) { *c.n++; return c.Hash.Write(p) }

// TestPBKDF2CostIsLinearAndBounded: the work of string-to-key is the
// iteration count the KDC chose times the output blocks, nothing more, and
// the largest count the KDC may ask for (maxPBKDF2Iterations) bounds it;
// a larger one is refused before any work.
func TestPBKDF2CostIsLinearAndBounded(t *testing.T) {
	cost := func(iter int) int {
		n := 0
		h := func() hash.Hash { return countingHash{sha1.New(), &n} }
		_, err := pbkdf2(context.Background(), h, []byte("pw"), []byte("salt"), iter, 32)
		require.NoError(t, err)
		return n
	}
	c1, c2 := cost(1000), cost(4000)
	assert.InDelta(t, 4.0, float64(c2)/float64(c1), 0.05, "work grows linearly with the iteration count")
	// Two SHA-1 blocks for a 32-byte key, a few writes per iteration.
	perIter := float64(c2-c1) / 3000
	assert.LessOrEqual(t, perIter, 12.0)
	t.Logf("%.1f hash writes per iteration; at most %d iterations, so at most %.0f writes", perIter, maxPBKDF2Iterations, perIter*maxPBKDF2Iterations)
	_, err := stringToKey(context.Background(), etypeID.AES256_CTS_HMAC_SHA1_96, "pw", "salt", iterParams(maxPBKDF2Iterations+1))
	assert.Error(t, err, "above MIT's bound: refused before any work")
}
