package krb

import (
	"context"
	"fmt"

	"github.com/gokinit/gokinit/responder"
)

// GetInitialCreds logs client in and returns its credentials (MIT's
// krb5_get_init_creds_password and _keytab in one). It drives a Login over
// the KDCs that krb5.conf names, or over WithTransport's transport.
//
// Errors are typed: errors.Is(err, ErrPreauthFailed) for a wrong password,
// ErrClientUnknown for an unknown principal, ErrKDCUnreachable when no KDC
// answered (try again later), ErrNoAnswer when a question went unanswered;
// errors.As(err, new(*KDCError)) gives the KDC's error code and e-text.
func GetInitialCreds(ctx context.Context, client string, opts ...Option) (*Credentials, error) {
	l, err := NewLogin(client, opts...)
	if err != nil {
		return nil, err
	}
	return l.Run(ctx)
}

// Run drives the login to its end over the login's transport. With
// WithDeferredQuestions use Continue instead.
func (l *Login) Run(ctx context.Context) (*Credentials, error) {
	q, err := l.Continue(ctx)
	if err != nil {
		return nil, err
	}
	if q != nil {
		l.Abort()
		return nil, fmt.Errorf("%w: questions %v are waiting; use Continue", ErrNoAnswer, q.Questions())
	}
	return l.Credentials(), nil
}

// Continue drives the login over its transport until it completes, fails,
// or (with WithDeferredQuestions) reaches a round with questions, which it
// returns. Set the answers on the returned set and call Continue again, from
// any goroutine; nothing runs in between. It returns (nil, nil) when the
// credentials are ready.
func (l *Login) Continue(ctx context.Context) (*responder.ResponseSet, error) {
	if l.transport == nil {
		l.transport = newTransport(l.cfg, l.transportTrace())
	}
	var reply []byte
	for {
		req, err := l.Step(ctx, reply)
		if err != nil {
			return nil, withContext(err, whileGettingInitialCreds)
		}
		if req == nil {
			return l.Questions(), nil
		}
		if req.Service == ServiceKpasswd {
			reply, err = l.exchangeKpasswd(ctx, req)
		} else {
			reply, err = l.transport.Exchange(ctx, req.Realm, req.Data, req.TCPOnly)
		}
		if err != nil {
			l.err = err // the login is over; a later Continue reports why
			l.closeRequests()
			return nil, withContext(err, whileGettingInitialCreds)
		}
	}
}

// KpasswdTransport is a Transport that can also reach a realm's kpasswd
// server (RFC 3244). A login's transport (WithTransport) that implements it
// carries the password change of an expired password too, as
// *transport.Client does; one that does not leaves that exchange to
// krb5.conf's kpasswd servers.
type KpasswdTransport interface {
	ExchangeKpasswd(ctx context.Context, realm string, req []byte) ([]byte, error)
}

func (l *Login) exchangeKpasswd(ctx context.Context, req *KDCRequest) ([]byte, error) {
	if kt, ok := l.transport.(KpasswdTransport); ok {
		return kt.ExchangeKpasswd(ctx, req.Realm, req.Data)
	}
	l.trace("The login's transport cannot reach kpasswd servers; using krb5.conf's")
	return newTransport(l.cfg, l.transportTrace()).ExchangeKpasswd(ctx, req.Realm, req.Data)
}
