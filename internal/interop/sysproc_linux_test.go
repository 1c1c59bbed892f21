package interop

import "syscall"

// sysProcAttr makes the kernel kill a bun process when the test binary dies,
// so a crashed or killed test run leaves nothing behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
