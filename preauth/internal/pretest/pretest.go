// Package pretest is a fake preauth.Callbacks for mechanisms' unit tests:
// the engine's callbacks with fixed values, no KDC.
package pretest

import (
	"context"
	"time"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Callbacks answers a mechanism's calls from its fields and records what
// the mechanism set.
type Callbacks struct {
	Name     types.PrincipalName
	Realm    string
	Key      types.EncryptionKey  // the AS key
	Armor    *types.EncryptionKey // nil: not armored
	Now      time.Time
	Answers  map[string]string
	Settings map[string][]string // krb5.conf relations
	Options  map[string][]string // preauth options
	Prompt   prompter.Prompter

	NeededKey       bool
	SetKey          *types.EncryptionKey
	FallbackStopped bool
}

var _ preauth.Callbacks = (*Callbacks)(nil)

func (c *Callbacks) Client() (types.PrincipalName, string) { return c.Name, c.Realm }
func (c *Callbacks) Enctype() int32                        { return c.Key.KeyType }
func (c *Callbacks) NeedASKey(rs *responder.ResponseSet)   { c.NeededKey = true }
func (c *Callbacks) ASKey(context.Context) (types.EncryptionKey, error) {
	return c.Key, nil
}
func (c *Callbacks) SetASKey(k types.EncryptionKey)     { c.SetKey = &k }
func (c *Callbacks) ArmorKey() *types.EncryptionKey     { return c.Armor }
func (c *Callbacks) PreauthTime() time.Time             { return c.Now }
func (c *Callbacks) Answer(q string) (string, bool)     { a, ok := c.Answers[q]; return a, ok }
func (c *Callbacks) Prompter() prompter.Prompter        { return c.Prompt }
func (c *Callbacks) PreauthOption(name string) []string { return c.Options[name] }
func (c *Callbacks) Config(name string) []string        { return c.Settings[name] }
func (c *Callbacks) DisableFallback()                   { c.FallbackStopped = true }
