package ccache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
// any existing file atomically: the data goes to a new temporary file in the
// same directory (created with O_EXCL and mode 0600, as MIT creates caches,
// since the file holds session keys), which is fsynced and renamed over path.
// On any failure before the rename the old file is untouched and the
// temporary file is removed; readers never see a partial cache, and after a
// crash path holds either the old cache or the whole new one. The directory
// is not fsynced: losing the rename in a crash only brings the old cache
// back, and the extra sync would slow every kinit (MIT syncs nothing).
//
// Unlike MIT, which rewrites the file in place, the rename gives path a new
// inode: a symlink at path is replaced rather than followed, and the file
// gets this process's owner. Concurrent writers do not corrupt the file, but
// the last rename wins.
func WriteFile(path string, c *Cache) error {
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// os.CreateTemp opens with O_RDWR|O_CREATE|O_EXCL and mode 0600.
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
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

// writeSync writes b to f, flushes it to stable storage and closes f.
func writeSync(f *os.File, b []byte) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
