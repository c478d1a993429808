package ccache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ReadFile reads and parses the FILE credential cache at path (a file path,
// not a cache name; see ResolvePath). Errors from Parse keep their
// ErrFormat / ErrVersion identity and gain the path.
func ReadFile(path string) (*Cache, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ccache: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return c, nil
}

// WriteFile writes c to path as a version 4 FILE credential cache, replacing
// any existing file atomically, with mode 0600 (as MIT creates caches, since
// the file holds session keys). Readers never see a partial cache, and after
// a crash path holds either the old cache or the whole new one.
//
// Where the platform allows (Linux, O_TMPFILE), the cache is written and
// fsynced into an unnamed file in path's directory, which gets a name only
// once complete: linked straight to path when there is no cache yet, else
// linked to a temporary name and at once renamed over path. A process killed
// while writing leaves nothing behind; only a kill in the microseconds
// between link and rename can leave a named temporary file. Elsewhere the
// cache goes to a named temporary file (O_EXCL), fsynced and renamed over
// path. Either way, temporary files of this naming (".NAME.tmp-*" beside
// the cache, regular files of this user) that a killed writer left are
// removed by the next write once they are staleTempAge old.
//
// The directory is not fsynced: losing the rename in a crash only brings
// the old cache back, and the extra sync would slow every kinit (MIT syncs
// nothing). Unlike MIT, which rewrites the file in place, path gets a new
// inode: a symlink at path is replaced rather than followed, and the file
// gets this process's owner. Concurrent writers do not corrupt the file, but
// the last one wins.
func WriteFile(path string, c *Cache) error {
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	removeStaleTemps(dir, base)
	if err := writeUnnamedFn(dir, base, path, b); !errors.Is(err, errUnnamedUnsupported) {
		if err != nil {
			return fmt.Errorf("ccache: writing %s: %w", path, err)
		}
		return nil
	}
	// os.CreateTemp opens with O_RDWR|O_CREATE|O_EXCL and mode 0600.
	f, err := os.CreateTemp(dir, tempPrefix(base)+"*")
	if err != nil {
		return fmt.Errorf("ccache: writing %s: %w", path, err)
	}
	tmp := f.Name()
	err = writeSync(f, b)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("ccache: writing %s: %w", path, err)
	}
	return nil
}

// writeUnnamedFn is writeUnnamed; tests replace it to exercise the named
// fallback.
var writeUnnamedFn = writeUnnamed

// errUnnamedUnsupported says the platform or file system cannot create an
// unnamed file; WriteFile then uses a named temporary file.
var errUnnamedUnsupported = errors.New("unnamed temporary files unsupported")

// tempPrefix is the start of the temporary files' names for cache base.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// staleTempAge is how old a temporary file must be before a write removes
// it: a concurrent writer's file lives for microseconds (unnamed) or the
// time of one write and fsync (named), far less.
var staleTempAge = 10 * time.Second

// removeStaleTemps removes the temporary files a killed writer of cache
// base left in dir: names tempPrefix(base) followed by what CreateTemp or
// writeUnnamed append, regular files (not symlinks) owned by this user, at
// least staleTempAge old. Errors are ignored: the write itself decides.
func removeStaleTemps(dir, base string) {
	matches, err := filepath.Glob(filepath.Join(dir, globEscape(tempPrefix(base))+"*"))
	if err != nil {
		return
	}
	for _, m := range matches {
		if !strings.HasPrefix(filepath.Base(m), tempPrefix(base)) {
			continue
		}
		fi, err := os.Lstat(m)
		if err != nil || !fi.Mode().IsRegular() || !ownedByUs(fi) || time.Since(fi.ModTime()) < staleTempAge {
			continue
		}
		os.Remove(m)
	}
}

// globEscape escapes filepath.Match's metacharacters.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writeSync writes b to f, flushes it to stable storage and closes f.
func writeSync(f *os.File, b []byte) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
