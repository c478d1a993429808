package krbtest

import (
	"fmt"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// process is a server a realm runs (krb5kdc, FreeRADIUS).
type process struct {
	name    string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
}

// startProcess starts cmd from one goroutine locked to its OS thread and
// waits for it there: on Linux the server gets SIGKILL when that thread
// ends (Pdeathsig, see sysProcAttr), which must be when the test binary
// dies, not earlier.
func startProcess(name string, cmd *exec.Cmd) (*process, error) {
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("krbtest: starting %s: %w", name, err)
	}
	return p, nil
}

func (p *process) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// stop sends SIGTERM, waits up to grace, then kills the process. It reports
// a process that had already exited.
func (p *process) stop(grace time.Duration) error {
	select {
	case <-p.done:
		return fmt.Errorf("krbtest: %s exited before Close: %v", p.name, p.waitErr)
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.kill()
		return nil
	}
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
	return nil
}
