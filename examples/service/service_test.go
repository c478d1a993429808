package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/jcmturner/goidentity/v6"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The service logs in as batch; the web endpoint is HTTP/localhost. gokrb5's
// SPNEGO client names the service "HTTP/" + the URL's host (after a CNAME
// lookup): for http://127.0.0.1:port/ that is HTTP/127.0.0.1, reached
// through a DNS query for the address, while "localhost" comes from
// /etc/hosts. The tests use http://localhost:port/ so that no DNS server is
// involved.
const (
	clientName  = "batch"
	serviceName = "HTTP/localhost"
)

// shared is the package's realm, started once.
var shared struct {
	once             sync.Once
	realm            *krbtest.Realm
	cfg              *krb.Config
	clientKT, httpKT *keytab.Keytab
	clientKTPath     string
	err              error
}

func testRealm(t testing.TB) *krbtest.Realm {
	t.Helper()
	if ok, reason := krbtest.Available(); !ok {
		krbtest.SkipOrFail(t, reason)
	}
	shared.once.Do(func() {
		shared.err = func() error {
			r, err := krbtest.Start()
			if err != nil {
				return err
			}
			shared.realm = r
			if err := errors.Join(
				r.AddRandomKeyPrincipal(clientName, krbtest.RequiresPreauth()),
				r.AddRandomKeyPrincipal(serviceName),
				r.AddPrincipal("carol", "carol-pw"),
			); err != nil {
				return err
			}
			if shared.cfg, err = krb.LoadConfig(r.ConfigPath); err != nil {
				return err
			}
			if shared.clientKTPath, err = r.Keytab(clientName); err != nil {
				return err
			}
			if shared.clientKT, err = krb.LoadKeytab(shared.clientKTPath); err != nil {
				return err
			}
			p, err := r.Keytab(serviceName)
			if err != nil {
				return err
			}
			shared.httpKT, err = krb.LoadKeytab(p)
			return err
		}()
	})
	require.NoError(t, shared.err)
	return shared.realm
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.realm != nil {
		shared.realm.Close()
	}
	os.Exit(code)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return c
}

// protected is an endpoint behind gokrb5's SPNEGO handler, served at
// http://localhost:port/. DecodePAC(false): MIT's KDC puts a PAC in tickets
// (krb5 1.20+) but without the Active Directory logon information that
// gokrb5 requires of a PAC it decodes. Each authenticated request sends its client's name
// on the channel, when there is room.
func protected(t *testing.T) (string, <-chan string) {
	seen := make(chan string, 1)
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := goidentity.FromHTTPRequestContext(r)
		name := id.UserName() + "@" + id.Domain()
		select {
		case seen <- name:
		default:
		}
		fmt.Fprintf(w, "hello %s", name)
	})
	srv := httptest.NewServer(spnego.SPNEGOKRB5Authenticate(hello, shared.httpKT,
		service.DecodePAC(false), service.Logger(log.New(testWriter{t}, "spnego: ", 0))))
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/", seen
}

// testWriter sends gokrb5's service log to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func TestServiceCallsSPNEGOEndpoint(t *testing.T) {
	realm := testRealm(t)
	url, _ := protected(t)

	// Without Kerberos: 401 and a Negotiate challenge.
	resp, err := http.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, "Negotiate", resp.Header.Get("WWW-Authenticate"))

	k := &Keeper{Login: KeytabLogin(shared.cfg, clientName, shared.clientKT), Logf: t.Logf}
	runCtx, cancel := context.WithCancel(ctx(t))
	stopped := make(chan error, 1)
	go func() { stopped <- k.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-stopped })
	creds, err := k.Wait(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, realm.Principal(clientName), creds.Client.String())

	status, body, err := Get(ctx(t), shared.cfg, k.Credentials(), url, "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "hello "+realm.Principal(clientName), body)

	// The same name, given explicitly.
	status, _, err = Get(ctx(t), shared.cfg, k.Credentials(), url, serviceName)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
}

// TestServiceRun runs main's code: log in from the keytab file, call the
// endpoint, stop when cancelled.
func TestServiceRun(t *testing.T) {
	realm := testRealm(t)
	url, seen := protected(t)
	c, cancel := context.WithCancel(ctx(t))
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- run(c, realm.ConfigPath, shared.clientKTPath, clientName, url, "", time.Hour)
	}()
	select {
	case name := <-seen:
		assert.Equal(t, realm.Principal(clientName), name)
	case err := <-errc:
		t.Fatalf("run ended before calling the endpoint: %v", err)
	case <-c.Done():
		t.Fatal("the endpoint was not called")
	}
	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled)
}

func TestKeeperLogsInAgainBeforeExpiry(t *testing.T) {
	testRealm(t)
	logins := make(chan *krb.Credentials, 10)
	k := &Keeper{
		Login:       KeytabLogin(shared.cfg, clientName, shared.clientKT, krb.WithLifetime(3*time.Second)),
		MinInterval: 100 * time.Millisecond,
		OnLogin:     func(c *krb.Credentials) { logins <- c },
		Logf:        t.Logf,
	}
	runCtx, cancel := context.WithCancel(ctx(t))
	stopped := make(chan error, 1)
	go func() { stopped <- k.Run(runCtx) }()
	defer func() { cancel(); <-stopped }()

	next := func() (*krb.Credentials, time.Time) {
		select {
		case c := <-logins:
			return c, time.Now()
		case <-time.After(10 * time.Second):
			t.Fatal("no new login within 10 s")
			return nil, time.Time{}
		}
	}
	first, _ := next()
	require.LessOrEqual(t, first.EndTime.Sub(first.StartTime), 3*time.Second, "the KDC granted the short lifetime")
	second, at := next()
	assert.True(t, at.Before(first.EndTime), "new login at %s, before the first ticket ends at %s", at, first.EndTime)
	assert.True(t, second.EndTime.After(first.EndTime))
	assert.NotEqual(t, first.Ticket, second.Ticket)
	assert.NotEqual(t, first.SessionKey.KeyValue, second.SessionKey.KeyValue)
	assert.Same(t, second, k.Credentials())
}

// deadKDCConfig is a krb5.conf whose only KDC is a loopback port where
// nothing listens.
func deadKDCConfig(t *testing.T) *krb.Config {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	path := filepath.Join(t.TempDir(), "krb5.conf")
	conf := fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_kdc = false
[realms]
	%[1]s = {
		kdc = %[2]s
	}
`, krbtest.DefaultRealmName, addr)
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	return cfg
}

func TestKeeperBacksOffWhenKDCIsDown(t *testing.T) {
	testRealm(t)
	cfg := deadKDCConfig(t)
	login := KeytabLogin(cfg, clientName, shared.clientKT)
	const attempts = 7
	var (
		calls  int
		errs   []error
		delays []time.Duration
	)
	runCtx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	k := &Keeper{
		Login: func(ctx context.Context) (*krb.Credentials, error) {
			calls++
			c, err := login(ctx)
			errs = append(errs, err)
			return c, err
		},
		MinBackoff: time.Second,
		MaxBackoff: 8 * time.Second,
		Sleep: func(ctx context.Context, d time.Duration) error {
			delays = append(delays, d)
			if len(delays) == attempts {
				cancel()
				return ctx.Err()
			}
			return nil
		},
		Logf: t.Logf,
	}
	start := time.Now()
	err := k.Run(runCtx)
	require.ErrorIs(t, err, context.Canceled)
	t.Logf("%d attempts against a dead KDC took %v", calls, time.Since(start))

	assert.Equal(t, attempts, calls)
	for _, e := range errs {
		assert.ErrorIs(t, e, krb.ErrKDCUnreachable)
	}
	require.Len(t, delays, attempts)
	for i, d := range delays {
		want := min(time.Second<<i, 8*time.Second) // 1, 2, 4, 8, 8, 8, 8 s
		assert.GreaterOrEqual(t, d, want/2, "delay %d", i)
		assert.Less(t, d, want, "delay %d", i)
		if i > 0 && time.Second<<i <= 8*time.Second {
			assert.Greater(t, d, delays[i-1], "delays grow until the cap: %v", delays)
		}
	}
	assert.Nil(t, k.Credentials())
}

func TestKeeperStopsOnAuthenticationFailure(t *testing.T) {
	realm := testRealm(t)
	calls := 0
	k := &Keeper{
		Login: func(ctx context.Context) (*krb.Credentials, error) {
			calls++
			return krb.GetInitialCreds(ctx, "carol", krb.WithConfig(shared.cfg), krb.WithPassword("wrong"))
		},
		Sleep: func(context.Context, time.Duration) error {
			t.Error("the keeper waited to retry an authentication failure")
			return nil
		},
	}
	err := k.Run(ctx(t))
	require.ErrorIs(t, err, krb.ErrPreauthFailed)
	assert.Equal(t, 1, calls)
	_, err = k.Wait(ctx(t))
	assert.ErrorIs(t, err, krb.ErrPreauthFailed)

	// A principal the KDC does not know is final too.
	calls = 0
	k = &Keeper{Login: func(ctx context.Context) (*krb.Credentials, error) {
		calls++
		return krb.GetInitialCreds(ctx, "nobody@"+realm.Name, krb.WithConfig(shared.cfg), krb.WithPassword("x"))
	}}
	require.ErrorIs(t, k.Run(ctx(t)), krb.ErrClientUnknown)
	assert.Equal(t, 1, calls)
}

// TestKeeperSchedule checks, with a fake clock and fake logins, when the
// keeper logs in again and that a recovered KDC resets the backoff.
func TestKeeperSchedule(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	results := []error{nil, krb.ErrKDCUnreachable, krb.ErrKDCUnreachable, nil, krb.ErrKDCUnreachable}
	calls := 0
	var waits []time.Duration
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k := &Keeper{
		Login: func(context.Context) (*krb.Credentials, error) {
			err := results[calls]
			calls++
			if err != nil {
				return nil, fmt.Errorf("%w: test", err)
			}
			return &krb.Credentials{StartTime: now, EndTime: now.Add(10 * time.Hour)}, nil
		},
		Now:    func() time.Time { return now },
		Jitter: func(time.Duration) time.Duration { return 0 },
		Sleep: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			now = now.Add(d)
			if calls == len(results) {
				cancel()
				return ctx.Err()
			}
			return nil
		},
	}
	require.ErrorIs(t, k.Run(runCtx), context.Canceled)
	assert.Equal(t, []time.Duration{
		8 * time.Hour,          // 80% of a 10 h ticket
		500 * time.Millisecond, // KDC down: 1 s, half of it fixed, no jitter
		time.Second,            // then 2 s
		8 * time.Hour,          // logged in again
		500 * time.Millisecond, // the backoff starts over
	}, waits)
	require.NotNil(t, k.Credentials(), "the old ticket is still valid while the KDC is down")
	now = now.Add(3 * time.Hour)
	assert.Nil(t, k.Credentials(), "an expired ticket is not handed out")
}
