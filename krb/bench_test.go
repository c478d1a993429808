package krb_test

import (
	"context"
	"testing"

	"github.com/gokinit/gokinit/krb"
	gokrb5client "github.com/jcmturner/gokrb5/v8/client"
	gokrb5config "github.com/jcmturner/gokrb5/v8/config"
	"github.com/stretchr/testify/require"
)

// Run with: go test ./krb/ -run '^$' -bench Login -benchtime 200x
//
// Each benchmark logs in alice (encrypted timestamp, aes256-cts-hmac-sha1-96)
// against the same MIT KDC and reports round trips and string-to-key runs
// per login beside the time.

func BenchmarkLoginPassword(b *testing.B) {
	_, cfg := testRealm(b)
	var stats krb.Stats
	for b.Loop() {
		l, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithPassword(alicePW))
		require.NoError(b, err)
		_, err = l.Run(context.Background())
		require.NoError(b, err)
		s := l.Stats()
		stats.Requests += s.Requests
		stats.StringToKey += s.StringToKey
	}
	b.ReportMetric(float64(stats.Requests)/float64(b.N), "round-trips/op")
	b.ReportMetric(float64(stats.StringToKey)/float64(b.N), "s2k/op")
}

func BenchmarkLoginKeytab(b *testing.B) {
	realm, cfg := testRealm(b)
	path, err := realm.Keytab("host/svc.krbtest")
	require.NoError(b, err)
	kt, err := krb.LoadKeytab(path)
	require.NoError(b, err)
	var stats krb.Stats
	for b.Loop() {
		l, err := krb.NewLogin("host/svc.krbtest", krb.WithConfig(cfg), krb.WithKeytab(kt))
		require.NoError(b, err)
		_, err = l.Run(context.Background())
		require.NoError(b, err)
		stats.Requests += l.Stats().Requests
		stats.StringToKey += l.Stats().StringToKey
	}
	b.ReportMetric(float64(stats.Requests)/float64(b.N), "round-trips/op")
	b.ReportMetric(float64(stats.StringToKey)/float64(b.N), "s2k/op")
}

// BenchmarkLoginGokrb5 is gokrb5's client.Login for the same principal and
// KDC, for comparison. gokrb5 derives the key from the password once per
// try as well; its round trips are the same two.
func BenchmarkLoginGokrb5(b *testing.B) {
	realm, _ := testRealm(b)
	gcfg, err := gokrb5config.Load(realm.ConfigPath)
	require.NoError(b, err)
	for b.Loop() {
		cl := gokrb5client.NewWithPassword("alice", realm.Name, alicePW, gcfg, gokrb5client.DisablePAFXFAST(true))
		require.NoError(b, cl.Login())
		cl.Destroy()
	}
	b.ReportMetric(2, "round-trips/op")
}

// BenchmarkLoginFAST is the password login armored with a host's TGT
// (encrypted challenge inside FAST), beside BenchmarkLoginPassword.
func BenchmarkLoginFAST(b *testing.B) {
	_, cfg := testRealm(b)
	armor := hostArmor(b)
	var stats krb.Stats
	for b.Loop() {
		l, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithArmor(armor))
		require.NoError(b, err)
		_, err = l.Run(context.Background())
		require.NoError(b, err)
		stats.Requests += l.Stats().Requests
		stats.StringToKey += l.Stats().StringToKey
	}
	b.ReportMetric(float64(stats.Requests)/float64(b.N), "round-trips/op")
	b.ReportMetric(float64(stats.StringToKey)/float64(b.N), "s2k/op")
}
