package krb

import (
	"context"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/responder"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSlowAnswerDoesNotSkewTheClock: a principal without preauth is asked
// its password after the AS-REP arrived; the minutes a person takes must
// not become a KDC clock offset in the cache, nor a clock-skew failure
// (MIT measures against the time the request was sent).
func TestSlowAnswerDoesNotSkewTheClock(t *testing.T) {
	r := krbtest.Shared(t, "krb-internal", func(r *krbtest.Realm) error { return r.AddPrincipal("np", "np-pw") })
	for _, timesync := range []string{"true", "false"} {
		path, err := r.WriteClientConfig("kdc_timesync = "+timesync, "")
		require.NoError(t, err)
		cfg, err := LoadConfig(path)
		require.NoError(t, err)
		clock := time.Now()
		l, err := NewLogin("np", WithConfig(cfg), WithDeferredQuestions())
		require.NoError(t, err)
		l.o.now = func() time.Time { return clock }
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q, err := l.Continue(ctx)
		require.NoError(t, err)
		require.NotNil(t, q)
		clock = clock.Add(10 * time.Minute) // the person takes ten minutes
		require.NoError(t, responder.SetPassword(q, "np-pw"))
		_, err = l.Continue(ctx)
		require.NoError(t, err, "kdc_timesync = %s", timesync)
		assert.Less(t, l.Credentials().KDCOffset.Abs(), 5*time.Second)
	}
}
