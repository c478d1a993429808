//go:build darwin || freebsd || netbsd || openbsd

package krbtest

import "syscall"

const soReusePort = syscall.SO_REUSEPORT
