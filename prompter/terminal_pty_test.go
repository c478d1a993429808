//go:build linux

package prompter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a pseudo-terminal: the master, where the
// test types, and the terminal the prompter reads.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close(); tty.Close() })
	return master, tty
}

func echoOn(t *testing.T, tty *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	require.NoError(t, err)
	return tio.Lflag&unix.ECHO != 0
}

type promptResult struct {
	replies []string
	err     error
}

func promptAsync(ctx context.Context, term *Terminal, prompts ...Prompt) <-chan promptResult {
	done := make(chan promptResult, 1)
	go func() {
		r, err := term.Prompt(ctx, "", "", prompts)
		done <- promptResult{r, err}
	}()
	return done
}

// waitEchoOff waits until the prompter has turned echo off, that is, it
// is reading.
func waitEchoOff(t *testing.T, tty *os.File) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for echoOn(t, tty) {
		require.True(t, time.Now().Before(deadline), "the prompter never turned echo off")
		time.Sleep(time.Millisecond)
	}
}

// TestTerminalEndOfInputIsNoAnswer: Ctrl-D at the start of the line, as end
// of a piped input, is no answer (MIT's "Cannot read password"), never an
// empty password; echo is restored.
func TestTerminalEndOfInputIsNoAnswer(t *testing.T) {
	master, tty := openPTY(t)
	require.True(t, echoOn(t, tty))
	var out bytes.Buffer
	done := promptAsync(context.Background(), &Terminal{In: tty, Out: &out}, PasswordPrompt("bob@EX.TEST"))
	waitEchoOff(t, tty)
	_, err := master.Write([]byte{4}) // Ctrl-D
	require.NoError(t, err)
	r := <-done
	require.ErrorIs(t, r.err, ErrNoInput)
	assert.EqualError(t, r.err, "Cannot read password")
	assert.Nil(t, r.replies)
	assert.True(t, echoOn(t, tty), "echo restored")
	assert.Equal(t, "Password for bob@EX.TEST: \n", out.String())

	// The same from a pipe: end of input, and an empty pipe.
	for _, in := range []string{"", "first\n"} {
		term := &Terminal{In: pipeWith(t, in), Out: &bytes.Buffer{}}
		if in != "" {
			_, err := term.Prompt(context.Background(), "", "", []Prompt{{Text: "x", Hidden: true}})
			require.NoError(t, err)
		}
		_, err := term.Prompt(context.Background(), "", "", []Prompt{{Text: "x", Hidden: true}})
		assert.ErrorIs(t, err, ErrNoInput, "input %q", in)
	}
}

// TestTerminalTypedPassword: a typed line is the reply, not echoed; the
// terminal's echo comes back afterwards.
func TestTerminalTypedPassword(t *testing.T) {
	master, tty := openPTY(t)
	screen := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(master) // until the terminal is closed (EIO)
		screen <- string(b)
	}()
	var out bytes.Buffer
	done := promptAsync(context.Background(), &Terminal{In: tty, Out: &out},
		PasswordPrompt("bob@EX.TEST"), Prompt{Text: "Name", Type: TypeUnknown})
	waitEchoOff(t, tty)
	_, err := master.Write([]byte("s3cret\n"))
	require.NoError(t, err)
	// The second prompt is not hidden: echo comes back on for it.
	deadline := time.Now().Add(5 * time.Second)
	for !echoOn(t, tty) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	_, err = master.Write([]byte("alice\r")) // Enter: the terminal makes it a newline
	require.NoError(t, err)
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, []string{"s3cret", "alice"}, r.replies)
	assert.True(t, echoOn(t, tty))
	// What the terminal showed: the visible reply, never the hidden one.
	require.NoError(t, tty.Close())
	shown := <-screen
	assert.Contains(t, shown, "alice")
	assert.NotContains(t, shown, "s3cret")
}

// TestTerminalInterruptIsImmediate: a cancelled context (what Ctrl-C does
// in kinit) interrupts a blocked read within 100 ms with MIT's message,
// and the terminal's echo is restored. cmd/kinit tests the real Ctrl-C.
func TestTerminalInterruptIsImmediate(t *testing.T) {
	_, tty := openPTY(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := promptAsync(ctx, &Terminal{In: tty, Out: &bytes.Buffer{}}, PasswordPrompt("bob@EX.TEST"))
	waitEchoOff(t, tty)
	start := time.Now()
	cancel()
	var r promptResult
	select {
	case r = <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the prompt did not return after cancel")
	}
	assert.Less(t, time.Since(start), 100*time.Millisecond)
	require.ErrorIs(t, r.err, ErrInterrupted)
	assert.True(t, errors.Is(r.err, context.Canceled))
	assert.EqualError(t, r.err, "Password read interrupted")
	assert.True(t, echoOn(t, tty), "echo restored")

	// Also on a pipe that never delivers a line.
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	defer pw.Close()
	ctx, cancel = context.WithCancel(context.Background())
	done = promptAsync(ctx, &Terminal{In: pr, Out: &bytes.Buffer{}}, PasswordPrompt("bob@EX.TEST"))
	time.Sleep(20 * time.Millisecond)
	start = time.Now()
	cancel()
	r = <-done
	assert.Less(t, time.Since(start), 100*time.Millisecond)
	assert.ErrorIs(t, r.err, ErrInterrupted)
}

// TestTerminalReadsNoMoreThanTheLine: as MIT's unbuffered read, what
// follows the reply stays in standard input for whoever reads it next.
func TestTerminalReadsNoMoreThanTheLine(t *testing.T) {
	in := pipeWith(t, "pw\nrest of input\n")
	term := &Terminal{In: in, Out: &bytes.Buffer{}}
	replies, err := term.Prompt(context.Background(), "", "", []Prompt{{Text: "x", Hidden: true}})
	require.NoError(t, err)
	assert.Equal(t, []string{"pw"}, replies)
	rest := make([]byte, 100)
	n, _ := in.Read(rest)
	assert.Equal(t, "rest of input\n", string(rest[:n]))
}
