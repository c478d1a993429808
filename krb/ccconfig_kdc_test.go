package krb_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/preauth/encts"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInputCCacheRestrictsPreauthType: the cache of a login records the
// PA type it used (pa_type); a later login given that cache
// (WithInputCCache, MIT's in_ccache, kinit -I) uses only that type, against
// MIT's KDC offering both SPAKE and encrypted timestamp.
func TestInputCCacheRestrictsPreauthType(t *testing.T) {
	realm := krbtest.Shared(t, "spake-incache", func(r *krbtest.Realm) error {
		return r.AddPrincipal("sam", "sam-password", krbtest.RequiresPreauth())
	}, krbtest.WithSPAKE([]string{"edwards25519"}, ""))
	cfg, err := krb.LoadConfig(realm.ConfigPath)
	require.NoError(t, err)
	login := func(t *testing.T, opts ...krb.Option) (*krb.Credentials, string, error) {
		var trace strings.Builder
		creds, err := krb.GetInitialCreds(ctx(t), "sam", append([]krb.Option{krb.WithConfig(cfg),
			krb.WithPassword("sam-password"), traceTo(&trace)}, opts...)...)
		return creds, trace.String(), err
	}
	cacheWith := func(t *testing.T, creds *krb.Credentials, paType int32) *ccache.Cache {
		c := *creds
		c.PAType = paType
		path := filepath.Join(t.TempDir(), "cc")
		require.NoError(t, c.WriteCCache(path))
		cc, err := ccache.ReadFile(path)
		require.NoError(t, err)
		return cc
	}

	first, trace, err := login(t)
	require.NoError(t, err)
	require.EqualValues(t, 151, first.PAType, "SPAKE, offered first: %s", trace)

	t.Run("SPAKE from the cache", func(t *testing.T) {
		_, trace, err := login(t, krb.WithInputCCache(cacheWith(t, first, 151)))
		require.NoError(t, err)
		assert.Contains(t, trace, "Preauthentication restricted to type 151 by the input credential cache")
		assert.Contains(t, trace, "Skipping preauth type 2 (encrypted_timestamp): the input credential cache allows only type 151")
		assert.Contains(t, trace, "Preauth mechanism spake (151) produced")
	})
	t.Run("encrypted timestamp from the cache", func(t *testing.T) {
		creds, trace, err := login(t, krb.WithInputCCache(cacheWith(t, first, 2)))
		require.NoError(t, err)
		assert.Contains(t, trace, "Skipping preauth type 151 (spake): the input credential cache allows only type 2")
		assert.Contains(t, trace, "Preauth mechanism encrypted_timestamp (2) produced [2]")
		assert.EqualValues(t, 2, creds.PAType)
	})
	t.Run("a type the KDC does not offer", func(t *testing.T) {
		_, _, err := login(t, krb.WithInputCCache(cacheWith(t, first, 138)))
		require.ErrorIs(t, err, krb.ErrNoMechanism)
	})
	t.Run("MIT's kinit reads the pa_type we write", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "cc")
		require.NoError(t, first.WriteCCache(path))
		out, err := realm.Command("klist", "-C", path).CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "config: pa_type(krbtgt/"+realm.Name+"@"+realm.Name+") = 151")
	})
}

// countingTS is encrypted timestamp plus cache configuration: it counts
// its logins in the cache (SetCCConfig), reading the last count from the
// input cache (GetCCConfig), as MIT's mechanisms keep per-principal state.
type countingTS struct{}

func (countingTS) Name() string                { return "counting_timestamp" }
func (countingTS) PATypes() []preauth.PAType   { return encts.Mechanism.PATypes() }
func (countingTS) NewRequest() preauth.Request { return countingReq{encts.Mechanism.NewRequest()} }

type countingReq struct{ preauth.Request }

func (r countingReq) FillResponseSet(ctx context.Context, cb preauth.Callbacks, in *preauth.Input, rs *responder.ResponseSet) error {
	return r.Request.FillResponseSet(ctx, cb, in, rs)
}

func (r countingReq) Process(ctx context.Context, cb preauth.Callbacks, in *preauth.Input) ([]types.PAData, error) {
	out, err := r.Request.Process(ctx, cb, in)
	if err == nil && len(out) > 0 {
		n, _ := cb.GetCCConfig("logins")
		cb.SetCCConfig("logins", n+"I")
	}
	return out, err
}

func TestMechanismCacheConfig(t *testing.T) {
	realm, cfg := testRealm(t)
	_ = realm
	path := filepath.Join(t.TempDir(), "cc")
	var in *ccache.Cache
	for i := 1; i <= 3; i++ {
		opts := []krb.Option{krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithMechanisms(countingTS{})}
		if in != nil {
			opts = append(opts, krb.WithInputCCache(in))
		}
		creds, err := krb.GetInitialCreds(ctx(t), "alice", opts...)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"logins": strings.Repeat("I", i)}, creds.CCConfig)
		require.NoError(t, creds.WriteCCache(path))
		in, err = ccache.ReadFile(path)
		require.NoError(t, err)
	}
	tgt, err := krb.TGTFromCCache(in, cfg.LibDefaults.DefaultRealm)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"logins": "III"}, tgt.CCConfig)
	assert.EqualValues(t, 2, tgt.PAType)
}
