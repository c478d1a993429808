package krb

import (
	"context"
	"time"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/types"
)

// callbacks is the engine side of preauth.Callbacks: a narrow view of the
// login, so mechanisms never touch its state directly.
type callbacks struct {
	l  *Login
	rs *responder.ResponseSet
}

var _ preauth.Callbacks = callbacks{}

func (l *Login) callbacks(rs *responder.ResponseSet) callbacks { return callbacks{l: l, rs: rs} }

func (c callbacks) Client() (types.PrincipalName, string) {
	return c.l.client.Name, c.l.client.Realm
}

func (c callbacks) Enctype() int32 {
	if c.l.replyEtype != 0 {
		return c.l.replyEtype
	}
	return c.l.etype
}

// NeedASKey asks the "password" question in the round's set (not in the
// mechanism's own set, where it would be refused) unless the password or
// keytab is already known (MIT's need_as_key).
func (c callbacks) NeedASKey(*responder.ResponseSet) {
	if !c.l.haveSecret() && c.rs != nil {
		c.rs.Ask(responder.QuestionPassword, "")
	}
}

func (c callbacks) ASKey(ctx context.Context) (types.EncryptionKey, error) {
	return c.l.asKeyFor(ctx)
}

// SetASKey replaces the reply key. Whether the password was used stays as
// it is: SPAKE's key comes from it, and a failure then means a wrong
// password, as MIT reports it.
func (c callbacks) SetASKey(key types.EncryptionKey) {
	c.l.asKey, c.l.keyByMod = &key, true
}

// ArmorKey is the FAST armor key, nil when the exchange is not armored.
func (c callbacks) ArmorKey() *types.EncryptionKey {
	if c.l.fast == nil {
		return nil
	}
	k := c.l.fast.armorKey
	return &k
}

// PreauthOption returns the values given with WithPreauthOption (kinit -X).
func (c callbacks) PreauthOption(name string) []string { return c.l.o.paOptions[name] }

// Config returns a krb5.conf relation from the client realm's section, else
// from [libdefaults].
func (c callbacks) Config(name string) []string {
	if v := c.l.cfg.Values("realms", c.l.client.Realm, name); len(v) > 0 {
		return v
	}
	return c.l.cfg.Values("libdefaults", name)
}

// PreauthTime is the local clock, corrected by the KDC's offset when
// kdc_timesync is on (MIT's default) and the offset came from an armored
// error or the mechanism accepts an unauthenticated one (MIT's
// k5_init_creds_current_time).
func (c callbacks) PreauthTime(allowUnauth bool) time.Time {
	now := c.l.o.now()
	if c.l.haveOffset && (allowUnauth || c.l.offsetAuth) && c.l.cfg.LibDefaults.KDCTimeSync != 0 {
		now = now.Add(c.l.offset)
	}
	return now
}

// Answer refuses the engine's own questions ("password", "new_password"),
// as MIT's responder_get_answer refuses the password question.
func (c callbacks) Answer(question string) (string, bool) {
	if preauth.ReservedQuestion(question) {
		c.l.trace("Refused a mechanism's read of the %q answer", question)
		return "", false
	}
	return c.rs.Answer(question)
}

// Prompter is the login's prompter, guarded so that a mechanism can ask
// only its own prompts, never the password.
func (c callbacks) Prompter() prompter.Prompter {
	return preauth.GuardPrompter(c.l.o.prompter, prompter.PasswordPrompt(c.l.client.String()).Text)
}

// GetCCConfig reads a value stored by an earlier login (the input cache's
// pa_config_data).
func (c callbacks) GetCCConfig(key string) (string, bool) {
	v, ok := c.l.ccConfigIn[key]
	return v, ok
}

// SetCCConfig stores a value for the cache this login's credentials go to.
func (c callbacks) SetCCConfig(key, value string) {
	if c.l.ccConfigOut == nil {
		c.l.ccConfigOut = make(map[string]string)
	}
	c.l.ccConfigOut[key] = value
}

func (c callbacks) DisableFallback() { c.l.noFall = true }

// Trace writes a line to the login's trace (KRB5_TRACE). Mechanisms reach
// it through preauth.Tracer, so callbacks of other engines need not have it.
func (c callbacks) Trace(format string, args ...any) { c.l.trace(format, args...) }
