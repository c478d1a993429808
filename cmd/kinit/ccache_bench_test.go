package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/require"
	sys "golang.org/x/sys/unix"
)

// BenchmarkKinitCacheTypesVsMIT runs this kinit (static build) and MIT's
// kinit as processes, interleaved, logging the same principal into a
// collection of each type, and reports the median wall time of each (ms):
// what the cache type adds to a login.
//
//	go test ./cmd/kinit/ -run '^$' -bench KinitCacheTypesVsMIT -benchtime 20x
func BenchmarkKinitCacheTypesVsMIT(b *testing.B) {
	realm := krbtest.NewRealm(b)
	require.NoError(b, realm.AddPrincipal("bench", "bench-pw", krbtest.RequiresPreauth()))
	bin := filepath.Join(b.TempDir(), "kinit")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(b, err, "%s", out)
	mit, err := exec.LookPath("kinit")
	require.NoError(b, err)

	type ccCase struct{ name, cc, lib string }
	cases := []ccCase{
		{"FILE", "FILE:" + filepath.Join(b.TempDir(), "cc"), ""},
		{"DIR", "DIR:" + filepath.Join(b.TempDir(), "dir"), ""},
	}
	if _, err := sys.KeyctlGetKeyringID(sys.KEY_SPEC_SESSION_KEYRING, false); err == nil {
		coll := fmt.Sprintf("gokinit_bench_%d", os.Getpid())
		b.Cleanup(func() { unlinkKeyringCollection(coll) })
		cases = append(cases, ccCase{"KEYRING", "KEYRING:session:" + coll, ""})
	}
	if ok, _ := krbtest.KCMAvailable(); ok {
		cases = append(cases, ccCase{"KCM-sssd", "KCM:", krbtest.NewKCM(b).Libdefaults()})
	}
	if ok, _ := krbtest.HeimdalKCMAvailable(); ok {
		cases = append(cases, ccCase{"KCM-heimdal", "KCM:", krbtest.NewHeimdalKCM(b).Libdefaults()})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			conf, err := realm.WriteClientConfig(c.lib, "")
			require.NoError(b, err)
			env := append(realm.Env(), "KRB5_CONFIG="+conf, "KRB5CCNAME="+c.cc)
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
			var ours, theirs []time.Duration
			for b.Loop() {
				ours = append(ours, run(bin))
				theirs = append(theirs, run(mit))
			}
			median := func(d []time.Duration) float64 {
				slices.Sort(d)
				return float64(d[len(d)/2].Microseconds()) / 1000
			}
			b.ReportMetric(median(ours), "gokinit-median-ms")
			b.ReportMetric(median(theirs), "mit-median-ms")
		})
	}
}
