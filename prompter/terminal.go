package prompter

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"
)

// ErrNoInput means the prompter's input ended before a reply was read.
var ErrNoInput = errors.New("prompter: no more input")

// Terminal prompts on a terminal: hidden replies are read without echo when
// In is a terminal, and as plain lines otherwise (so a password can be piped
// in, as with MIT's kinit).
type Terminal struct {
	In  *os.File  // where replies come from; os.Stdin when nil
	Out io.Writer // where prompts go; os.Stdout when nil, as MIT's krb5_prompter_posix

	once   sync.Once
	reader *bufio.Reader // buffered, kept across prompts so piped lines are not lost
}

// NewTerminal returns a prompter on standard input and standard output.
func NewTerminal() *Terminal { return &Terminal{} }

// Prompt prints the name and banner when set, then each prompt followed by
// ": ", and reads one line per prompt.
func (t *Terminal) Prompt(ctx context.Context, name, banner string, prompts []Prompt) ([]string, error) {
	in, out := t.In, t.Out
	if in == nil {
		in = os.Stdin
	}
	if out == nil {
		out = os.Stdout
	}
	t.once.Do(func() { t.reader = bufio.NewReader(in) })
	if name != "" {
		fmt.Fprintln(out, name)
	}
	if banner != "" {
		fmt.Fprintln(out, banner)
	}
	replies := make([]string, 0, len(prompts))
	for _, p := range prompts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "%s: ", p.Text)
		var (
			line string
			err  error
		)
		if p.Hidden && term.IsTerminal(int(in.Fd())) {
			var b []byte
			b, err = term.ReadPassword(int(in.Fd()))
			line = string(b)
		} else {
			line, err = t.readLine()
		}
		if p.Hidden {
			// The typed newline was not echoed; MIT's prompter ends the
			// line itself, terminal or not.
			fmt.Fprintln(out)
		}
		if err != nil {
			return nil, err
		}
		replies = append(replies, line)
	}
	return replies, nil
}

func (t *Terminal) readLine() (string, error) {
	line, err := t.reader.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", ErrNoInput
		}
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
