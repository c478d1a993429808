//go:build linux

package ccache

import (
	"os"
	"syscall"
	"testing"
)

// nobody is the unprivileged user the read-only test runs as when the tests
// run as root, who may write into any directory.
const nobody = 65534

func TestWriteFileReadOnlyDir(t *testing.T) {
	// A directory under /tmp rather than t.TempDir, whose parent is 0700 and
	// so not reachable by nobody.
	dir, err := os.MkdirTemp("", "ccache-ro-")
	noErr(t, err)
	t.Cleanup(func() {
		os.Chmod(dir, 0o700)
		os.RemoveAll(dir)
	})
	path, old := oldCache(t, dir)
	noErr(t, os.Chmod(dir, 0o555))

	if os.Geteuid() == 0 {
		// Seteuid applies to every thread of the process; this package's
		// tests do not run in parallel, so nothing else sees it.
		noErr(t, syscall.Seteuid(nobody))
		err = WriteFile(path, sampleCache(t))
		if rerr := syscall.Seteuid(0); rerr != nil {
			panic("cannot return to root: " + rerr.Error())
		}
	} else {
		err = WriteFile(path, sampleCache(t))
	}
	isErr(t, err, os.ErrPermission)
	unchanged(t, path, old)
}
