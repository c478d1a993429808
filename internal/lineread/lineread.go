//lint:file-ignore ST1005 MIT's prompter messages, verbatim

// Package lineread reads one reply line from a terminal or a pipe the way
// MIT krb5's krb5_prompter_posix does, and stops at once when the read is
// interrupted.
//
// MIT reads through an unbuffered stdio stream, so nothing past the line
// is consumed (a program reading the same standard input next gets the
// rest); on a terminal it turns echo off for hidden replies and restores
// the terminal's settings whatever happens; end of input before a line is
// KRB5_LIBOS_CANTREADPWD ("Cannot read password"); SIGINT during the read
// is KRB5_LIBOS_PWDINTR ("Password read interrupted"). Go's os.File cannot
// abandon a blocking read on a terminal, so this package waits with poll(2)
// on the descriptor and on a wake-up pipe that a cancelled context or a
// SIGINT writes to: the read returns within microseconds of either.
package lineread

import (
	"errors"
)

// ErrNoInput is end of input (Ctrl-D at a terminal, a closed pipe) before a
// reply was read: MIT's KRB5_LIBOS_CANTREADPWD. Nothing was answered.
//
//lint:ignore ST1005 MIT's message, verbatim
var ErrNoInput = errors.New("Cannot read password")

// ErrInterrupted is an interrupted read (Ctrl-C, a cancelled context):
// MIT's KRB5_LIBOS_PWDINTR.
//
//lint:ignore ST1005 MIT's message, verbatim
var ErrInterrupted = errors.New("Password read interrupted")

// Interrupted is the error of an interrupted read. It matches
// ErrInterrupted and unwraps to the context's cause, if the context was
// cancelled, so that errors.Is(err, context.Canceled) also holds.
type Interrupted struct{ Cause error }

func (e *Interrupted) Error() string        { return ErrInterrupted.Error() }
func (e *Interrupted) Unwrap() error        { return e.Cause }
func (e *Interrupted) Is(target error) bool { return target == ErrInterrupted }

// noInput wraps the reason input ended (io.EOF or a read error) so that the
// message stays MIT's.
type noInput struct{ cause error }

func (e *noInput) Error() string        { return ErrNoInput.Error() }
func (e *noInput) Unwrap() error        { return e.cause }
func (e *noInput) Is(target error) bool { return target == ErrNoInput }

// Options say how to read.
type Options struct {
	// Hidden turns echo off while reading from a terminal.
	Hidden bool
	// CatchInterrupt makes SIGINT during the read interrupt it (as MIT's
	// prompter installs a SIGINT handler for the read) instead of doing
	// what the process otherwise does with SIGINT.
	CatchInterrupt bool
	// Max is the longest line kept (0: 64 KiB); the rest of a longer line
	// is read and dropped, as MIT's prompter flushes it.
	Max int
}

func (o Options) max() int {
	if o.Max <= 0 {
		return 64 << 10
	}
	return o.Max
}
