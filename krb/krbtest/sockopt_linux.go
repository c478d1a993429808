//go:build linux && !(mips || mipsle || mips64 || mips64le || sparc64)

package krbtest

// soReusePort is SO_REUSEPORT, which package syscall lacks on most Linux
// architectures.
const soReusePort = 0xf
