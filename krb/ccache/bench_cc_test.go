package ccache

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkWriteRead writes a kinit-sized cache (a TGT, a service ticket and
// two configuration entries) and reads it back, per cache type. KCM needs
// sssd-kcm and KEYRING a kernel that allows keyctl; each is skipped with a
// reason otherwise.
func BenchmarkWriteRead(b *testing.B) {
	cases := []struct {
		typ  string
		name func(b *testing.B) (string, []Option)
	}{
		{TypeFile, func(b *testing.B) (string, []Option) { return "FILE:" + filepath.Join(b.TempDir(), "cc"), nil }},
		{TypeDir, func(b *testing.B) (string, []Option) { return "DIR:" + filepath.Join(b.TempDir(), "cc"), nil }},
		{TypeMemory, func(b *testing.B) (string, []Option) { return "MEMORY:bench", nil }},
		{TypeKeyring, func(b *testing.B) (string, []Option) {
			keyringUsable(b)
			coll := fmt.Sprintf("gokinit_bench_%d", os.Getpid())
			b.Cleanup(func() { destroyKeyringCollection("session", coll) })
			return "KEYRING:session:" + coll, nil
		}},
		{"KCM-sssd", func(b *testing.B) (string, []Option) {
			return "KCM:", []Option{WithKCMSocket(sssdKCM.get(b).Socket)}
		}},
		{"KCM-heimdal", func(b *testing.B) (string, []Option) {
			return "KCM:", []Option{WithKCMSocket(heimdalKCM.get(b).Socket)}
		}},
	}
	for _, c := range cases {
		b.Run(c.typ, func(b *testing.B) {
			name, opts := c.name(b)
			cc, err := Resolve(name, opts...)
			noErr(b, err)
			content := principalCache(b, "alice")
			b.ReportAllocs()
			for b.Loop() {
				if err := cc.Write(content); err != nil {
					b.Fatal(err)
				}
				if _, err := cc.Read(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
