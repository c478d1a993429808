package krb

import (
	"context"
	"fmt"

	"github.com/gokinit/gokinit/krb/transport"
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

// Run drives the login to its end over the login's transport.
func (l *Login) Run(ctx context.Context) (*Credentials, error) {
	tr := l.o.transport
	if tr == nil {
		t := transport.New(l.cfg.Config)
		t.Trace = l.o.trace
		tr = t
	}
	var reply []byte
	for {
		req, err := l.Step(ctx, reply)
		if err != nil {
			return nil, fmt.Errorf("%w while getting initial credentials", err)
		}
		if req == nil {
			return l.Credentials(), nil
		}
		reply, err = tr.Exchange(ctx, req.Realm, req.Data, req.TCPOnly)
		if err != nil {
			l.Abort()
			return nil, fmt.Errorf("%w while getting initial credentials", err)
		}
	}
}
