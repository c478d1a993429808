package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

// LoginFunc obtains fresh credentials: KeytabLogin for a service.
type LoginFunc func(ctx context.Context) (*krb.Credentials, error)

// KeytabLogin logs principal in with its keys from kt (kinit -k).
func KeytabLogin(cfg *krb.Config, principal string, kt *keytab.Keytab, opts ...krb.Option) LoginFunc {
	return func(ctx context.Context) (*krb.Credentials, error) {
		all := append([]krb.Option{krb.WithConfig(cfg), krb.WithKeytab(kt)}, opts...)
		return krb.GetInitialCreds(ctx, principal, all...)
	}
}

// Keeper keeps a TGT fresh for a long-running service: it logs in, then
// logs in again when a fraction (Refresh) of the ticket's lifetime has
// passed, well before the ticket expires. When no KDC answers it retries
// with exponential backoff and jitter, and keeps serving the ticket it has
// while that is still valid. An authentication failure (a wrong or stale
// keytab, an unknown or disabled principal) ends Run: retrying would not
// help and could lock the account.
//
// Set the fields before Run; the zero values are replaced by the defaults.
type Keeper struct {
	Login LoginFunc

	// Refresh is the fraction of a ticket's lifetime after which it is
	// replaced (default 0.8).
	Refresh float64
	// MinBackoff and MaxBackoff bound the wait before another attempt when
	// no KDC answered (defaults 1 s and 5 min). The n-th wait in a row is
	// drawn from [MinBackoff·2ⁿ⁻¹/2, MinBackoff·2ⁿ⁻¹), capped at MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// MinInterval is the least wait between two logins (default 1 s), so
	// that very short tickets cannot make Run spin.
	MinInterval time.Duration

	// Now, Sleep and Jitter replace the clock, the wait (it returns early
	// with ctx.Err()) and the random source (a duration in [0, d)), for
	// tests.
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	Jitter func(d time.Duration) time.Duration

	// OnLogin, if set, is called with each new ticket.
	OnLogin func(*krb.Credentials)
	// Logf, if set, receives one line per login and per failure.
	Logf func(format string, args ...any)

	mu    sync.Mutex
	creds *krb.Credentials
	ready chan struct{} // closed at the first credentials
	done  chan struct{} // closed when Run returns
	err   error         // why Run returned
	once  sync.Once
}

func (k *Keeper) init() {
	k.once.Do(func() {
		k.ready = make(chan struct{})
		k.done = make(chan struct{})
		if k.Refresh <= 0 || k.Refresh >= 1 {
			k.Refresh = 0.8
		}
		if k.MinBackoff <= 0 {
			k.MinBackoff = time.Second
		}
		if k.MaxBackoff < k.MinBackoff {
			k.MaxBackoff = max(5*time.Minute, k.MinBackoff)
		}
		if k.MinInterval <= 0 {
			k.MinInterval = time.Second
		}
		if k.Now == nil {
			k.Now = time.Now
		}
		if k.Sleep == nil {
			k.Sleep = sleep
		}
		if k.Jitter == nil {
			k.Jitter = func(d time.Duration) time.Duration {
				if d <= 0 {
					return 0
				}
				return rand.N(d)
			}
		}
		if k.Logf == nil {
			k.Logf = func(string, ...any) {}
		}
	})
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run keeps the credentials fresh until ctx ends (it then returns
// ctx.Err()) or a login fails for a reason other than an unreachable KDC
// (it returns that error). Call it once.
func (k *Keeper) Run(ctx context.Context) (err error) {
	k.init()
	defer func() {
		k.mu.Lock()
		k.err = err
		k.mu.Unlock()
		close(k.done)
	}()
	failures := 0
	for {
		creds, err := k.Login(ctx)
		if err == nil {
			failures = 0
			k.set(creds)
			if err := k.Sleep(ctx, k.refreshIn(creds)); err != nil {
				return err
			}
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !retriable(err) {
			k.Logf("login failed, giving up: %v", err)
			return err
		}
		d := k.backoff(failures)
		failures++
		k.Logf("login failed (attempt %d): %v; retrying in %v", failures, err, d.Round(time.Millisecond))
		if err := k.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// retriable reports whether a failed login may succeed later: no KDC
// answered, or the attempt timed out. Anything else (ErrPreauthFailed,
// ErrClientUnknown, ErrClientRevoked, ErrNoKey...) is final.
func retriable(err error) bool {
	return errors.Is(err, krb.ErrKDCUnreachable) || errors.Is(err, context.DeadlineExceeded)
}

func (k *Keeper) set(c *krb.Credentials) {
	k.mu.Lock()
	k.creds = c
	k.mu.Unlock()
	select {
	case <-k.ready:
	default:
		close(k.ready)
	}
	k.Logf("logged in as %s until %s", c.Client, c.EndTime.Local().Format(time.DateTime))
	if k.OnLogin != nil {
		k.OnLogin(c)
	}
}

// refreshIn is the wait until the next login: until Refresh of the ticket's
// lifetime has passed, and at least MinInterval.
func (k *Keeper) refreshIn(c *krb.Credentials) time.Duration {
	life := c.EndTime.Sub(c.StartTime)
	at := c.StartTime.Add(time.Duration(float64(life) * k.Refresh))
	return max(at.Sub(k.Now()), k.MinInterval)
}

// backoff is the wait after the n-th failure in a row (from 0): "equal
// jitter", half fixed and half random, so that waits always grow while
// services that lost their KDC together do not retry in step.
func (k *Keeper) backoff(n int) time.Duration {
	d := k.MinBackoff
	for i := 0; i < n && d < k.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, k.MaxBackoff)
	return d/2 + k.Jitter(d-d/2)
}

// Credentials returns the current credentials, or nil before the first
// login and once they have expired (the KDC stayed unreachable).
func (k *Keeper) Credentials() *krb.Credentials {
	k.init()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.creds == nil || !k.Now().Before(k.creds.EndTime) {
		return nil
	}
	return k.creds
}

// Wait returns the first credentials, or why Run ended before it got any.
func (k *Keeper) Wait(ctx context.Context) (*krb.Credentials, error) {
	k.init()
	select {
	case <-k.ready:
		if c := k.Credentials(); c != nil {
			return c, nil
		}
		return nil, errors.New("the credentials have expired")
	case <-k.done:
		k.mu.Lock()
		defer k.mu.Unlock()
		return nil, fmt.Errorf("keeper stopped: %w", k.err)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
