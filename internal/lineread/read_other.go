//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package lineread

import (
	"context"
	"errors"
	"io"
	"os"

	"golang.org/x/term"
)

// ReadLine reads one line from f without its line end. On this platform a
// blocking read cannot be abandoned: a cancelled ctx is seen before the
// read and after it.
func ReadLine(ctx context.Context, f *os.File, o Options) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &Interrupted{Cause: context.Cause(ctx)}
	}
	if o.Hidden && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		if ctx.Err() != nil {
			clear(b)
			return "", &Interrupted{Cause: context.Cause(ctx)}
		}
		if err != nil {
			return "", &noInput{cause: err}
		}
		s := string(b)
		clear(b)
		return s, nil
	}
	line := make([]byte, 0, 64)
	var b [1]byte
	for {
		n, err := f.Read(b[:])
		if ctx.Err() != nil {
			clear(line)
			return "", &Interrupted{Cause: context.Cause(ctx)}
		}
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			if len(line) < o.max() {
				line = append(line, b[0])
			}
			continue
		}
		if err != nil {
			if len(line) > 0 && errors.Is(err, io.EOF) {
				break
			}
			clear(line)
			return "", &noInput{cause: err}
		}
	}
	s := string(line)
	clear(line)
	return s, nil
}
