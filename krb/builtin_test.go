package krb_test

import (
	"testing"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/preauth"
	"github.com/stretchr/testify/assert"
)

// TestBuiltinListsAgree: preauth.Builtins, which Register checks against,
// names the engine's built-in mechanisms, their PA types and their order.
func TestBuiltinListsAgree(t *testing.T) {
	var got []preauth.Builtin
	for _, m := range krb.BuiltinMechanisms() {
		b := preauth.Builtin{Name: m.Name()}
		for _, pt := range m.PATypes() {
			b.PATypes = append(b.PATypes, pt.Type)
		}
		got = append(got, b)
	}
	assert.Equal(t, preauth.Builtins(), got)
}
