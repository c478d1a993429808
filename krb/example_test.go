package krb_test

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/types"
)

// The examples run against a throwaway MIT KDC (krbtest.Start), shared by
// all of them and stopped by TestMain. In a program, krb.LoadConfig()
// reads KRB5_CONFIG or /etc/krb5.conf and the realm is yours.

// Passwords of the example realm's principals (test data).
const examplePassword = "alice-example-pw"

var (
	exampleOnce  sync.Once
	exampleR     *krbtest.Realm
	exampleRErr  error
	exampleNames = "^Example(GetInitialCreds|GetInitialCreds_keytab|Login_Continue|Login_Step|WithMechanisms)$"
)

// exampleRealm starts the example realm on first use: alice with a
// password (preauth required) and host/example.test with a random key.
func exampleRealm() *krbtest.Realm {
	exampleOnce.Do(func() {
		exampleR, exampleRErr = krbtest.Start()
		if exampleRErr != nil {
			return
		}
		if exampleRErr = exampleR.AddPrincipal("alice", examplePassword, krbtest.RequiresPreauth()); exampleRErr != nil {
			return
		}
		exampleRErr = exampleR.AddRandomKeyPrincipal("host/example.test")
	})
	if exampleRErr != nil {
		log.Fatal(exampleRErr)
	}
	return exampleR
}

// skipKDCExamples leaves out (with -test.skip) the examples that need MIT's
// KDC when it is not installed, unless KRBTEST_REQUIRE=1. TestMain calls
// it.
func skipKDCExamples() {
	flag.Parse()
	ok, reason := krbtest.Available()
	if ok || os.Getenv("KRBTEST_REQUIRE") == "1" {
		return
	}
	fmt.Println("skipping the examples that need a KDC:", reason)
	skip := exampleNames
	if s := flag.Lookup("test.skip"); s != nil && s.Value.String() != "" {
		skip = s.Value.String() + "|" + skip
	}
	flag.Set("test.skip", skip)
}

func closeExampleRealm() {
	if exampleR != nil {
		exampleR.Close()
	}
}

// exampleConfig is the example realm's krb5.conf.
func exampleConfig() string { return exampleRealm().ConfigPath }

// A login with a password from the application's own form (the responder
// answers the "password" question), checked for the errors a caller acts
// on, writing MIT's credential cache. This is README's library in ten lines.
func ExampleGetInitialCreds() {
	ctx := context.Background()
	cfg, err := krb.LoadConfig(exampleConfig()) // krb.LoadConfig(): KRB5_CONFIG or /etc/krb5.conf
	if err != nil {
		log.Fatal(err)
	}
	for _, password := range []string{"not-the-password", examplePassword} {
		ask := responder.Func(func(ctx context.Context, rs *responder.ResponseSet) error {
			return responder.SetPassword(rs, password)
		})
		creds, err := krb.GetInitialCreds(ctx, "alice", krb.WithConfig(cfg), krb.WithResponder(ask))
		switch {
		case errors.Is(err, krb.ErrPreauthFailed):
			fmt.Println("wrong password:", err)
			continue
		case errors.Is(err, krb.ErrKDCUnreachable):
			fmt.Println("no KDC answered, try again later:", err)
			continue
		case err != nil:
			log.Fatal(err)
		}
		fmt.Println("logged in as", creds.Client)
		cache := filepath.Join(os.TempDir(), fmt.Sprintf("krb5cc_example_%d", os.Getpid()))
		if err := creds.WriteCCache(cache); err != nil { // atomic, 0600, MIT FILE v4
			log.Fatal(err)
		}
		os.Remove(cache) // the example cleans up after itself
	}
	// Output:
	// wrong password: Password incorrect while getting initial credentials
	// logged in as alice@KRBTEST.GOKINIT.TEST
}

// Questions as values: a web login answers across two HTTP requests, with
// the login kept in the session and nothing waiting in between.
func ExampleLogin_Continue() {
	ctx := context.Background()
	cfg, err := krb.LoadConfig(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	login, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithDeferredQuestions())
	if err != nil {
		log.Fatal(err)
	}
	// First request: the round's questions, to draw as a form.
	questions, err := login.Continue(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("questions:", questions.Questions())

	// Next request: the form's answer, then the rest of the exchange.
	if err := responder.SetPassword(questions, examplePassword); err != nil {
		log.Fatal(err)
	}
	questions, err = login.Continue(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("more questions:", questions != nil)
	fmt.Println("ticket for", login.Credentials().Client)
	// Output:
	// questions: [password]
	// more questions: false
	// ticket for alice@KRBTEST.GOKINIT.TEST
}

// Login.Step does no I/O: here the caller sends each request itself, over
// TCP with RFC 4120 §7.2.2's 4-byte length prefix, to a KDC it chose.
func ExampleLogin_Step() {
	ctx := context.Background()
	kdc := exampleRealm().KDCAddr // host:port of a KDC of the realm
	cfg, err := krb.LoadConfig(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	login, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithPassword(examplePassword))
	if err != nil {
		log.Fatal(err)
	}
	exchange := func(req []byte) ([]byte, error) {
		conn, err := net.DialTimeout("tcp", kdc, 5*time.Second)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write(binary.BigEndian.AppendUint32(nil, uint32(len(req)))); err != nil {
			return nil, err
		}
		if _, err := conn.Write(req); err != nil {
			return nil, err
		}
		var n [4]byte
		if _, err := io.ReadFull(conn, n[:]); err != nil {
			return nil, err
		}
		reply := make([]byte, binary.BigEndian.Uint32(n[:]))
		_, err = io.ReadFull(conn, reply)
		return reply, err
	}
	var reply []byte
	requests := 0
	for {
		req, err := login.Step(ctx, reply)
		if err != nil {
			log.Fatal(err)
		}
		if req == nil {
			break // the credentials are ready
		}
		requests++
		if reply, err = exchange(req.Data); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(login.Credentials().Client, "after", requests, "requests")
	// Output:
	// alice@KRBTEST.GOKINIT.TEST after 2 requests
}

// A service logs in with its keytab and writes the TGT to a cache for
// programs that read MIT's caches (KRB5CCNAME).
func ExampleGetInitialCreds_keytab() {
	realm := exampleRealm()
	ktPath, err := realm.Keytab("host/example.test") // a host's /etc/krb5.keytab
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := krb.LoadConfig(realm.ConfigPath)
	if err != nil {
		log.Fatal(err)
	}
	kt, err := krb.LoadKeytab(ktPath)
	if err != nil {
		log.Fatal(err)
	}
	creds, err := krb.GetInitialCreds(context.Background(), "host/example.test",
		krb.WithConfig(cfg), krb.WithKeytab(kt))
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "krb5cc")
	if err := creds.WriteCCache(path); err != nil {
		log.Fatal(err)
	}
	cc, err := ccache.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("cache for", cc.DefaultPrincipal.String())
	// Output:
	// cache for host/example.test@KRBTEST.GOKINIT.TEST
}

// countingMechanism is a third-party mechanism: it claims encrypted
// timestamp (PA-ENC-TIMESTAMP, 2), counts its uses, and lets the built-in
// mechanism do the work. A mechanism never sees the password: it asks for
// the long-term key through its Callbacks.
type countingMechanism struct {
	inner preauth.Mechanism
	uses  *int
}

func (m countingMechanism) Name() string              { return "counting_" + m.inner.Name() }
func (m countingMechanism) PATypes() []preauth.PAType { return m.inner.PATypes() }
func (m countingMechanism) NewRequest() preauth.Request {
	return countingRequest{m.inner.NewRequest(), m.uses}
}

type countingRequest struct {
	preauth.Request
	uses *int
}

func (r countingRequest) Process(ctx context.Context, cb preauth.Callbacks, in *preauth.Input) ([]types.PAData, error) {
	pa, err := r.Request.Process(ctx, cb, in)
	if len(pa) > 0 {
		*r.uses++
	}
	return pa, err
}

// A third-party mechanism chosen for one login with WithMechanisms
// (preauth.Register adds one to every login of the process instead).
func ExampleWithMechanisms() {
	var encTS preauth.Mechanism
	for _, m := range krb.BuiltinMechanisms() {
		if m.Name() == "encrypted_timestamp" {
			encTS = m
		}
	}
	uses := 0
	cfg, err := krb.LoadConfig(exampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	creds, err := krb.GetInitialCreds(context.Background(), "alice", krb.WithConfig(cfg),
		krb.WithPassword(examplePassword), krb.WithMechanisms(countingMechanism{encTS, &uses}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("PA type", creds.PAType, "used", uses, "time")
	// Output:
	// PA type 2 used 1 time
}

func ExampleParsePrincipal() {
	p, err := krb.ParsePrincipal(`HTTP/www.example.com@EXAMPLE.COM`, "DEFAULT.REALM", false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.String(), p.Realm)
	// Output:
	// HTTP/www.example.com@EXAMPLE.COM EXAMPLE.COM
}

// Durations as kinit's -l and krb5.conf's ticket_lifetime write them.
func ExampleParseDuration() {
	for _, s := range []string{"10h", "1d2h30m", "90", "3:30"} {
		d, err := krb.ParseDuration(s)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s, "=", d)
	}
	// Output:
	// 10h = 10h0m0s
	// 1d2h30m = 26h30m0s
	// 90 = 1m30s
	// 3:30 = 3h30m0s
}

// TestREADMEExample keeps README's "library in a few lines" identical to
// ExampleGetInitialCreds's body, which go test runs.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, body, ok := strings.Cut(string(src), "func ExampleGetInitialCreds() {\n")
	body, _, ok2 := strings.Cut(body, "\t// Output:")
	if !ok || !ok2 {
		t.Fatal("ExampleGetInitialCreds not found")
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		lines = append(lines, strings.TrimPrefix(l, "\t"))
	}
	want := "```go\n" + strings.Join(lines, "\n") + "\n```\n"
	if !strings.Contains(string(readme), want) {
		t.Errorf("README.md does not hold ExampleGetInitialCreds's body:\n%s", want)
	}
}
