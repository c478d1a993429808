// Package prompter asks a person for what a login still needs: the
// Prompter interface, a terminal prompter, and the fallback that asks
// whatever an application's responder left unanswered.
//
// A Prompter is MIT krb5's krb5_prompter_fct: it receives a name, a banner
// and a list of prompts, some hidden, and returns one reply per prompt.
package prompter

import (
	"context"
	"fmt"

	"github.com/gokinit/gokinit/responder"
)

// Type says what a prompt asks for, so a graphical prompter can choose a
// widget or remember a value (krb5_prompt_type).
type Type int

// Prompt types, as MIT defines KRB5_PROMPT_TYPE_*.
const (
	TypeUnknown          Type = 0
	TypePassword         Type = 1 // the principal's password
	TypeNewPassword      Type = 2 // a new password, on expiry
	TypeNewPasswordAgain Type = 3 // the new password once more
	TypePreauth          Type = 4 // something a preauth mechanism needs (OTP value, PIN)
)

// Prompt is one question put to a person.
type Prompt struct {
	Text   string // without a trailing ": "; the prompter adds it
	Hidden bool   // do not echo the reply
	Type   Type
}

// Prompter asks the prompts and returns one reply per prompt, in order. It
// returns an error when the person cannot answer (no terminal, cancelled).
//
// As in MIT's krb5_prompter_fct, name is a title for the whole exchange
// (MIT's kinit passes none; empty when there is none) and banner is text
// to show before the prompts, such as an OTP token's challenge or MIT's
// "Password expired.  You must change it now." (empty when there is none).
// Neither is a prompt: neither expects a reply.
type Prompter interface {
	Prompt(ctx context.Context, name, banner string, prompts []Prompt) ([]string, error)
}

// Func adapts an ordinary function to the Prompter interface.
type Func func(ctx context.Context, name, banner string, prompts []Prompt) ([]string, error)

// Prompt calls f.
func (f Func) Prompt(ctx context.Context, name, banner string, prompts []Prompt) ([]string, error) {
	return f(ctx, name, banner, prompts)
}

// Fallback asks prompts through p on behalf of question, which the
// responder left unanswered. With no prompter it returns an error wrapping
// responder.ErrNoAnswer that names the question.
func Fallback(ctx context.Context, p Prompter, question, banner string, prompts []Prompt) ([]string, error) {
	if p == nil {
		return nil, responder.NoAnswer(question)
	}
	replies, err := p.Prompt(ctx, "", banner, prompts)
	if err != nil {
		return nil, err
	}
	if len(replies) != len(prompts) {
		return nil, fmt.Errorf("prompter: %d replies to %d prompts", len(replies), len(prompts))
	}
	return replies, nil
}

// PasswordPrompt is the prompt MIT's kinit shows for a principal's password:
// "Password for bob@EXAMPLE.TEST".
func PasswordPrompt(principal string) Prompt {
	return Prompt{Text: "Password for " + principal, Hidden: true, Type: TypePassword}
}
