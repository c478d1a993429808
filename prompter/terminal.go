package prompter

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/gokinit/gokinit/internal/lineread"
)

// ErrNoInput means the prompter's input ended (Ctrl-D at a terminal, end of
// a piped standard input) before a reply was read: there is no answer, and
// nothing is sent to the KDC. Its text is MIT's for KRB5_LIBOS_CANTREADPWD,
// "Cannot read password".
var ErrNoInput = lineread.ErrNoInput

// ErrInterrupted means the read was interrupted: Ctrl-C (SIGINT) at the
// prompt, or the context was cancelled. Its text is MIT's for
// KRB5_LIBOS_PWDINTR, "Password read interrupted"; when the context was
// cancelled the error also matches context.Canceled (or the cause).
var ErrInterrupted = lineread.ErrInterrupted

// Terminal prompts on a terminal as MIT's krb5_prompter_posix does: hidden
// replies are read without echo when In is a terminal (echo is restored
// whatever happens), and as plain lines otherwise (so a password can be
// piped in). Input is read unbuffered, one line per prompt, so nothing
// after the reply is consumed. Ctrl-C during a read, or a cancelled
// context, returns ErrInterrupted at once; end of input returns
// ErrNoInput.
type Terminal struct {
	In  *os.File  // where replies come from; os.Stdin when nil
	Out io.Writer // where prompts go; os.Stdout when nil, as MIT's krb5_prompter_posix

	mu sync.Mutex // one prompt at a time
}

// NewTerminal returns a prompter on standard input and standard output.
func NewTerminal() *Terminal { return &Terminal{} }

// Prompt prints the name and banner when set, then each prompt followed by
// ": ", and reads one line per prompt.
func (t *Terminal) Prompt(ctx context.Context, name, banner string, prompts []Prompt) ([]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	in, out := t.In, t.Out
	if in == nil {
		in = os.Stdin
	}
	if out == nil {
		out = os.Stdout
	}
	if name != "" {
		fmt.Fprintln(out, name)
	}
	if banner != "" {
		fmt.Fprintln(out, banner)
	}
	replies := make([]string, 0, len(prompts))
	for _, p := range prompts {
		fmt.Fprintf(out, "%s: ", p.Text)
		line, err := lineread.ReadLine(ctx, in, lineread.Options{Hidden: p.Hidden, CatchInterrupt: true})
		if p.Hidden {
			// The typed newline was not echoed; MIT's prompter ends the
			// line itself, terminal or not, answered or not.
			fmt.Fprintln(out)
		}
		if err != nil {
			return nil, err
		}
		replies = append(replies, line)
	}
	return replies, nil
}
