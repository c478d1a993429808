package krbtest

import (
	"os"
	"sync"
	"syscall"
)

// sharedClosers are the Close functions of shared Heimdal and Samba realms,
// run by CloseShared.
var sharedClosers struct {
	mu sync.Mutex
	fs []func() error
}

func registerSharedCloser(f func() error) {
	sharedClosers.mu.Lock()
	defer sharedClosers.mu.Unlock()
	sharedClosers.fs = append(sharedClosers.fs, f)
}

func closeSharedInterop() []error {
	sharedClosers.mu.Lock()
	defer sharedClosers.mu.Unlock()
	var errs []error
	for _, f := range sharedClosers.fs {
		errs = append(errs, f())
	}
	sharedClosers.fs = nil
	return errs
}

// withFileLock runs f holding an exclusive flock on path, so test binaries
// running in parallel build a per-machine template once.
func withFileLock(path string, f func() error) error {
	lf, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	return f()
}
