//go:build linux

package testbin

import "syscall"

// SysProcAttr makes the kernel kill the child if the test binary dies
// without running its cleanups (for example on a -timeout panic), so no
// child process outlives the test run.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
