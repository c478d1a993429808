package krb

import (
	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/preauth/encchal"
	"github.com/gokinit/gokinit/preauth/encts"
)

// builtinMechanisms are the mechanisms every login may use, before those
// added with preauth.Register. The engine lists them so that users need no
// blank imports. Each further built-in mechanism adds itself from its own
// builtin_NAME.go file in this package.
var builtinMechanisms = []preauth.Mechanism{encts.Mechanism, encchal.Mechanism}
