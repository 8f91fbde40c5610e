//go:build !linux

package testconsul

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
