package krb_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A KDC whose clock is ten minutes ahead (libfaketime): with kdc_timesync
// (MIT's default) the login takes the offset from PREAUTH_REQUIRED's stime
// and succeeds, recording it in the credentials; with kdc_timesync = 0 the
// encrypted timestamp is refused as skewed. MIT's kinit, on the same
// realm, is the reference for both.
func TestKDCClockOffset(t *testing.T) {
	const ahead = 10 * time.Minute
	r := krbtest.NewRealm(t, krbtest.WithKDCClockOffset(ahead))
	require.NoError(t, r.AddPrincipal("skewy", "skewy-pw", krbtest.RequiresPreauth()))
	noSync, err := r.WriteClientConfig("kdc_timesync = 0", "")
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		conf string
		ok   bool
	}{
		{"kdc_timesync default", r.ConfigPath, true},
		{"kdc_timesync = 0", noSync, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := krb.LoadConfig(tc.conf)
			require.NoError(t, err)
			creds, err := krb.GetInitialCreds(context.Background(), "skewy", krb.WithConfig(cfg), krb.WithPassword("skewy-pw"))
			mit := exec.Command("kinit", "-c", filepath.Join(t.TempDir(), "cc"), "skewy")
			mit.Env = append(os.Environ(), "KRB5_CONFIG="+tc.conf)
			mit.Stdin = strings.NewReader("skewy-pw\n")
			mitOut, mitErr := mit.CombinedOutput()
			if tc.ok {
				require.NoError(t, err)
				assert.InDelta(t, ahead.Seconds(), creds.KDCOffset.Seconds(), 5, "offset recorded")
				assert.NoError(t, mitErr, "MIT's kinit: %s", mitOut)
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, krb.ErrClockSkew), "%v", err)
			assert.Error(t, mitErr, "MIT's kinit fails too")
			assert.Contains(t, string(mitOut), "Clock skew too great")
		})
	}
}
