package ccache

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// dirNames lists the names in dir, to check for stray temporary files.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	noErr(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// oldCache puts a file with known contents at dir/cc and returns its path
// and bytes.
func oldCache(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	old, err := sampleCache(t).Marshal()
	noErr(t, err)
	path := filepath.Join(dir, "cc")
	noErr(t, os.WriteFile(path, old, 0o644))
	return path, old
}

func unchanged(t *testing.T, path string, old []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	noErr(t, err)
	check(t, bytes.Equal(b, old), path, " changed")
	eq(t, dirNames(t, filepath.Dir(path)), []string{filepath.Base(path)}, "directory contents")
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path, _ := oldCache(t, dir)
	c := sampleCache(t)
	c.Credentials = c.Credentials[:1]
	noErr(t, WriteFile(path, c))

	fi, err := os.Stat(path)
	noErr(t, err)
	eq(t, fi.Mode(), os.FileMode(0o600), "mode of the replaced file")
	want, err := c.Marshal()
	noErr(t, err)
	unchanged(t, path, want)
	got, err := ReadFile(path)
	noErr(t, err)
	eq(t, got, c)
}

func TestWriteFileRelative(t *testing.T) {
	t.Chdir(t.TempDir())
	noErr(t, WriteFile("cc", sampleCache(t)))
	_, err := ReadFile("cc")
	noErr(t, err)
	eq(t, dirNames(t, "."), []string{"cc"})
}

func TestWriteFileMarshalError(t *testing.T) {
	path, old := oldCache(t, t.TempDir())
	c := sampleCache(t)
	c.Credentials[0].EndTime = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	check(t, WriteFile(path, c) != nil, "WriteFile accepted an unencodable cache")
	unchanged(t, path, old)
}

func TestWriteFileMissingDir(t *testing.T) {
	dir := t.TempDir()
	err := WriteFile(filepath.Join(dir, "gone", "cc"), sampleCache(t))
	isErr(t, err, os.ErrNotExist)
	eq(t, dirNames(t, dir), []string(nil))
}

// TestWriteFileRenameFails makes the final rename fail by putting a
// non-empty directory where the cache should go.
func TestWriteFileRenameFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cc")
	noErr(t, os.Mkdir(path, 0o700))
	noErr(t, os.WriteFile(filepath.Join(path, "keep"), []byte("x"), 0o600))
	check(t, WriteFile(path, sampleCache(t)) != nil, "rename over a directory succeeded")
	eq(t, dirNames(t, dir), []string{"cc"}, "temporary file left behind")
	eq(t, dirNames(t, path), []string{"keep"})
}
