package spake

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// Run with: go test ./preauth/spake/ -run '^$' -bench 'Group|ClientResponse'

// BenchmarkGroup measures the client's group operations in each group:
// its public element S = y·G + w·N, and the shared element
// K = y·(T − w·M) with the validation of T.
func BenchmarkGroup(b *testing.B) {
	for _, g := range groups {
		w := bytes.Repeat([]byte{0x5a}, g.multLen)
		x, err := g.curve().randomScalar()
		require.NoError(b, err)
		y, err := g.curve().randomScalar()
		require.NoError(b, err)
		T, err := g.curve().public(w, x, true)
		require.NoError(b, err)
		b.Run(g.name+"/public", func(b *testing.B) {
			for b.Loop() {
				if _, err := g.curve().public(w, y, false); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(g.name+"/shared", func(b *testing.B) {
			for b.Loop() {
				if _, err := g.curve().shared(w, y, T, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClientResponse is all the client's work to answer a challenge
// (RFC 9588 §4), the long-term key being known: w, a scalar, S, K, the
// transcript, K'[0] and K'[1], and the encrypted factor.
func BenchmarkClientResponse(b *testing.B) {
	for _, g := range groups {
		b.Run(g.name, func(b *testing.B) {
			cb := newFakeCallbacks(b, g.name)
			ch := (&fakeKDC{t: b, key: cb.key}).challenge(g.id, nil)
			in := input(ch, body(b))
			for b.Loop() {
				if _, err := Mechanism.NewRequest().Process(context.Background(), cb, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
