package preauth

import (
	"context"
	"testing"

	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
)

type fakeMech struct{ name string }

func (m fakeMech) Name() string        { return m.name }
func (m fakeMech) PATypes() []PAType   { return []PAType{{Type: 9999, Kind: Real}} }
func (m fakeMech) NewRequest() Request { return fakeReq{} }

type fakeReq struct{}

func (fakeReq) FillResponseSet(context.Context, Callbacks, *Input, *responder.ResponseSet) error {
	return nil
}
func (fakeReq) Process(context.Context, Callbacks, *Input) ([]types.PAData, error) { return nil, nil }

func TestRegister(t *testing.T) {
	before := len(Registered())
	Register(fakeMech{"test-mechanism"})
	got := Registered()
	assert.Len(t, got, before+1)
	assert.Equal(t, "test-mechanism", got[len(got)-1].Name())
	assert.Panics(t, func() { Register(fakeMech{"test-mechanism"}) }, "a name registered twice")
	assert.Panics(t, func() { Register(nil) })
}

func TestFind(t *testing.T) {
	pas := types.PADataSequence{{PADataType: 2}, {PADataType: 19, PADataValue: []byte{1}}}
	v, ok := Find(pas, 19)
	assert.True(t, ok)
	assert.Equal(t, []byte{1}, v)
	_, ok = Find(pas, 3)
	assert.False(t, ok)
}
