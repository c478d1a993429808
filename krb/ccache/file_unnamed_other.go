//go:build !linux

package ccache

import "os"

// writeUnnamed is Linux's O_TMPFILE write; elsewhere WriteFile uses a named
// temporary file.
func writeUnnamed(dir, base, path string, b []byte) error { return errUnnamedUnsupported }

// ownedByUs cannot tell the owner portably: only files whose names this
// package makes are considered, so they are taken as ours.
func ownedByUs(os.FileInfo) bool { return true }
