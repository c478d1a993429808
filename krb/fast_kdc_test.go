package krb_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/krb/transport"
	"github.com/gokinit/gokinit/preauth/encts"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostArmor logs the host principal in from its keytab, as a service would,
// and returns its TGT as armor.
func hostArmor(t testing.TB) *krb.Armor {
	realm, cfg := testRealm(t)
	path, err := realm.Keytab("host/svc.krbtest")
	require.NoError(t, err)
	kt, err := krb.LoadKeytab(path)
	require.NoError(t, err)
	creds, err := krb.GetInitialCreds(ctx(t), "host/svc.krbtest", krb.WithConfig(cfg), krb.WithKeytab(kt))
	require.NoError(t, err)
	assert.True(t, creds.FASTAvailable, "MIT's KDC says in its encrypted reply that it supports FAST")
	return krb.ArmorFromCredentials(creds)
}

// noEncTSConfig is the realm's client config with disable_encrypted_timestamp,
// so that a password login can only succeed through FAST.
func noEncTSConfig(t testing.TB) *krb.Config {
	realm, _ := testRealm(t)
	path, err := realm.WriteClientConfig("", "disable_encrypted_timestamp = true")
	require.NoError(t, err)
	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	return cfg
}

func traceTo(b *strings.Builder) krb.Option {
	return krb.WithTrace(func(f string, a ...any) { fmt.Fprintf(b, f+"\n", a...) })
}

func TestEncryptedTimestampDisabledNeedsFAST(t *testing.T) {
	cfg := noEncTSConfig(t)
	_, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW))
	require.ErrorIs(t, err, encts.ErrDisabled, "without armor only encrypted timestamp is offered, and it is disabled")
}

func TestFASTEncryptedChallenge(t *testing.T) {
	realm, _ := testRealm(t)
	cfg := noEncTSConfig(t)
	armor := hostArmor(t)
	var trace strings.Builder
	l, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithArmor(armor), traceTo(&trace))
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	require.NoError(t, err, trace.String())
	assert.Equal(t, realm.Principal("alice"), creds.Client.String())
	assert.Contains(t, trace.String(), "encrypted_challenge (138) produced [138]")
	assert.Equal(t, krb.Stats{Requests: 2, StringToKey: 1}, l.Stats(), "armored from the first request: the armor says the KDC has FAST")

	// MIT's kvno uses the TGT we got through FAST.
	cc := filepath.Join(t.TempDir(), "cc")
	require.NoError(t, creds.WriteCCache(cc))
	kvno := exec.Command("kvno", "host/svc.krbtest")
	kvno.Env = append(realm.Env(), "KRB5CCNAME=FILE:"+cc)
	out, err := kvno.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "kvno = ")
}

func TestFASTUpgradeWhenKDCOffersIt(t *testing.T) {
	_, cfg := testRealm(t)
	armor := *hostArmor(t)
	armor.FASTAvailable = false // an armor cache that has not seen FAST yet
	var trace strings.Builder
	l, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithArmor(&armor), traceTo(&trace))
	require.NoError(t, err)
	_, err = l.Run(ctx(t))
	require.NoError(t, err, trace.String())
	assert.Contains(t, trace.String(), "Upgrading to FAST")
	assert.Contains(t, trace.String(), "produced [138]", "inside FAST, encrypted challenge replaces encrypted timestamp")
	assert.Equal(t, 3, l.Stats().Requests, "one unarmored request, then the armored exchange")
}

func TestFASTWrongPassword(t *testing.T) {
	cfg := noEncTSConfig(t)
	_, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword("wrong"), krb.WithArmor(hostArmor(t)))
	require.ErrorIs(t, err, krb.ErrPreauthFailed)
	assert.Equal(t, "Password incorrect while getting initial credentials", err.Error())
}

// TestFASTArmorFromMITKinit armors with a cache written by MIT's kinit -k,
// and one written by our own keytab login.
func TestFASTArmorFromCaches(t *testing.T) {
	realm, plainCfg := testRealm(t)
	cfg := noEncTSConfig(t)
	kt, err := realm.Keytab("host/svc.krbtest")
	require.NoError(t, err)

	mitCC := filepath.Join(t.TempDir(), "mit-armor")
	kinit := realm.Command("kinit", "-k", "-t", kt, "-c", "FILE:"+mitCC, "host/svc.krbtest")
	out, err := kinit.CombinedOutput()
	require.NoError(t, err, "%s", out)

	ourCC := filepath.Join(t.TempDir(), "our-armor")
	require.NoError(t, func() error {
		ktab, err := krb.LoadKeytab(kt)
		if err != nil {
			return err
		}
		c, err := krb.GetInitialCreds(ctx(t), "host/svc.krbtest", krb.WithConfig(plainCfg), krb.WithKeytab(ktab))
		if err != nil {
			return err
		}
		return c.WriteCCache(ourCC)
	}())

	for name, path := range map[string]string{"MIT kinit -k": mitCC, "our keytab login": ourCC} {
		t.Run(name, func(t *testing.T) {
			cc, err := ccache.ReadFile(path)
			require.NoError(t, err)
			armor, err := krb.ArmorFromCCache(cc, realm.Name)
			require.NoError(t, err)
			assert.True(t, armor.FASTAvailable, "the cache records fast_avail as MIT's kinit does")
			l, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithArmor(armor))
			require.NoError(t, err)
			creds, err := l.Run(ctx(t))
			require.NoError(t, err)
			assert.Equal(t, realm.Principal("alice"), creds.Client.String())
			assert.Equal(t, 2, l.Stats().Requests)
		})
	}
}

func TestFASTRequiredWithoutArmor(t *testing.T) {
	_, cfg := testRealm(t)
	_, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithFASTRequired())
	require.ErrorIs(t, err, krb.ErrFASTRequired)
}

// relay forwards requests to the test realm's KDC and lets a test alter
// the replies, as an attacker on the path could.
func relay(t testing.TB, cfg *krb.Config, alter func(n int, reply []byte) []byte) krb.Option {
	real := transport.New(cfg.Config)
	n := 0
	return krb.WithTransport(krb.TransportFunc(func(ctx context.Context, realm string, req []byte, tcpOnly bool) ([]byte, error) {
		reply, err := real.Exchange(ctx, realm, req, tcpOnly)
		if err != nil {
			return nil, err
		}
		n++
		return alter(n, reply), nil
	}))
}

func TestFASTRefusesUnarmoredError(t *testing.T) {
	_, cfg := testRealm(t)
	// The attacker answers the armored request with a plain PREAUTH_REQUIRED
	// offering encrypted timestamp, hoping to get a crackable timestamp.
	kerr := messages.NewKRBError(types.NewPrincipalName(2, "krbtgt/X"), "X", krb.ErrCodePreauthRequired, "")
	plain, err := kerr.Marshal()
	require.NoError(t, err)
	_, err = krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithArmor(hostArmor(t)),
		relay(t, cfg, func(int, []byte) []byte { return plain }))
	require.ErrorIs(t, err, krb.ErrUnarmoredReply)
	assert.NotErrorIs(t, err, krb.ErrPreauthFailed)

	_, err = krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithArmor(hostArmor(t)), krb.WithFASTRequired(),
		relay(t, cfg, func(int, []byte) []byte { return plain }))
	require.ErrorIs(t, err, krb.ErrFASTRequired)
}

func TestFASTRefusesModifiedTicket(t *testing.T) {
	_, cfg := testRealm(t)
	flipTicket := func(n int, reply []byte) []byte {
		if reply[0] != 0x6b { // only the AS-REP
			return reply
		}
		var rep messages.ASRep
		require.NoError(t, rep.Unmarshal(reply))
		cipher := rep.Ticket.EncPart.Cipher
		i := bytes.Index(reply, cipher)
		require.GreaterOrEqual(t, i, 0)
		out := bytes.Clone(reply)
		out[i+len(cipher)-1] ^= 1 // still valid DER, another ticket
		return out
	}
	_, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithArmor(hostArmor(t)),
		relay(t, cfg, flipTicket))
	require.ErrorIs(t, err, krb.ErrBadReply)
	assert.Contains(t, err.Error(), "ticket modified")

	// Without armor nothing binds the ticket: the same change goes through
	// (the KDC would refuse the ticket later), which is what FAST adds.
	_, err = krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), relay(t, cfg, flipTicket))
	require.NoError(t, err)
}
