package prompter

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/gokinit/gokinit/responder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pipeWith returns the read end of a pipe holding input, as a non-terminal
// standard input.
func pipeWith(t *testing.T, input string) *os.File {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	_, err = w.WriteString(input)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	t.Cleanup(func() { r.Close() })
	return r
}

func TestTerminalReadsLinesFromAPipe(t *testing.T) {
	var out bytes.Buffer
	// As MIT's prompter, only the newline ends a reply.
	term := &Terminal{In: pipeWith(t, "s3cret\r\n123456\n"), Out: &out}
	replies, err := term.Prompt(context.Background(), "", "Enter your token", []Prompt{
		PasswordPrompt("bob@EX.TEST"),
		{Text: "Enter OTP Token Value", Hidden: true, Type: TypePreauth},
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"s3cret\r", "123456"}, replies)
	assert.Equal(t, "Enter your token\nPassword for bob@EX.TEST: \nEnter OTP Token Value: \n", out.String())

	_, err = term.Prompt(context.Background(), "", "", []Prompt{{Text: "more"}})
	assert.ErrorIs(t, err, ErrNoInput)
}

func TestTerminalLastLineWithoutNewline(t *testing.T) {
	term := &Terminal{In: pipeWith(t, "pw"), Out: &bytes.Buffer{}}
	replies, err := term.Prompt(context.Background(), "", "", []Prompt{{Text: "x", Hidden: true}})
	require.NoError(t, err)
	assert.Equal(t, []string{"pw"}, replies)
}

func TestFallback(t *testing.T) {
	_, err := Fallback(context.Background(), nil, responder.QuestionOTP, "", []Prompt{{Text: "x"}})
	require.ErrorIs(t, err, responder.ErrNoAnswer)
	assert.Contains(t, err.Error(), `"otp"`)

	short := Func(func(context.Context, string, string, []Prompt) ([]string, error) { return nil, nil })
	_, err = Fallback(context.Background(), short, "password", "", []Prompt{{Text: "x"}})
	assert.ErrorContains(t, err, "0 replies to 1 prompts")

	echo := Func(func(_ context.Context, _, _ string, ps []Prompt) ([]string, error) { return []string{ps[0].Text}, nil })
	got, err := Fallback(context.Background(), echo, "password", "", []Prompt{{Text: "y"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"y"}, got)
}
