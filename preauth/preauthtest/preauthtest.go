// Package preauthtest is a test double for preauth.Callbacks, for the unit
// tests of preauthentication mechanisms (the built-in ones use it too): the
// engine's callbacks with fixed values and no KDC.
//
// It keeps the engine's rules, so that a mechanism that passes its tests
// here behaves the same inside a login: Answer never returns the answer to
// one of the engine's own questions ("password", "new_password"), Prepare
// refuses them in a mechanism's response set with preauth.ErrReserved, and
// Prompter refuses password prompts (preauth.GuardPrompter).
//
//	cb := &preauthtest.Callbacks{Key: key, Now: time.Now()}
//	req := mymech.Mechanism.NewRequest()
//	rs, err := cb.Prepare(ctx, req, &preauth.Input{PAData: challenge})
//	cb.Answers = map[string]string{"my-question": "42"}
//	out, err := req.Process(ctx, cb, &preauth.Input{PAData: challenge})
package preauthtest

import (
	"context"
	"fmt"
	"time"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Callbacks answers a mechanism's calls from its fields and records what
// the mechanism did. The zero value is usable; set the fields a test needs.
type Callbacks struct {
	Name   types.PrincipalName
	Realm  string
	Key    types.EncryptionKey  // the AS key ASKey returns
	KeyErr error                // when set, ASKey fails with it
	Armor  *types.EncryptionKey // nil: not armored
	Now    time.Time            // the local clock; zero means time.Now()
	Offset time.Duration        // the KDC's clock minus ours, as learnt from a KRB-ERROR
	// OffsetAuthenticated says the offset came from an armored error, so
	// PreauthTime(false) applies it too.
	OffsetAuthenticated bool
	Answers             map[string]string   // the responder's answers
	Settings            map[string][]string // krb5.conf relations
	Options             map[string][]string // preauth options (kinit -X)
	Prompt              prompter.Prompter   // the login's prompter; nil for none
	CCConfigIn          map[string]string   // what GetCCConfig reads

	// What the mechanism did.
	NeededKey       bool                 // NeedASKey was called
	KeyCalls        int                  // ASKey calls
	SetKey          *types.EncryptionKey // the key given to SetASKey
	FallbackStopped bool                 // DisableFallback was called
	CCConfigOut     map[string]string    // what SetCCConfig stored
	Refused         []string             // reserved questions or answers it tried to reach
}

var _ preauth.Callbacks = (*Callbacks)(nil)

// Client returns Name and Realm.
func (c *Callbacks) Client() (types.PrincipalName, string) { return c.Name, c.Realm }

// Enctype returns Key's enctype.
func (c *Callbacks) Enctype() int32 { return c.Key.KeyType }

// NeedASKey records the call.
func (c *Callbacks) NeedASKey(*responder.ResponseSet) { c.NeededKey = true }

// ASKey returns Key, or KeyErr.
func (c *Callbacks) ASKey(context.Context) (types.EncryptionKey, error) {
	c.KeyCalls++
	if c.KeyErr != nil {
		return types.EncryptionKey{}, c.KeyErr
	}
	return c.Key, nil
}

// SetASKey records the key.
func (c *Callbacks) SetASKey(k types.EncryptionKey) { c.SetKey = &k }

// ArmorKey returns Armor.
func (c *Callbacks) ArmorKey() *types.EncryptionKey { return c.Armor }

// PreauthTime returns Now, plus Offset when allowUnauth or
// OffsetAuthenticated.
func (c *Callbacks) PreauthTime(allowUnauth bool) time.Time {
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	if allowUnauth || c.OffsetAuthenticated {
		now = now.Add(c.Offset)
	}
	return now
}

// Answer returns Answers[q], never for a reserved question.
func (c *Callbacks) Answer(q string) (string, bool) {
	if preauth.ReservedQuestion(q) {
		c.Refused = append(c.Refused, q)
		return "", false
	}
	a, ok := c.Answers[q]
	return a, ok
}

// Prompter returns Prompt, guarded as the engine guards it.
func (c *Callbacks) Prompter() prompter.Prompter {
	return preauth.GuardPrompter(c.Prompt, prompter.PasswordPrompt(c.principal()).Text)
}

func (c *Callbacks) principal() string {
	s := ""
	for i, n := range c.Name.NameString {
		if i > 0 {
			s += "/"
		}
		s += n
	}
	return s + "@" + c.Realm
}

// PreauthOption returns Options[name].
func (c *Callbacks) PreauthOption(name string) []string { return c.Options[name] }

// Config returns Settings[name].
func (c *Callbacks) Config(name string) []string { return c.Settings[name] }

// DisableFallback records the call.
func (c *Callbacks) DisableFallback() { c.FallbackStopped = true }

// GetCCConfig returns CCConfigIn[key].
func (c *Callbacks) GetCCConfig(key string) (string, bool) {
	v, ok := c.CCConfigIn[key]
	return v, ok
}

// SetCCConfig records the value in CCConfigOut.
func (c *Callbacks) SetCCConfig(key, value string) {
	if c.CCConfigOut == nil {
		c.CCConfigOut = make(map[string]string)
	}
	c.CCConfigOut[key] = value
}

// Prepare runs req.FillResponseSet as the engine does: into a set of the
// mechanism's own, whose questions it returns. A reserved question asked
// there is left out and reported as preauth.ErrReserved.
func (c *Callbacks) Prepare(ctx context.Context, req preauth.Request, in *preauth.Input) (*responder.ResponseSet, error) {
	own := &responder.ResponseSet{}
	err := req.FillResponseSet(ctx, c, in, own)
	out := &responder.ResponseSet{}
	for _, q := range own.Questions() {
		if preauth.ReservedQuestion(q) {
			c.Refused = append(c.Refused, q)
			if err == nil {
				err = fmt.Errorf("%w (asked %q)", preauth.ErrReserved, q)
			}
			continue
		}
		ch, _ := own.Challenge(q)
		out.Ask(q, ch)
	}
	return out, err
}
