// Package adopter is a module of its own that uses krb/krbtest as another
// project would: scripts/test runs it with CGO_ENABLED=0, which builds only
// if importing krbtest (and krb) needs no cgo, PKCS#11 included.
package adopter

import (
	"context"
	"errors"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
)

const alicePW = "alice-adopter-pw"

func login(t *testing.T, configPath string) (*krb.Credentials, error) {
	t.Helper()
	cfg, err := krb.LoadConfig(configPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return krb.GetInitialCreds(ctx, "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW))
}

// TestFailover stops and restarts the realm's KDC and checks that the
// client fails over to the realm's second KDC, and fails with
// ErrKDCUnreachable (never an authentication error) when both are down.
func TestFailover(t *testing.T) {
	realm := krbtest.NewRealm(t)
	if err := realm.AddPrincipal("alice", alicePW, krbtest.RequiresPreauth()); err != nil {
		t.Fatal(err)
	}
	second, err := realm.AddKDC()
	if err != nil {
		t.Fatal(err)
	}
	both, err := realm.WriteClientConfig("", "kdc = "+second.Addr) // the realm's KDC, then the second
	if err != nil {
		t.Fatal(err)
	}

	creds, err := login(t, both)
	if err != nil {
		t.Fatalf("both KDCs up: %v", err)
	}
	if creds.PAType != 2 { // PA-ENC-TIMESTAMP
		t.Errorf("PAType = %d, want 2 (encrypted timestamp)", creds.PAType)
	}

	if err := realm.StopKDC(); err != nil {
		t.Fatal(err)
	}
	if _, err := login(t, realm.ConfigPath); !errors.Is(err, krb.ErrKDCUnreachable) {
		t.Fatalf("the stopped KDC alone: got %v, want ErrKDCUnreachable", err)
	}
	if creds, err := login(t, both); err != nil {
		t.Fatalf("first KDC stopped: no failover to the second: %v", err)
	} else if creds.Client.String() != "alice@"+realm.Name {
		t.Errorf("client %s", creds.Client)
	}

	if err := second.Stop(); err != nil {
		t.Fatal(err)
	}
	_, err = login(t, both)
	if !errors.Is(err, krb.ErrKDCUnreachable) || errors.Is(err, krb.ErrPreauthFailed) {
		t.Fatalf("both KDCs stopped: got %v, want ErrKDCUnreachable", err)
	}

	if err := realm.RestartKDC(); err != nil {
		t.Fatal(err)
	}
	if _, err := login(t, realm.ConfigPath); err != nil {
		t.Fatalf("after RestartKDC: %v", err)
	}
	if err := second.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := realm.StopKDC(); err != nil {
		t.Fatal(err)
	}
	if _, err := login(t, both); err != nil {
		t.Fatalf("second KDC restarted, first stopped: %v", err)
	}
}

// TestDeadAndSilentKDCs: a dead address and a KDC that never answers,
// listed before the real KDC, cost the client its per-KDC wait, not the
// login.
func TestDeadAndSilentKDCs(t *testing.T) {
	realm := krbtest.NewRealm(t)
	if err := realm.AddPrincipal("alice", alicePW); err != nil {
		t.Fatal(err)
	}
	conf, err := realm.WriteClientConfigWithKDCs([]string{krbtest.DeadKDCAddr(t), krbtest.StartSilentKDC(t)}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := login(t, conf); err != nil {
		t.Fatalf("dead and silent KDCs first: %v", err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("login took %v past a dead and a silent KDC", took)
	}
	t.Logf("past a dead and a silent KDC in %v", time.Since(start))
}

// TestNoCgo: the test binary links no PKCS#11 module.
func TestNoCgo(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("no build info")
	}
	for _, d := range bi.Deps {
		if strings.Contains(d.Path, "pkcs11") {
			t.Errorf("the test binary links %s", d.Path)
		}
	}
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" {
			t.Logf("CGO_ENABLED=%s", s.Value)
		}
	}
}
