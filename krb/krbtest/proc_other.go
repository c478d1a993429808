//go:build !linux

package krbtest

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
