package ccache

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	linux "golang.org/x/sys/unix"
)

// writeUnnamed writes b, fsynced, into an unnamed file in dir (O_TMPFILE,
// Linux 3.11) and gives it the name path: by linking it there when no cache
// exists, else by linking it to a fresh temporary name and renaming that
// over path. It returns errUnnamedUnsupported when the kernel or the file
// system cannot (old kernels, some network file systems) or when /proc is
// not mounted (the link goes through /proc/self/fd, since linkat's
// AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH).
func writeUnnamed(dir, base, path string, b []byte) error {
	fd, err := linux.Open(dir, linux.O_TMPFILE|linux.O_RDWR|linux.O_CLOEXEC, 0o600)
	if err != nil {
		return errUnnamedUnsupported
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, "(unnamed)"))
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	proc := "/proc/self/fd/" + strconv.Itoa(fd)
	err = linux.Linkat(linux.AT_FDCWD, proc, linux.AT_FDCWD, path, linux.AT_SYMLINK_FOLLOW)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EEXIST):
	case errors.Is(err, syscall.ENOENT) && !exists(proc):
		return errUnnamedUnsupported
	default:
		return &os.LinkError{Op: "link", Old: proc, New: path, Err: err}
	}
	for range 8 {
		var r [6]byte
		if _, err := rand.Read(r[:]); err != nil {
			return err
		}
		tmp := filepath.Join(dir, tempPrefix(base)+hex.EncodeToString(r[:]))
		err = linux.Linkat(linux.AT_FDCWD, proc, linux.AT_FDCWD, tmp, linux.AT_SYMLINK_FOLLOW)
		if errors.Is(err, syscall.EEXIST) {
			continue
		}
		if err != nil {
			return &os.LinkError{Op: "link", Old: proc, New: tmp, Err: err}
		}
		if err := os.Rename(tmp, path); err != nil {
			os.Remove(tmp)
			return err
		}
		return nil
	}
	return &os.LinkError{Op: "link", Old: proc, New: dir, Err: syscall.EEXIST}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ownedByUs reports whether this process's user owns the file.
func ownedByUs(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
