//go:build linux

package testsmtp

import "syscall"

// sysProcAttr makes the kernel kill mailpit if the test binary dies without
// running its cleanups (for example on a -timeout panic), so no mailpit
// process outlives the test run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
