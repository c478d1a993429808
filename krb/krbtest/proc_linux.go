package krbtest

import "syscall"

// sysProcAttr makes the kernel kill krb5kdc when the thread that started it
// exits, so a test binary that dies without cleanup leaves no KDC behind.
// startKDC runs the process from a goroutine locked to its thread for the
// process's whole life.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
