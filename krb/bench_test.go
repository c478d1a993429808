package krb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gokinit/gokinit/krb"
	gokrb5client "github.com/jcmturner/gokrb5/v8/client"
	gokrb5config "github.com/jcmturner/gokrb5/v8/config"
	"github.com/stretchr/testify/require"
)

// Run with: go test ./krb/ -run '^$' -bench Login -benchtime 200x
//
// Each benchmark logs in against the same MIT KDC (alice: encrypted
// timestamp, aes256-cts-hmac-sha1-96) and reports round trips and
// string-to-key runs per login beside the time.

// benchLogin logs client in b.N times and reports the per-login counts.
func benchLogin(b *testing.B, client string, opts ...krb.Option) {
	var stats krb.Stats
	for b.Loop() {
		l, err := krb.NewLogin(client, opts...)
		require.NoError(b, err)
		_, err = l.Run(context.Background())
		require.NoError(b, err)
		stats.Requests += l.Stats().Requests
		stats.StringToKey += l.Stats().StringToKey
	}
	b.ReportMetric(float64(stats.Requests)/float64(b.N), "round-trips/op")
	b.ReportMetric(float64(stats.StringToKey)/float64(b.N), "s2k/op")
}

func BenchmarkLoginPassword(b *testing.B) {
	_, cfg := testRealm(b)
	benchLogin(b, "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW))
}

func BenchmarkLoginKeytab(b *testing.B) {
	realm, cfg := testRealm(b)
	path, err := realm.Keytab("host/svc.krbtest")
	require.NoError(b, err)
	kt, err := krb.LoadKeytab(path)
	require.NoError(b, err)
	benchLogin(b, "host/svc.krbtest", krb.WithConfig(cfg), krb.WithKeytab(kt))
}

// BenchmarkLoginFAST is the password login armored with a host's TGT
// (encrypted challenge inside FAST), beside BenchmarkLoginPassword.
func BenchmarkLoginFAST(b *testing.B) {
	_, cfg := testRealm(b)
	benchLogin(b, "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithArmor(hostArmor(b)))
}

// BenchmarkLoginGokrb5 is gokrb5's client.Login for the same principal and
// KDC, for comparison. Its round trips are counted from the KDC's log (one
// AS_REQ line per request), since gokrb5 does its own I/O.
func BenchmarkLoginGokrb5(b *testing.B) {
	realm, _ := testRealm(b)
	gcfg, err := gokrb5config.Load(realm.ConfigPath)
	require.NoError(b, err)
	before := strings.Count(realm.Logs(), "AS_REQ")
	n := 0
	for b.Loop() {
		cl := gokrb5client.NewWithPassword("alice", realm.Name, alicePW, gcfg, gokrb5client.DisablePAFXFAST(true))
		require.NoError(b, cl.Login())
		cl.Destroy()
		n++
	}
	b.ReportMetric(float64(strings.Count(realm.Logs(), "AS_REQ")-before)/float64(n), "round-trips/op")
}
