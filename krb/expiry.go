package krb

import (
	"context"
	"fmt"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
)

// Last-req types that carry expiry times (RFC 4120 §5.4.2; MIT's
// KRB5_LRQ_*_PW_EXPTIME and _ACCT_EXPTIME): the positive ones hold for
// all of the realm's KDCs, the negative ones for the one that answered.
const (
	lrAllPWExpTime   = 6
	lrOnePWExpTime   = -6
	lrAllAcctExpTime = 7
	lrOneAcctExpTime = -7
)

// ExpireFunc receives the password and account expiry times of a login's
// reply (zero when the KDC gave none), and whether they came from the
// reply's last-req entries rather than its key-expiration field (MIT's
// krb5_expire_callback_func).
type ExpireFunc func(passwordExpires, accountExpires time.Time, fromLastReq bool)

// WithExpireCallback calls f with the reply's expiry times when the login
// succeeds, instead of warning through the prompter (MIT's
// krb5_get_init_creds_opt_set_expire_callback). Credentials carry the same
// times (PasswordExpires, AccountExpires, ExpiryFromLastReq).
func WithExpireCallback(f ExpireFunc) Option { return func(o *options) { o.expireCB = f } }

// expiryTimes reads the expiry times as MIT's get_expiry_times: last-req
// entries of the password and account expiry types, else the ambiguous
// key-expiration field as the password's.
func expiryTimes(enc *messages.EncKDCRepPart) (pw, acct time.Time, fromLastReq bool) {
	for _, lr := range enc.LastReqs {
		switch lr.LRType {
		case lrAllPWExpTime, lrOnePWExpTime:
			fromLastReq, pw = true, lr.LRValue
		case lrAllAcctExpTime, lrOneAcctExpTime:
			fromLastReq, acct = true, lr.LRValue
		}
	}
	if !fromLastReq {
		pw = enc.KeyExpiration
	}
	return pw, acct, fromLastReq
}

// warnExpiry tells the application that the password expires soon, as
// MIT's warn_pw_expiry: through the expire callback when there is one;
// otherwise as a banner through the prompter, when the time came from
// last-req (the KDC wants a warning) or is less than a week away, and the
// login is not the password change's own.
func (l *Login) warnExpiry(ctx context.Context) {
	c := l.creds
	if l.o.expireCB != nil {
		l.o.expireCB(c.PasswordExpires, c.AccountExpires, c.ExpiryFromLastReq)
		return
	}
	if c.PasswordExpires.IsZero() || l.o.service == changepwService || l.o.prompter == nil {
		return
	}
	banner, ok := ExpiryWarning(c.PasswordExpires, c.ExpiryFromLastReq, l.o.now())
	if !ok {
		return
	}
	l.trace("Warning the user that the password expires at %s", c.PasswordExpires.UTC().Format(time.RFC3339))
	_, _ = l.o.prompter.Prompt(ctx, "", banner, nil)
}

// ExpiryWarning returns MIT's warning for a password expiring at pwExpires
// (warn_pw_expiry), and whether to show it: always when the time came from
// last-req, else only within a week. The date is in MIT's C-locale "%c"
// form in local time ("Tue Dec  1 17:44:53 2026").
//
//	Warning: Your password will expire in less than one hour on ...
//	Warning: Your password will expire in 1 hour on ...
//	Warning: Your password will expire in 5 hours on ...
//	Warning: Your password will expire in 2 days on ...
func ExpiryWarning(pwExpires time.Time, fromLastReq bool, now time.Time) (string, bool) {
	if pwExpires.IsZero() {
		return "", false
	}
	var interval int64 // seconds, never negative (MIT's ts_interval)
	if d := pwExpires.Unix() - now.Unix(); d > 0 {
		interval = d
	}
	if !fromLastReq && (interval == 0 || interval > 7*24*60*60) {
		return "", false
	}
	ts := pwExpires.Local().Format("Mon Jan _2 15:04:05 2006")
	switch {
	case interval < 3600:
		return "Warning: Your password will expire in less than one hour on " + ts, true
	case interval < 86400*2:
		s := "s"
		if interval < 7200 {
			s = ""
		}
		return fmt.Sprintf("Warning: Your password will expire in %d hour%s on %s", interval/3600, s, ts), true
	}
	return fmt.Sprintf("Warning: Your password will expire in %d days on %s", interval/86400, ts), true
}
