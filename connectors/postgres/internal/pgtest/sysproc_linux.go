package pgtest

import "syscall"

// sysProcAttr runs a server process as cred and has the kernel stop it with
// SIGQUIT (immediate shutdown) when the test binary dies, so no cluster
// outlives a killed test run.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}
