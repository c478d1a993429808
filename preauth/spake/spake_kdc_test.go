package spake_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/preauth/encts"
	"github.com/gokinit/gokinit/responder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Passwords of the test principals. They are test data.
const (
	alicePW = "spake-alice-pw"
	etypePW = "spake-etype-pw"
)

// hostPrincipal has a random key in a keytab, as a service would.
const hostPrincipal = "host/svc.krbtest"

// allGroups are the SPAKE groups by their krb5.conf names.
var allGroups = []string{"edwards25519", "P-256", "P-384", "P-521"}

// One-key principals of the "all groups" realm, by enctype.
var etypePrincipals = map[string]string{
	"aes128sha1":   "aes128-cts-hmac-sha1-96",
	"aes128sha256": "aes128-cts-hmac-sha256-128",
	"aes256sha384": "aes256-cts-hmac-sha384-192",
}

// realms are MIT KDCs shared by the package's tests and benchmarks, by
// their KDC-side SPAKE settings; a realm takes a few hundred milliseconds
// to start, a login a few.
var realms struct {
	sync.Mutex
	m map[realmKey]*krbtest.Realm
}

// realmKey is a realm's krb5.conf spake_preauth_groups and kdc.conf
// spake_preauth_kdc_challenge (empty: no optimistic challenge).
type realmKey struct{ groups, challenge string }

// spakeRealm returns the realm whose KDC offers SPAKE in groups (and an
// optimistic challenge in challenge), with alice and hostPrincipal, both
// requiring preauthentication.
func spakeRealm(t testing.TB, groups, challenge string) *krbtest.Realm {
	t.Helper()
	if ok, reason := krbtest.Available(); !ok {
		krbtest.SkipOrFail(t, reason)
	}
	realms.Lock()
	defer realms.Unlock()
	key := realmKey{groups, challenge}
	if r, ok := realms.m[key]; ok {
		return r
	}
	r, err := krbtest.Start(krbtest.WithSPAKE(strings.Fields(groups), challenge))
	require.NoError(t, err)
	steps := []error{
		r.AddPrincipal("alice", alicePW, krbtest.RequiresPreauth()),
		r.AddRandomKeyPrincipal(hostPrincipal, krbtest.RequiresPreauth()),
	}
	for name, etype := range etypePrincipals {
		steps = append(steps, r.AddPrincipal(name, etypePW, krbtest.RequiresPreauth(), krbtest.Enctypes(etype+":normal")))
	}
	if err := errors.Join(steps...); err != nil {
		r.Close()
		require.NoError(t, err)
	}
	if realms.m == nil {
		realms.m = map[realmKey]*krbtest.Realm{}
	}
	realms.m[key] = r
	return r
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, r := range realms.m {
		r.Close()
	}
	os.Exit(code)
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// clientConfig is a client krb5.conf for realm with spake_preauth_groups
// set to groups (unless empty) and, when noEncTS, encrypted timestamp
// disabled, so that only SPAKE (or FAST's encrypted challenge) can succeed.
func clientConfig(t testing.TB, realm *krbtest.Realm, groups string, noEncTS bool) *krb.Config {
	t.Helper()
	var lines []string
	if noEncTS {
		lines = append(lines, "disable_encrypted_timestamp = true")
	}
	if groups != "" {
		lines = append(lines, "spake_preauth_groups = "+groups)
	}
	path, err := realm.WriteClientConfig(strings.Join(lines, "\n"), "")
	require.NoError(t, err)
	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	return cfg
}

// login logs client in and returns the login, its error and its trace.
func login(t testing.TB, client string, cfg *krb.Config, opts ...krb.Option) (*krb.Login, *krb.Credentials, string, error) {
	t.Helper()
	var trace strings.Builder
	opts = append([]krb.Option{krb.WithConfig(cfg), krb.WithTrace(func(f string, a ...any) {
		fmt.Fprintf(&trace, f+"\n", a...)
	})}, opts...)
	l, err := krb.NewLogin(client, opts...)
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	return l, creds, trace.String(), err
}

const spakeSelected = "spake (151) produced [151]"

// TestLoginEachGroup logs in through SPAKE in each group (the KDC allowing
// only that group), by password and through the responder, and fails with
// a wrong password.
func TestLoginEachGroup(t *testing.T) {
	for _, g := range allGroups {
		t.Run(g, func(t *testing.T) {
			realm := spakeRealm(t, g, "")
			cfg := clientConfig(t, realm, g, true)

			l, creds, trace, err := login(t, "alice", cfg, krb.WithPassword(alicePW))
			require.NoError(t, err, trace)
			assert.Equal(t, realm.Principal("alice"), creds.Client.String())
			assert.Contains(t, trace, spakeSelected)
			assert.Equal(t, krb.Stats{Requests: 3, StringToKey: 1}, l.Stats(),
				"the bare request, the support message, the response")

			var questions [][]string
			ask := responder.Func(func(_ context.Context, rs *responder.ResponseSet) error {
				questions = append(questions, rs.Questions())
				return responder.SetPassword(rs, alicePW)
			})
			_, _, trace, err = login(t, "alice", cfg, krb.WithResponder(ask))
			require.NoError(t, err, trace)
			assert.Equal(t, [][]string{{"password"}}, questions,
				"asked once, with the challenge: SPAKE asks nothing of its own")

			_, _, trace, err = login(t, "alice", cfg, krb.WithPassword("wrong-pw"))
			require.ErrorIs(t, err, krb.ErrPreauthFailed, trace)
			assert.NotContains(t, err.Error(), "wrong-pw")
			assert.NotContains(t, trace, "wrong-pw")
			assert.Equal(t, 2, strings.Count(trace, spakeSelected), "support, then response")
			assert.NotContains(t, trace, "trying the next offered mechanism",
				"the response commits the login: no other mechanism is tried")
		})
	}
}

// TestOptimisticChallenge: with spake_preauth_kdc_challenge the KDC's
// PREAUTH_REQUIRED already holds a challenge, which saves the support
// round trip.
func TestOptimisticChallenge(t *testing.T) {
	for _, g := range allGroups {
		t.Run(g, func(t *testing.T) {
			plain := spakeRealm(t, g, "")
			optimistic := spakeRealm(t, g, g)

			l, _, trace, err := login(t, "alice", clientConfig(t, plain, g, true), krb.WithPassword(alicePW))
			require.NoError(t, err, trace)
			without := l.Stats().Requests

			l, creds, trace, err := login(t, "alice", clientConfig(t, optimistic, g, true), krb.WithPassword(alicePW))
			require.NoError(t, err, trace)
			assert.Equal(t, optimistic.Principal("alice"), creds.Client.String())
			assert.Equal(t, without-1, l.Stats().Requests, "one round trip fewer")
			assert.Equal(t, 2, l.Stats().Requests)

			_, _, trace, err = login(t, "alice", clientConfig(t, optimistic, g, true), krb.WithPassword("wrong-pw"))
			require.ErrorIs(t, err, krb.ErrPreauthFailed, trace)
		})
	}
}

// TestOptimisticChallengeInOtherGroup: the KDC's optimistic challenge is in
// P-256, which the client does not allow; the client answers with its
// support message and takes the KDC's next challenge, in edwards25519.
func TestOptimisticChallengeInOtherGroup(t *testing.T) {
	realm := spakeRealm(t, "P-256 edwards25519", "P-256")
	l, _, trace, err := login(t, "alice", clientConfig(t, realm, "edwards25519", true), krb.WithPassword(alicePW))
	require.NoError(t, err, trace)
	assert.Contains(t, trace, "Received error from KDC: 91/")
	assert.Equal(t, 3, l.Stats().Requests)

	l, _, trace, err = login(t, "alice", clientConfig(t, realm, "P-521 P-256", true), krb.WithPassword(alicePW))
	require.NoError(t, err, trace)
	assert.Equal(t, 2, l.Stats().Requests, "the optimistic challenge is in an allowed group")
}

// TestNoCommonGroup: the KDC allows only P-256 and the client only
// edwards25519 (MIT's default). The KDC refuses the support message and
// the engine falls back to the next offered mechanism.
func TestNoCommonGroup(t *testing.T) {
	realm := spakeRealm(t, "P-256", "")

	l, _, trace, err := login(t, "alice", clientConfig(t, realm, "", false), krb.WithPassword(alicePW))
	require.NoError(t, err, trace)
	assert.Contains(t, trace, "Preauth type 151 failed; trying the next offered mechanism")
	assert.Contains(t, trace, "encrypted_timestamp (2) produced [2]")
	assert.Equal(t, 3, l.Stats().Requests)

	_, _, trace, err = login(t, "alice", clientConfig(t, realm, "", true), krb.WithPassword(alicePW))
	require.ErrorIs(t, err, encts.ErrDisabled, trace)
}

// TestDefaultGroup: without spake_preauth_groups the client allows
// edwards25519 alone, as MIT's.
func TestDefaultGroup(t *testing.T) {
	realm := spakeRealm(t, "P-384 edwards25519", "")
	l, _, trace, err := login(t, "alice", clientConfig(t, realm, "", true), krb.WithPassword(alicePW))
	require.NoError(t, err, trace)
	assert.Contains(t, trace, spakeSelected)
	assert.Equal(t, 3, l.Stats().Requests)
}

// TestEnctypes logs in principals with a single key of each AES enctype,
// in each group: w, K'[n] and the random-to-key seed depend on the enctype.
func TestEnctypes(t *testing.T) {
	realm := spakeRealm(t, strings.Join(allGroups, " "), "")
	for _, g := range allGroups {
		cfg := clientConfig(t, realm, g, true)
		for name, etype := range etypePrincipals {
			t.Run(g+"/"+etype, func(t *testing.T) {
				_, creds, trace, err := login(t, name, cfg, krb.WithPassword(etypePW))
				require.NoError(t, err, trace)
				assert.Contains(t, trace, spakeSelected)
				assert.Contains(t, trace, "etype "+etype)
				assert.Equal(t, realm.Principal(name), creds.Client.String())
			})
		}
	}
}

// TestKeytab: a keytab login goes through SPAKE too, with no string-to-key.
func TestKeytab(t *testing.T) {
	realm := spakeRealm(t, "P-256", "")
	path, err := realm.Keytab(hostPrincipal)
	require.NoError(t, err)
	kt, err := krb.LoadKeytab(path)
	require.NoError(t, err)
	l, _, trace, err := login(t, hostPrincipal, clientConfig(t, realm, "P-256", true), krb.WithKeytab(kt))
	require.NoError(t, err, trace)
	assert.Contains(t, trace, spakeSelected)
	assert.Equal(t, krb.Stats{Requests: 3}, l.Stats())
}

// hostArmor logs the host principal in from its keytab, as a service
// would, and returns its TGT as FAST armor.
func hostArmor(t testing.TB, realm *krbtest.Realm) *krb.Armor {
	t.Helper()
	path, err := realm.Keytab(hostPrincipal)
	require.NoError(t, err)
	kt, err := krb.LoadKeytab(path)
	require.NoError(t, err)
	cfg, err := krb.LoadConfig(realm.ConfigPath)
	require.NoError(t, err)
	creds, err := krb.GetInitialCreds(ctx(t), hostPrincipal, krb.WithConfig(cfg), krb.WithKeytab(kt))
	require.NoError(t, err)
	require.True(t, creds.FASTAvailable, "MIT's KDC says in its encrypted reply that it supports FAST")
	return krb.ArmorFromCredentials(creds)
}

// TestInsideFAST: armored, the KDC offers SPAKE before encrypted challenge,
// and SPAKE runs inside FAST unchanged (the reply key is then strengthened).
func TestInsideFAST(t *testing.T) {
	for _, g := range allGroups {
		t.Run(g, func(t *testing.T) {
			for _, challenge := range []string{"", g} {
				realm := spakeRealm(t, g, challenge)
				cfg := clientConfig(t, realm, g, true)
				armor := hostArmor(t, realm)
				l, creds, trace, err := login(t, "alice", cfg, krb.WithPassword(alicePW), krb.WithArmor(armor))
				require.NoError(t, err, trace)
				assert.Equal(t, realm.Principal("alice"), creds.Client.String())
				assert.Contains(t, trace, "Using FAST armor")
				assert.Contains(t, trace, spakeSelected)
				assert.NotContains(t, trace, "(138) produced")
				want := 3
				if challenge != "" {
					want = 2
				}
				assert.Equal(t, want, l.Stats().Requests, "optimistic challenge %q", challenge)

				_, _, trace, err = login(t, "alice", cfg, krb.WithPassword("wrong-pw"), krb.WithArmor(armor))
				require.ErrorIs(t, err, krb.ErrPreauthFailed, trace)
			}
		})
	}
}
