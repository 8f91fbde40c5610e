//go:build linux

package testconsul

import "syscall"

// sysProcAttr makes the kernel kill the agent if the test binary dies
// without running its cleanups (for example on a -timeout panic), so no
// consul process outlives the test run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
