package spake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/preauth/encts"
	"github.com/stretchr/testify/require"
)

// Run with: go test ./preauth/spake/ -run '^$' -bench Login -benchtime 200x
//
// BenchmarkLogin logs alice (aes256-cts-hmac-sha1-96, requires_preauth) in
// against MIT's KDC: by encrypted timestamp, then through SPAKE in each
// group, with and without the KDC's optimistic challenge, reporting the
// round trips per login beside the time.
func BenchmarkLogin(b *testing.B) {
	realm := spakeRealm(b, strings.Join(allGroups, " "), "")
	b.Run("encrypted_timestamp", func(b *testing.B) {
		benchLogin(b, clientConfig(b, realm, "", false), krb.WithMechanisms(encts.Mechanism))
	})
	for _, g := range allGroups {
		b.Run("spake/"+g, func(b *testing.B) {
			benchLogin(b, clientConfig(b, realm, g, true))
		})
	}
	for _, g := range allGroups {
		b.Run("spake_optimistic/"+g, func(b *testing.B) {
			benchLogin(b, clientConfig(b, spakeRealm(b, g, g), g, true))
		})
	}
}

func benchLogin(b *testing.B, cfg *krb.Config, opts ...krb.Option) {
	opts = append([]krb.Option{krb.WithConfig(cfg), krb.WithPassword(alicePW)}, opts...)
	var requests int
	for b.Loop() {
		l, err := krb.NewLogin("alice", opts...)
		require.NoError(b, err)
		_, err = l.Run(context.Background())
		require.NoError(b, err)
		requests += l.Stats().Requests
	}
	b.ReportMetric(float64(requests)/float64(b.N), "round-trips/op")
}
