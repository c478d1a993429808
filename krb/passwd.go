//lint:file-ignore ST1005 the password-change errors are MIT's messages, verbatim

package krb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gokinit/gokinit/internal/safetext"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// changepwService is the service a password change is authenticated to
// (RFC 3244 §2).
const changepwService = "kadmin/changepw"

// Result codes of a kpasswd reply (RFC 3244 §2).
const (
	kpasswdSuccess   = 0
	kpasswdSoftError = 4 // the new password does not meet the policy
)

// changepwTries is how many new passwords a person may try, as MIT's
// krb5_get_init_creds_password (a mismatch or a policy rejection uses one).
const changepwTries = 3

// MIT's banners and prompts (krb5_get_init_creds_password).
const (
	bannerExpired = "Password expired.  You must change it now."
	promptNew     = "Enter new password"
	promptAgain   = "Enter it again"
)

// ErrPasswordChange means changing an expired password failed: the
// kpasswd server refused the new password (see *PasswordChangeError), could
// not be reached, or the person gave no acceptable new password.
var ErrPasswordChange = errors.New("Password change failed")

// ErrPasswordMismatch: the new password was typed differently twice, on
// the last try (MIT's KRB5_LIBOS_BADPWDMATCH).
var ErrPasswordMismatch = errors.New("Password mismatch")

// ErrPasswordEmpty: the new password was empty, on the last try (MIT's
// KRB5_CHPW_PWDNULL).
var ErrPasswordEmpty = errors.New("New password cannot be zero length")

// PasswordChangeError is the kpasswd server's refusal of a new password:
// its result code (RFC 3244 §2; 4, KRB5_KPASSWD_SOFTERROR, is a policy
// rejection), MIT's text for the code and the server's text (decoded as
// MIT's krb5_chpw_message: Active Directory's policy block becomes
// sentences). It matches ErrPasswordChange with errors.Is.
type PasswordChangeError struct {
	Code       int
	CodeString string // "Password change rejected", "Access denied", ...
	Text       string // the server's explanation, such as "Password is too short."
}

func (e *PasswordChangeError) Error() string { return kpasswdMessage(e.Code, e.Text) }

// Is matches ErrPasswordChange.
func (e *PasswordChangeError) Is(target error) bool { return target == ErrPasswordChange }

// pwChange is a login's expired-password change in progress, inside the
// step machine (MIT's krb5_get_init_creds_password after KDC_ERR_KEY_EXP).
type pwChange struct {
	expired *KDCError // the KDC's KEY_EXPIRED, reported if nobody answers
	sub     *Login    // the kadmin/changepw login, until it has its ticket
	creds   *Credentials
	tries   int // attempts left, this one included
	banner  string
	last    *PasswordChangeError // the previous attempt's refusal
	rs      *responder.ResponseSet
	paused  bool // waiting for the new_password answer
	waiting bool // a kpasswd request is out
	newPW   string
	subkey  types.EncryptionKey
}

// mayChangePassword says whether an expired password may be changed on the
// spot, as MIT's krb5_get_init_creds_password does: the login uses a
// password, someone can be asked for the new one (a prompter, a responder,
// or the caller with WithDeferredQuestions), changing is not turned off
// (WithChangePasswordPrompt), and the login is not itself for the
// password-changing service.
func (l *Login) mayChangePassword() bool {
	return l.o.keytab == nil && l.o.service != changepwService && !l.o.noChangePW &&
		(l.o.prompter != nil || l.o.responder != nil || l.o.deferred)
}

// startPasswordChange begins the change after KDC_ERR_KEY_EXPIRED: a
// login for a kadmin/changepw ticket with the old password (lifetime five
// minutes, neither forwardable nor proxiable, not renewable: MIT's
// make_chpw_options), whose requests and questions are this login's.
func (l *Login) startPasswordChange(ctx context.Context, kerr *KDCError) (*KDCRequest, error) {
	l.trace("Principal expired; getting changepw ticket")
	l.closeRequests()
	o := l.o
	o.service = changepwService
	o.lifetime = 5 * time.Minute
	o.renewLife = 0
	o.startIn = 0
	o.expireCB = nil // the callback is for the login's own credentials
	no := false
	o.forwardable, o.proxiable = &no, &no
	sub, err := newLogin(l.clientName, o)
	if err != nil {
		return nil, err
	}
	sub.password = l.password
	sub.keyCache = l.keyCache // same key, same salt: derived once
	l.chpw = &pwChange{expired: kerr, sub: sub, tries: changepwTries, banner: bannerExpired}
	return l.stepPasswordChange(ctx, nil)
}

// stepPasswordChange is Step while a password change runs.
func (l *Login) stepPasswordChange(ctx context.Context, reply []byte) (*KDCRequest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := l.chpw
	switch {
	case c.sub != nil:
		out, err := c.sub.Step(ctx, reply)
		if err != nil {
			return nil, err
		}
		if out != nil || c.sub.Questions() != nil {
			return out, nil
		}
		c.creds = c.sub.Credentials()
		l.stats.Requests += c.sub.stats.Requests
		l.stats.StringToKey += c.sub.stats.StringToKey
		c.sub = nil
		return l.askNewPassword(ctx)
	case c.waiting:
		if reply == nil {
			return nil, errors.New("krb: the login waits for the kpasswd server's reply")
		}
		c.waiting = false
		return l.kpasswdReply(ctx, reply)
	case c.paused:
		if reply != nil {
			return nil, errors.New("krb: the login waits for answers (Questions), not for a reply")
		}
		c.paused = false
		return l.answerNewPassword(ctx)
	}
	return nil, errors.New("krb: password change in an unexpected state")
}

// askNewPassword asks the new_password question (MIT asks its prompter
// only; the question lets a responder, kinit --responder=json or a web
// form answer, and the prompter remains the fallback).
func (l *Login) askNewPassword(ctx context.Context) (*KDCRequest, error) {
	c := l.chpw
	l.trace("Attempting password change; %d tries remaining", c.tries)
	ch := responder.NewPasswordChallenge{Banner: c.banner, TriesLeft: c.tries}
	if c.last != nil {
		ch.ResultCode, ch.ResultText = c.last.Code, c.last.Text
	}
	rs := &responder.ResponseSet{}
	rs.Ask(responder.QuestionNewPassword, ch.Encode())
	c.rs = rs
	if l.o.deferred {
		l.trace("Waiting for answers to %v", rs.Questions())
		c.paused = true
		return nil, nil
	}
	if l.o.responder != nil {
		l.trace("Asking the responder: %v", rs.Questions())
		if err := l.o.responder.Respond(ctx, rs); err != nil {
			return nil, err
		}
	}
	return l.answerNewPassword(ctx)
}

// answerNewPassword takes the answer, else asks MIT's two prompts, and
// sends the change to the kpasswd server.
func (l *Login) answerNewPassword(ctx context.Context) (*KDCRequest, error) {
	c := l.chpw
	pw, ok := c.rs.Answer(responder.QuestionNewPassword)
	if !ok {
		if l.o.prompter == nil {
			// Nobody can choose a new password: the KDC's error stands.
			return nil, &kdcErrorWith{kerr: c.expired, err: responder.NoAnswer(responder.QuestionNewPassword)}
		}
		replies, err := prompter.Fallback(ctx, l.o.prompter, responder.QuestionNewPassword, c.banner, []prompter.Prompt{
			{Text: promptNew, Hidden: true, Type: prompter.TypeNewPassword},
			{Text: promptAgain, Hidden: true, Type: prompter.TypeNewPasswordAgain},
		})
		if err != nil {
			return nil, err
		}
		if replies[0] != replies[1] {
			return l.retryNewPassword(ctx, ErrPasswordMismatch)
		}
		pw = replies[0]
	}
	if pw == "" {
		return l.retryNewPassword(ctx, ErrPasswordEmpty)
	}
	var tkt messages.Ticket
	if err := tkt.Unmarshal(c.creds.Ticket); err != nil {
		return nil, fmt.Errorf("%w: kadmin/changepw ticket: %v", ErrBadReply, err)
	}
	// The change form (version 1), never the set form: AD and Samba refuse
	// a set-password naming the user as an administrator's reset.
	req, subkey, err := kpasswdChangeRequest(c.creds.Client.Name, c.creds.Client.Realm, pw, tkt, c.creds.SessionKey)
	if err != nil {
		return nil, err
	}
	c.newPW, c.subkey, c.waiting = pw, subkey, true
	l.stats.Kpasswd++
	l.trace("Sending password change request to the kpasswd server of %s", c.creds.Client.Realm)
	return &KDCRequest{Data: req, Realm: c.creds.Client.Realm, Service: ServiceKpasswd}, nil
}

// retryNewPassword uses up one try and asks again with MIT's banner
// ("Password mismatch.  Please try again."), or fails after the last.
func (l *Login) retryNewPassword(ctx context.Context, why error) (*KDCRequest, error) {
	c := l.chpw
	c.tries--
	if c.tries <= 0 {
		return nil, why
	}
	c.banner = why.Error() + ".  Please try again."
	c.last = nil
	return l.askNewPassword(ctx)
}

// kpasswdReply acts on the server's answer: on success the login starts
// again with the new password; a policy rejection (soft error) asks again
// with the server's reason, as MIT's kinit; anything else ends the login.
func (l *Login) kpasswdReply(ctx context.Context, reply []byte) (*KDCRequest, error) {
	c := l.chpw
	res, err := parseKpasswdReply(reply, c.subkey, c.creds.Client)
	if err != nil {
		return nil, err
	}
	text := ""
	if len(res.Result) > 0 {
		// The server's text reaches the terminal: control characters are
		// escaped (internal/safetext), but its line breaks stay, as MIT's
		// kadmind puts one in its policy messages.
		lines := strings.Split(chpwMessage(res.Result), "\n")
		for i := range lines {
			lines[i] = safetext.String(lines[i])
		}
		text = strings.Join(lines, "\n")
	}
	l.trace("kpasswd result: %d (%s)", res.Code, kpasswdCodeString(res.Code))
	switch res.Code {
	case kpasswdSuccess:
		l.trace("Getting initial TGT with changed password")
		pw := c.newPW
		l.chpw = nil
		l.o.password, l.password = &pw, nil
		l.keyCache = make(map[string]types.EncryptionKey) // keys of the old password
		l.restarts = 0
		return l.startExchange()
	case kpasswdSoftError:
		rej := &PasswordChangeError{Code: res.Code, CodeString: kpasswdCodeString(res.Code), Text: text}
		c.tries--
		if c.tries <= 0 {
			return nil, rej
		}
		// MIT: "%.*s%s%s.  Please try again.\n"
		c.banner = rej.CodeString
		if text != "" {
			c.banner += ": " + text
		}
		c.banner += ".  Please try again.\n"
		c.last = rej
		return l.askNewPassword(ctx)
	}
	return nil, &PasswordChangeError{Code: res.Code, CodeString: kpasswdCodeString(res.Code), Text: text}
}

// kdcErrorWith is a KDC error with the reason the engine could not act on
// it: the message is the KDC's, as MIT reports it, and errors.Is and As
// find both.
type kdcErrorWith struct {
	kerr *KDCError
	err  error
}

func (e *kdcErrorWith) Error() string   { return e.kerr.Error() }
func (e *kdcErrorWith) Unwrap() []error { return []error{e.kerr, e.err} }

// kpasswdMessage is MIT's text for a kpasswd result (krb5_chpw_message).
func kpasswdMessage(code int, result string) string {
	msg := kpasswdCodeString(code)
	if result != "" {
		msg += ": " + result
	}
	return msg
}
