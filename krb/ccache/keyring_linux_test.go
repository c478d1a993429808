package ccache

import (
	sys "golang.org/x/sys/unix"
)

// keyctlProbe checks that this process may use kernel keyrings.
func keyctlProbe() error {
	_, err := sys.KeyctlGetKeyringID(sys.KEY_SPEC_SESSION_KEYRING, false)
	return err
}

// destroyKeyringCollection unlinks a test's collection keyring.
func destroyKeyringCollection(anchor, coll string) {
	id, err := keyringCollection(anchor, coll)
	if err != nil {
		return
	}
	sys.KeyctlInt(sys.KEYCTL_CLEAR, id, 0, 0, 0)
	sys.KeyctlInt(sys.KEYCTL_UNLINK, id, sessionWriteAnchor(), 0, 0)
}
