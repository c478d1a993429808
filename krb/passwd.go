package krb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gokinit/gokinit/prompter"
	"github.com/jcmturner/gokrb5/v8/messages"
)

// changepwService is the service a password change is authenticated to
// (RFC 3244 §2).
const changepwService = "kadmin/changepw"

// Result codes of a kpasswd reply (RFC 3244 §2).
const (
	kpasswdSuccess   = 0
	kpasswdSoftError = 4 // the new password does not meet the policy
)

// ErrPasswordChange means changing an expired password failed: the
// kpasswd server refused the new password, or could not be reached.
var ErrPasswordChange = errors.New("password change failed")

// mayChangePassword says whether an expired password may be changed on the
// spot, as MIT's krb5_get_init_creds_password does: the login uses a
// password, a person can be asked for the new one, and the login is not
// itself for the password-changing service.
func (l *Login) mayChangePassword() bool {
	return l.o.prompter != nil && l.o.keytab == nil && !l.o.deferred && l.o.service != changepwService
}

// changeExpiredPassword handles KDC_ERR_KEY_EXPIRED as MIT's kinit does:
// it gets a ticket for kadmin/changepw with the old password, asks for the
// new one twice ("Password expired.  You must change it now."), changes it
// through kpasswd (RFC 3244), and logs in again with the new password.
func (l *Login) changeExpiredPassword(ctx context.Context) (*Credentials, error) {
	l.trace("Principal expired; getting changepw ticket")
	o := l.o
	o.service = changepwService
	o.lifetime = 5 * time.Minute
	o.renewLife = 0
	no := false
	o.forwardable, o.proxiable = &no, &no
	cp, err := newLogin(l.clientName, o)
	if err != nil {
		return nil, err
	}
	cp.password = l.password
	creds, err := cp.Run(ctx)
	if err != nil {
		return nil, err
	}

	banner := "Password expired.  You must change it now."
	for tries := 3; ; tries-- {
		replies, err := prompter.Fallback(ctx, l.o.prompter, "new password", banner, []prompter.Prompt{
			{Text: "Enter new password", Hidden: true, Type: prompter.TypeNewPassword},
			{Text: "Enter it again", Hidden: true, Type: prompter.TypeNewPasswordAgain},
		})
		if err != nil {
			return nil, err
		}
		var soft string
		switch {
		case replies[0] != replies[1]:
			soft = "Password mismatch"
		case replies[0] == "":
			soft = "Cannot set password to empty"
		default:
			code, result, err := l.kpasswd(ctx, creds, replies[0])
			if err != nil {
				return nil, err
			}
			switch code {
			case kpasswdSuccess:
				l.trace("Getting initial TGT with changed password")
				o := l.o
				pw := replies[0]
				o.password = &pw
				again, err := newLogin(l.clientName, o)
				if err != nil {
					return nil, err
				}
				return again.Run(ctx)
			case kpasswdSoftError:
				soft = "Password change rejected: " + result
			default:
				return nil, fmt.Errorf("%w: %s", ErrPasswordChange, kpasswdMessage(code, result))
			}
		}
		if tries <= 1 {
			return nil, fmt.Errorf("%w: %s", ErrPasswordChange, soft)
		}
		banner = soft + ".  Please try again."
	}
}

// kpasswd sends a change-password request (RFC 3244) authenticated by the
// kadmin/changepw ticket to the realm's kpasswd servers, located as MIT's
// locate_kpasswd (transport.Client.KpasswdServers): kpasswd_server (an
// https:// one is an MS-KKDCP proxy), DNS, else admin_server on port 464.
func (l *Login) kpasswd(ctx context.Context, creds *Credentials, newPassword string) (int, string, error) {
	var tkt messages.Ticket
	if err := tkt.Unmarshal(creds.Ticket); err != nil {
		return 0, "", err
	}
	// The change form (version 1), never the set form: AD and Samba refuse
	// a set-password naming the user as an administrator's reset.
	req, subkey, err := kpasswdChangeRequest(creds.Client.Name, creds.Client.Realm, newPassword, tkt, creds.SessionKey)
	if err != nil {
		return 0, "", err
	}
	reply, err := newTransport(l.cfg, l.transportTrace()).ExchangeKpasswd(ctx, creds.Client.Realm, req)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %w", ErrPasswordChange, err)
	}
	res, err := parseKpasswdReply(reply, subkey, creds.Client)
	if err != nil {
		return 0, "", err
	}
	return res.Code, chpwMessage(res.Result), nil
}

// kpasswdMessage is MIT's text for a kpasswd result (krb5_chpw_message).
func kpasswdMessage(code int, result string) string {
	msg := kpasswdCodeString(code)
	if result != "" {
		msg += ": " + result
	}
	return msg
}
