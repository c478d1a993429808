//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package lineread

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// ReadLine reads one line from f without its newline.
// A last line without a newline is returned as a line; end of input before
// any byte is ErrNoInput; a cancelled ctx (or SIGINT with CatchInterrupt)
// is *Interrupted. On a terminal the settings are restored before it
// returns, whatever the outcome.
func ReadLine(ctx context.Context, f *os.File, o Options) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &Interrupted{Cause: context.Cause(ctx)}
	}
	fd := int(f.Fd())
	if old, err := unix.IoctlGetTermios(fd, ioctlReadTermios); err == nil {
		t := *old
		if o.Hidden {
			t.Lflag &^= unix.ECHO | unix.ECHONL
		}
		t.Lflag |= unix.ISIG | unix.ICANON // as MIT's setup_tty
		if err := unix.IoctlSetTermios(fd, ioctlWriteTermios, &t); err == nil {
			defer func() { _ = unix.IoctlSetTermios(fd, ioctlWriteTermios, old) }()
		}
	}

	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		return "", &noInput{cause: err}
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	unix.CloseOnExec(p[0])
	unix.CloseOnExec(p[1])
	wake := func() { _, _ = unix.Write(p[1], []byte{0}) }
	stop := context.AfterFunc(ctx, wake)
	defer stop()
	var gotInt chan os.Signal
	if o.CatchInterrupt {
		gotInt = make(chan os.Signal, 1)
		signal.Notify(gotInt, os.Interrupt)
		defer signal.Stop(gotInt)
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-gotInt:
				wake()
			case <-done:
			}
		}()
	}

	line := make([]byte, 0, 64)
	var b [1]byte
	for {
		fds := []unix.PollFd{{Fd: int32(p[0]), Events: unix.POLLIN}, {Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			clear(line)
			return "", &noInput{cause: err}
		}
		if fds[0].Revents != 0 {
			clear(line)
			var cause error = errors.New("interrupt")
			if ctx.Err() != nil {
				cause = context.Cause(ctx)
			}
			return "", &Interrupted{Cause: cause}
		}
		if fds[1].Revents == 0 {
			continue
		}
		n, err := unix.Read(fd, b[:])
		switch {
		case errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN):
			continue
		case err != nil || n == 0:
			if len(line) > 0 && err == nil {
				return finish(line), nil // a last line without a newline
			}
			clear(line)
			if err == nil {
				err = io.EOF
			}
			return "", &noInput{cause: err}
		case b[0] == '\n':
			return finish(line), nil
		case len(line) >= o.max():
			// too long: the rest of the line is read and dropped
		default:
			line = append(line, b[0])
		}
	}
}

// finish returns the line and wipes the buffer. As MIT's fgets, only the
// newline ends the line: a carriage return before it is part of the reply.
func finish(line []byte) string {
	s := string(line)
	clear(line)
	return s
}
