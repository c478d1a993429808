package ccache

import (
	"fmt"
	"os"
	"strings"
	"testing"

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

// TestKeyringAnchors writes a cache under each anchor MIT's tools share
// (legacy, user, persistent, session) and has MIT's klist read it; the
// process anchor is private to this process.
func TestKeyringAnchors(t *testing.T) {
	keyringUsable(t)
	pid := os.Getpid()
	uid := os.Geteuid()
	legacy := fmt.Sprintf("gokinit_legacy_%d", pid)
	user := fmt.Sprintf("gokinit_user_%d", pid)
	t.Cleanup(func() {
		destroyKeyringCollection("legacy", legacy)
		if id, err := keyringCollection("user", user); err == nil {
			sys.KeyctlInt(sys.KEYCTL_CLEAR, id, 0, 0, 0)
			sys.KeyctlInt(sys.KEYCTL_UNLINK, id, sys.KEY_SPEC_USER_KEYRING, 0, 0)
		}
	})
	for name, full := range map[string]string{
		"KEYRING:" + legacy:    "KEYRING:legacy:" + legacy + ":" + legacy,
		"KEYRING:user:" + user: "KEYRING:user:" + user + ":" + user,
		fmt.Sprintf("KEYRING:persistent:%d:gokinit_%d", uid, pid): fmt.Sprintf("KEYRING:persistent:%d:gokinit_%d", uid, pid),
		fmt.Sprintf("KEYRING:session:gokinit_s%d:tkt1", pid):      fmt.Sprintf("KEYRING:session:gokinit_s%d:tkt1", pid),
	} {
		cc, err := Resolve(name)
		noErr(t, err, name)
		eq(t, cc.Name(), full, name)
		noErr(t, cc.Write(principalCache(t, "alice")), name)
		out, err := mitTool(t, full, "", "klist")
		noErr(t, err, out)
		contains(t, out, "Ticket cache: "+full, "Default principal: alice@EXAMPLE.TEST")
		if strings.HasPrefix(full, "KEYRING:persistent:") || strings.HasPrefix(full, "KEYRING:session:") {
			noErr(t, cc.Destroy(), name) // shared collections: leave nothing behind
		}
	}
	t.Cleanup(func() { destroyKeyringCollection("session", fmt.Sprintf("gokinit_s%d", pid)) })

	// A legacy cache is also linked from the session keyring, for
	// pre-collection code, and holds user keys only.
	id, err := sys.KeyctlSearch(sys.KEY_SPEC_SESSION_KEYRING, "keyring", legacy, 0)
	noErr(t, err, "legacy cache in the session keyring")
	b, err := readKey(id)
	noErr(t, err)
	for _, k := range keySerials(b) {
		d, err := sys.KeyctlString(sys.KEYCTL_DESCRIBE, k)
		noErr(t, err)
		check(t, strings.HasPrefix(d, "user;"), "legacy key ", d)
	}

	// process: this process only.
	cc, err := Resolve("KEYRING:process:p")
	noErr(t, err)
	noErr(t, cc.Write(principalCache(t, "bob")))
	p, err := cc.Principal()
	noErr(t, err)
	eq(t, p.String(), "bob@EXAMPLE.TEST")

	for name, want := range map[string]error{
		"KEYRING:bogus:x":        ErrKeyringAnchor,
		"KEYRING:thread:x":       ErrKeyringAnchor,
		"KEYRING:persistent:abc": ErrKeyringUID,
	} {
		_, err := Resolve(name)
		isErr(t, err, want, name)
	}
}
