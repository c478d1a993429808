package krb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingMech claims PA type 9998 and fails where it is told to.
type failingMech struct {
	prepErr, processErr, tryAgainErr error
}

func (m failingMech) Name() string { return "failing" }
func (m failingMech) PATypes() []preauth.PAType {
	return []preauth.PAType{{Type: 9998, Kind: preauth.Real}}
}
func (m failingMech) NewRequest() preauth.Request { return failingReq{m} }

type failingReq struct{ m failingMech }

func (r failingReq) FillResponseSet(context.Context, preauth.Callbacks, *preauth.Input, *responder.ResponseSet) error {
	return r.m.prepErr
}
func (r failingReq) Process(context.Context, preauth.Callbacks, *preauth.Input) ([]types.PAData, error) {
	if r.m.processErr != nil {
		return nil, r.m.processErr
	}
	return []types.PAData{{PADataType: 9998, PADataValue: []byte("x")}}, nil
}
func (r failingReq) TryAgain(context.Context, preauth.Callbacks, *preauth.Input) ([]types.PAData, error) {
	return nil, r.m.tryAgainErr
}

// TestMechanismErrorsReachTheCaller: a mechanism's FillResponseSet,
// Process and TryAgain failures are not swallowed: when nothing else
// succeeds, the caller gets a *preauth.Error naming the mechanism and the
// phase, wrapping the mechanism's error (for TryAgain, behind the KDC's
// error, whose message MIT reports).
func TestMechanismErrorsReachTheCaller(t *testing.T) {
	boom := errors.New("token unplugged")
	offer := func(t *testing.T, then int32) *fakeKDC {
		return newFakeKDC(t, func(n int, req []byte) ([]byte, error) {
			if n == 0 {
				return krbError(t, krb.ErrCodePreauthRequired, methodData(t, types.PAData{PADataType: 9998})), nil
			}
			return krbError(t, then, methodData(t, types.PAData{PADataType: 9998})), nil
		})
	}
	for _, c := range []struct {
		name  string
		mech  failingMech
		then  int32
		phase string
		msg   string
	}{
		{"prepare", failingMech{prepErr: boom}, 0, "prepare", "token unplugged"},
		{"process", failingMech{processErr: boom}, 0, "process", "token unplugged"},
		{"tryagain", failingMech{tryAgainErr: boom}, krb.ErrCodePolicy, "tryagain", "KDC policy rejects request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := offer(t, c.then)
			_, _, _, err := k.login(fakeCtx(t), krb.WithMechanisms(c.mech))
			require.ErrorIs(t, err, boom)
			var perr *preauth.Error
			require.ErrorAs(t, err, &perr)
			assert.Equal(t, "failing", perr.Mechanism)
			assert.EqualValues(t, 9998, perr.PAType)
			assert.Equal(t, c.phase, perr.Phase)
			assert.Contains(t, err.Error(), c.msg)
			if c.phase == "tryagain" {
				require.ErrorIs(t, err, krb.ErrPolicy, "the KDC's error too")
			}
		})
	}
}
