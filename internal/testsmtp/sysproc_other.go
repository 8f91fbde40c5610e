//go:build !linux

package testsmtp

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
