package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/require"
)

// BenchmarkKinitVsMIT runs this kinit and MIT's kinit as processes,
// interleaved, for the same principal against the same KDC, and reports
// the median wall time of each (ms). Our kinit is built twice: static
// (CGO_ENABLED=0, the release build: no dynamic loader, pure-Go resolver)
// and with cgo (go build's default where a C compiler is installed).
//
//	go test ./cmd/kinit/ -run '^$' -bench KinitVsMIT -benchtime 50x
func BenchmarkKinitVsMIT(b *testing.B) {
	realm := krbtest.NewRealm(b)
	require.NoError(b, realm.AddPrincipal("bench", "bench-pw", krbtest.RequiresPreauth()))
	build := func(name string, env ...string) string {
		bin := filepath.Join(b.TempDir(), name)
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(b, err, "%s", out)
		return bin
	}
	static, withCgo := build("kinit-static", "CGO_ENABLED=0"), build("kinit-cgo")
	mit, err := exec.LookPath("kinit")
	require.NoError(b, err)
	env := append(realm.Env(), "KRB5CCNAME=FILE:"+filepath.Join(b.TempDir(), "cc"))

	run := func(path string) time.Duration {
		cmd := exec.Command(path, "bench")
		cmd.Env = env
		cmd.Stdin = strings.NewReader("bench-pw\n")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		require.NoError(b, err, "%s: %s", path, out)
		return d
	}
	var ours, cgo, theirs []time.Duration
	for b.Loop() {
		ours = append(ours, run(static))
		theirs = append(theirs, run(mit))
		cgo = append(cgo, run(withCgo))
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	b.ReportMetric(median(ours), "gokinit-median-ms")
	b.ReportMetric(median(cgo), "gokinit-cgo-median-ms")
	b.ReportMetric(median(theirs), "mit-median-ms")
}
