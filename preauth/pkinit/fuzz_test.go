package pkinit

import (
	"crypto/x509"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParsePKASRep feeds the PA-PK-AS-REP decoder arbitrary bytes: it must
// never panic, and what it accepts has signed data.
func FuzzParsePKASRep(f *testing.F) {
	f.Add([]byte{0xa0, 0x02, 0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := parsePKASRep(b)
		if err == nil && len(rep.signedData) == 0 {
			t.Fatal("accepted a reply without signed data")
		}
	})
}

// FuzzVerifyKDCSignedData feeds the KDC SignedData verifier arbitrary
// bytes, with the seeds' CA as anchor at a time when the seed's KDC
// certificate is valid: it must never panic nor accept anything not
// signed by that KDC.
func FuzzVerifyKDCSignedData(f *testing.F) {
	der, err := os.ReadFile("testdata/kdc-ca.der")
	if err != nil {
		f.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		f.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	pol := kdcPolicy{roots: roots, realm: "R.TEST", now: ca.NotBefore.Add(90 * time.Minute)}
	f.Fuzz(func(t *testing.T, b []byte) {
		content, err := verifyKDCSignedData(b, pol)
		if err == nil && content == nil {
			t.Fatal("verified without content")
		}
	})
}

// TestMutatedReplies runs byte-level mutations of the seed corpora through
// both parsers, as a quick deterministic complement to the fuzz targets.
func TestMutatedReplies(t *testing.T) {
	der, err := os.ReadFile("testdata/kdc-ca.der")
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	pol := kdcPolicy{roots: roots, realm: "R.TEST", now: ca.NotBefore.Add(90 * time.Minute)}
	seeds := map[string][][]byte{}
	for _, target := range []string{"FuzzParsePKASRep", "FuzzVerifyKDCSignedData"} {
		entries, _ := os.ReadDir(filepath.Join("testdata", "fuzz", target))
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join("testdata", "fuzz", target, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitN(string(b), "\n", 3)
			s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
			if err != nil {
				t.Fatal(err)
			}
			seeds[target] = append(seeds[target], []byte(s))
		}
	}
	var good [][]byte
	for _, b := range seeds["FuzzVerifyKDCSignedData"] {
		if c, err := verifyKDCSignedData(b, pol); err == nil {
			good = append(good, c)
		}
	}
	if len(good) == 0 {
		t.Fatal("no seed verifies")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		for target, list := range seeds {
			b := append([]byte(nil), list[rng.IntN(len(list))]...)
			for n := rng.IntN(4) + 1; n > 0 && len(b) > 0; n-- {
				switch rng.IntN(3) {
				case 0:
					b[rng.IntN(len(b))] ^= byte(1 << rng.IntN(8))
				case 1:
					b = b[:rng.IntN(len(b))]
				case 2:
					b[rng.IntN(len(b))] = byte(rng.IntN(256))
				}
			}
			if target == "FuzzParsePKASRep" {
				parsePKASRep(b)
			} else if content, err := verifyKDCSignedData(b, pol); err == nil && !bytesEqualAny(content, good) {
				// Unsigned fields (the version, the digest algorithm set)
				// may change; the signed content may not.
				t.Fatalf("a mutated SignedData verified with other content: %x", b)
			}
		}
	}
}

func bytesEqualAny(b []byte, list [][]byte) bool {
	for _, l := range list {
		if string(l) == string(b) {
			return true
		}
	}
	return false
}
