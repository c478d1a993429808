//go:build !linux

package ccache

import "errors"

// Kernel keyrings exist on Linux only; elsewhere KEYRING is an unknown
// type, as in MIT built without keyutils.

var (
	ErrKeyringAnchor  = errors.New("Invalid keyring anchor name")
	ErrKeyringUID     = errors.New("Invalid UID in persistent keyring name")
	ErrKeyringVersion = errors.New("Unknown version number in keyring primary key")
)

func resolveKeyring(string) (*CCache, error)   { return nil, ErrUnknownType }
func listKeyring(string) ([]*CCache, error)    { return nil, ErrUnknownType }
func newUniqueKeyring(string) (*CCache, error) { return nil, ErrUnknownType }
