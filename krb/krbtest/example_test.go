package krbtest_test

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
)

// TestMain leaves out the examples that need MIT's KDC when it is not
// installed (unless KRBTEST_REQUIRE=1), and stops the shared realms.
func TestMain(m *testing.M) {
	flag.Parse()
	if ok, reason := krbtest.Available(); !ok && os.Getenv("KRBTEST_REQUIRE") != "1" {
		fmt.Println("skipping the examples that need a KDC:", reason)
		flag.Set("test.skip", "^ExampleStart$")
	}
	code := m.Run()
	krbtest.CloseShared()
	os.Exit(code)
}

// Outside a test (a demo, a benchmark harness), Start runs a realm that
// the caller closes.
func ExampleStart() {
	realm, err := krbtest.Start(krbtest.WithName("EXAMPLE.TEST"))
	if err != nil {
		log.Fatal(err) // MIT's KDC is not installed
	}
	defer realm.Close()
	if err := realm.AddPrincipal("alice", "alice-pw", krbtest.RequiresPreauth()); err != nil {
		log.Fatal(err)
	}
	info, err := realm.GetPrincipal("alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Name, strings.Join(info.Attributes, " "))

	// A Go client reads the realm's krb5.conf.
	cfg, err := krb.LoadConfig(realm.ConfigPath)
	if err != nil {
		log.Fatal(err)
	}
	creds, err := krb.GetInitialCreds(context.Background(), "alice",
		krb.WithConfig(cfg), krb.WithPassword("alice-pw"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logged in as", creds.Client)
	// Output:
	// alice@EXAMPLE.TEST REQUIRES_PRE_AUTH
	// logged in as alice@EXAMPLE.TEST
}

// In a test, NewRealm starts the realm, skips the test when MIT's KDC is
// missing (fails it under KRBTEST_REQUIRE=1), and stops it when the test
// ends. The realm's own MIT tools check what the Go client wrote.
func ExampleNewRealm() {
	testLogin := func(t *testing.T) {
		realm := krbtest.NewRealm(t)
		if err := realm.AddPrincipal("alice", "s3cret"); err != nil {
			t.Fatal(err)
		}
		cfg, err := krb.LoadConfig(realm.ConfigPath)
		if err != nil {
			t.Fatal(err)
		}
		creds, err := krb.GetInitialCreds(t.Context(), "alice", krb.WithConfig(cfg), krb.WithPassword("s3cret"))
		if err != nil {
			t.Fatal(err)
		}
		if err := creds.WriteCCache(strings.TrimPrefix(realm.CCache, "FILE:")); err != nil {
			t.Fatal(err)
		}
		out, err := realm.Command("klist").CombinedOutput() // MIT's klist reads our cache
		if err != nil || !strings.Contains(string(out), "krbtgt/"+realm.Name) {
			t.Fatalf("klist: %v\n%s", err, out)
		}
	}
	_ = testLogin // func TestLogin(t *testing.T) { ... } in a _test.go file
}
