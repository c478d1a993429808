package preauthtest_test

import (
	"context"
	"testing"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/preauth/preauthtest"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type asker struct{ questions []string }

func (a asker) FillResponseSet(_ context.Context, _ preauth.Callbacks, _ *preauth.Input, rs *responder.ResponseSet) error {
	for _, q := range a.questions {
		rs.Ask(q, "c-"+q)
	}
	return nil
}
func (asker) Process(context.Context, preauth.Callbacks, *preauth.Input) ([]types.PAData, error) {
	return nil, nil
}

// TestDoubleKeepsTheEngineRules: the double refuses what the engine
// refuses, so a mechanism's own tests catch a reach for the password.
func TestDoubleKeepsTheEngineRules(t *testing.T) {
	cb := &preauthtest.Callbacks{Answers: map[string]string{"password": "pw", "mine": "42"}}
	rs, err := cb.Prepare(context.Background(), asker{[]string{"mine", "password"}}, &preauth.Input{})
	require.ErrorIs(t, err, preauth.ErrReserved)
	assert.Equal(t, []string{"mine"}, rs.Questions())
	c, _ := rs.Challenge("mine")
	assert.Equal(t, "c-mine", c)

	_, ok := cb.Answer("password")
	assert.False(t, ok)
	v, ok := cb.Answer("mine")
	assert.True(t, ok)
	assert.Equal(t, "42", v)
	assert.Equal(t, []string{"password", "password"}, cb.Refused)

	cb.Prompt = prompter.Func(func(context.Context, string, string, []prompter.Prompt) ([]string, error) {
		return []string{"answer"}, nil
	})
	_, err = cb.Prompter().Prompt(context.Background(), "", "", []prompter.Prompt{{Text: "PIN", Type: prompter.TypePassword}})
	require.ErrorIs(t, err, preauth.ErrReserved)
	got, err := cb.Prompter().Prompt(context.Background(), "", "", []prompter.Prompt{{Text: "PIN", Type: prompter.TypePreauth}})
	require.NoError(t, err)
	assert.Equal(t, []string{"answer"}, got)
	assert.Nil(t, (&preauthtest.Callbacks{}).Prompter(), "no prompter stays no prompter")

	cb.SetCCConfig("k", "v")
	assert.Equal(t, map[string]string{"k": "v"}, cb.CCConfigOut)
}
