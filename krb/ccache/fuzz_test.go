package ccache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, fails only with its typed
// errors, and that whatever it accepts survives Marshal: the re-encoded
// cache parses to the same Cache (now version 4) and re-encodes to the same
// bytes. The seed corpus is in testdata/fuzz/FuzzParse (see
// TestWriteFuzzCorpus).
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !(errors.Is(err, ErrFormat) || errors.Is(err, ErrVersion)) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if pe.Offset < 0 || pe.Offset > len(b) {
				t.Fatalf("error offset %d outside input of %d bytes: %v", pe.Offset, len(b), err)
			}
			return
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("cannot re-encode a parsed cache: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("cannot parse our own encoding: %v", err)
		}
		c.Version = 4
		eq(t, again, c)
		out2, err := again.Marshal()
		noErr(t, err)
		eq(t, out2, out, "Marshal is not a fixed point")
	})
}

// fuzzSeeds returns the seed inputs: valid version 3 and 4 caches, MIT's
// own files (including version 1 and 2, which must fail cleanly), and
// truncated and corrupted variants.
func fuzzSeeds(t *testing.T) map[string][]byte {
	sample, err := sampleCache(t).Marshal()
	noErr(t, err)
	noOffset := sampleCache(t)
	noOffset.HasKDCOffset = false
	bare, err := noOffset.Marshal()
	noErr(t, err)
	mit4, mit3 := readFixture(t, "mit-v4.ccache"), readFixture(t, "mit-v3.ccache")
	hostile := append([]byte(nil), bare[:8]...) // name type, then
	hostile = append(hostile, 0x80, 0, 0, 0)    // 2^31 components

	seeds := map[string][]byte{
		"sample-v4":               sample,
		"sample-v4-no-offset":     bare,
		"hand-v3":                 handV3(),
		"mit-v4":                  mit4,
		"mit-v3":                  mit3,
		"mit-v2":                  readFixture(t, "mit-v2.ccache"),
		"mit-v1":                  readFixture(t, "mit-v1.ccache"),
		"truncated-header":        sample[:10],
		"truncated-principal":     sample[:30],
		"truncated-credential":    sample[:len(sample)/2],
		"truncated-last-byte":     mit4[:len(mit4)-1],
		"truncated-v3":            mit3[:len(mit3)-7],
		"hostile-component-count": hostile,
	}
	return seeds
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/FuzzParse when
// CCACHE_WRITE_FUZZ_CORPUS=1; otherwise it checks that the corpus on disk
// matches the seeds.
func TestWriteFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	write := os.Getenv("CCACHE_WRITE_FUZZ_CORPUS") == "1"
	if write {
		noErr(t, os.MkdirAll(dir, 0o755))
	}
	for name, b := range fuzzSeeds(t) {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		path := filepath.Join(dir, "seed-"+name)
		if write {
			noErr(t, os.WriteFile(path, []byte(want), 0o644))
			continue
		}
		got, err := os.ReadFile(path)
		noErr(t, err, "missing seed; run with CCACHE_WRITE_FUZZ_CORPUS=1")
		eq(t, string(got), want, path, " is stale; run with CCACHE_WRITE_FUZZ_CORPUS=1")
	}
}
