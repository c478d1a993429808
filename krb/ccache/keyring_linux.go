//lint:file-ignore ST1005 its errors are MIT's com_err messages (KRB5_KCC_*), verbatim

package ccache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sys "golang.org/x/sys/unix"
)

// KEYRING caches live in Linux kernel keyrings, in MIT's layout
// (cc_keyring.c), so that MIT's tools and ours share them:
//
//	anchor keyring (session, user, process, persistent:UID, legacy)
//	└─ collection keyring "_krb_COLL" (for persistent: "_krb" in the UID's persistent keyring)
//	   ├─ user key "krb_ccache:primary": version(32)=1, length(32), primary cache name
//	   └─ cache keyring "NAME" (the primary, or krb_ccache_XXXXXXXX)
//	      ├─ user key "__krb5_princ__": the default principal (FILE v4 encoding)
//	      ├─ user key "__krb5_time_offsets__": KDC offset seconds(32), microseconds(32)
//	      └─ one big_key (else user) key per credential, named by its server,
//	         holding the credential in the FILE v4 encoding
//
// A residual is anchor:collection:subsidiary (one cache), anchor:collection
// (the collection, resolving to its primary cache, created named after the
// collection when missing) or a bare collection name (the legacy anchor,
// the session keyring). Legacy caches are also linked from the session
// keyring, as for MIT's pre-collection code, and hold user keys only.
//
// A write builds a complete new cache keyring while it is linked only from
// this process's keyring, then links it into the collection, where the
// kernel replaces the old keyring of the same name in one step (keyctl
// KEYCTL_LINK displaces a same-named keyring): readers see the old cache or
// the new one. Keys get MIT's timeouts (a credential's at its end time, the
// cache keyring's at its latest).
//
// The thread anchor is refused: goroutines are not tied to OS threads, so a
// thread keyring would be a different one from call to call.

const (
	krccPrincKey      = "__krb5_princ__"
	krccOffsetsKey    = "__krb5_time_offsets__"
	krccPrimaryKey    = "krb_ccache:primary"
	krccCollPrefix    = "_krb_"
	krccPersistentKR  = "_krb"
	krccNamePrefix    = "krb_ccache_"
	krccUniqueDefault = "session:__krb5_unique__"
	krccCollVersion   = 1
)

var (
	// ErrKeyringAnchor is MIT's KRB5_KCC_INVALID_ANCHOR.
	ErrKeyringAnchor = errors.New("Invalid keyring anchor name")
	// ErrKeyringUID is MIT's KRB5_KCC_INVALID_UID.
	ErrKeyringUID = errors.New("Invalid UID in persistent keyring name")
	// ErrKeyringVersion is MIT's KRB5_KCC_UNKNOWN_VERSION.
	ErrKeyringVersion = errors.New("Unknown version number in keyring primary key")
)

// keyringWrite serializes this process's keyring writes: a write's new
// cache keyring is linked from the process keyring under the cache's name,
// where a second concurrent write of the same name would displace it.
var keyringWrite sync.Mutex

type keyringBackend struct {
	anchor, coll, sub string
}

// lockThread pins the goroutine to its OS thread for one cache operation.
// Linux keeps the process keyring in each thread's credentials, so a Go
// thread created before the process keyring existed has a process keyring
// of its own: possession through it (of a cache keyring being built, of a
// persistent or user collection linked there as MIT does) holds only on the
// thread that made the link.
func lockThread() { runtime.LockOSThread() }

func keyErr(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrKeyring, what, err)
}

func parseKeyringResidual(res string) (anchor, coll, sub string, hasSub bool) {
	a, rest, ok := strings.Cut(res, ":")
	if !ok {
		return "legacy", res, "", false
	}
	c, s, ok := strings.Cut(rest, ":")
	return a, c, s, ok
}

func resolveKeyring(res string) (*CCache, error) {
	lockThread()
	defer runtime.UnlockOSThread()
	anchor, coll, sub, hasSub := parseKeyringResidual(res)
	collID, err := keyringCollection(anchor, coll)
	if err != nil {
		return nil, err
	}
	if !hasSub {
		if sub, err = keyringPrimary(anchor, coll, collID); err != nil {
			return nil, err
		}
	}
	return keyringCache(anchor, coll, sub), nil
}

func keyringCache(anchor, coll, sub string) *CCache {
	return &CCache{typ: TypeKeyring, residual: anchor + ":" + coll + ":" + sub,
		be: &keyringBackend{anchor, coll, sub}}
}

// sessionWriteAnchor is MIT's session_write_anchor: write to the user
// session keyring when the session keyring is that one, so that keys land
// where other processes see them.
func sessionWriteAnchor() int {
	s, _ := sys.KeyctlGetKeyringID(sys.KEY_SPEC_SESSION_KEYRING, false)
	u, _ := sys.KeyctlGetKeyringID(sys.KEY_SPEC_USER_SESSION_KEYRING, false)
	if s == u {
		return sys.KEY_SPEC_USER_SESSION_KEYRING
	}
	return sys.KEY_SPEC_SESSION_KEYRING
}

// findOrCreateKeyring is MIT's find_or_create_keyring.
func findOrCreateKeyring(parent, possess int, name string) (int, error) {
	key, err := sys.KeyctlSearch(parent, "keyring", name, possess)
	if err == nil {
		return key, nil
	}
	if possess != 0 {
		key, err = sys.AddKey("keyring", name, nil, possess)
		if err != nil {
			return 0, keyErr("creating keyring "+name, err)
		}
		if _, err := sys.KeyctlInt(sys.KEYCTL_LINK, key, parent, 0, 0); err != nil {
			return 0, keyErr("linking keyring "+name, err)
		}
		return key, nil
	}
	key, err = sys.AddKey("keyring", name, nil, parent)
	if err != nil {
		return 0, keyErr("creating keyring "+name, err)
	}
	return key, nil
}

// keyringCollection finds or creates the collection keyring (MIT's
// get_collection).
func keyringCollection(anchor, coll string) (int, error) {
	var anchorID, possess int
	switch anchor {
	case "persistent":
		uid := os.Geteuid()
		if coll != "" {
			n, err := strconv.ParseInt(coll, 10, 32)
			if err != nil {
				return 0, ErrKeyringUID
			}
			uid = int(n)
		}
		p, err := sys.KeyctlInt(sys.KEYCTL_GET_PERSISTENT, uid, sys.KEY_SPEC_PROCESS_KEYRING, 0, 0)
		if errors.Is(err, syscall.EOPNOTSUPP) && uid == os.Geteuid() {
			p, err = sys.KEY_SPEC_USER_KEYRING, nil
		}
		if err != nil {
			return 0, ErrKeyringUID
		}
		return findOrCreateKeyring(p, sys.KEY_SPEC_PROCESS_KEYRING, krccPersistentKR)
	case "process":
		anchorID = sys.KEY_SPEC_PROCESS_KEYRING
	case "session", "legacy":
		anchorID = sessionWriteAnchor()
	case "user":
		anchorID, possess = sys.KEY_SPEC_USER_KEYRING, sys.KEY_SPEC_PROCESS_KEYRING
	default:
		return 0, ErrKeyringAnchor
	}
	return findOrCreateKeyring(anchorID, possess, krccCollPrefix+coll)
}

// keyringPrimary returns the collection's primary cache name, creating the
// primary key (named after the collection, "tkt" for an empty name) when
// missing and, for the legacy anchor, adopting a cache of that name linked
// from the session keyring (MIT's get_primary_name).
func keyringPrimary(anchor, coll string, collID int) (string, error) {
	key, err := sys.KeyctlSearch(collID, "user", krccPrimaryKey, 0)
	if err != nil {
		sub := coll
		if sub == "" {
			sub = "tkt"
		}
		if err := setKeyringPrimary(collID, sub); err != nil {
			return "", err
		}
		if anchor == "legacy" {
			if legacy, err := sys.KeyctlSearch(sys.KEY_SPEC_SESSION_KEYRING, "keyring", sub, 0); err == nil {
				if _, err := sys.KeyctlInt(sys.KEYCTL_LINK, legacy, collID, 0, 0); err != nil {
					return "", keyErr("linking legacy cache", err)
				}
			}
		}
		return sub, nil
	}
	b, err := readKey(key)
	if err != nil {
		return "", err
	}
	version, name, err := ParsePrimaryKey(b)
	if err != nil {
		return "", err
	}
	if version != krccCollVersion {
		return "", fmt.Errorf("%w: %d", ErrKeyringVersion, version)
	}
	return name, nil
}

func setKeyringPrimary(collID int, sub string) error {
	p := binary.BigEndian.AppendUint32(nil, krccCollVersion)
	p = binary.BigEndian.AppendUint32(p, uint32(len(sub)))
	p = append(p, sub...)
	if _, err := sys.AddKey("user", krccPrimaryKey, p, collID); err != nil {
		return keyErr("setting the primary cache", err)
	}
	return nil
}

// readKey returns a key's payload (for a keyring, its links as 32-bit
// serials in host byte order).
func readKey(id int) ([]byte, error) {
	buf := make([]byte, 512)
	for {
		n, err := sys.KeyctlBuffer(sys.KEYCTL_READ, id, buf, 0)
		if err != nil {
			return nil, err
		}
		if n <= len(buf) {
			return buf[:n], nil
		}
		buf = make([]byte, n)
	}
}

func keySerials(b []byte) []int {
	ids := make([]int, len(b)/4)
	for i := range ids {
		ids[i] = int(int32(binary.NativeEndian.Uint32(b[4*i:])))
	}
	return ids
}

// cacheID finds the cache keyring, or returns ErrNotFound.
func (k *keyringBackend) cacheID() (collID, cacheID int, err error) {
	collID, err = keyringCollection(k.anchor, k.coll)
	if err != nil {
		return 0, 0, err
	}
	cacheID, err = sys.KeyctlSearch(collID, "keyring", k.sub, 0)
	if err != nil {
		return collID, 0, k.notFound()
	}
	return collID, cacheID, nil
}

func (k *keyringBackend) notFound() error {
	return mitErr(ErrNotFound, "Credentials cache keyring '%s:%s:%s' not found", k.anchor, k.coll, k.sub)
}

func (k *keyringBackend) principal() (Principal, error) {
	lockThread()
	defer runtime.UnlockOSThread()
	_, cacheID, err := k.cacheID()
	if err != nil {
		return Principal{}, err
	}
	pk, err := sys.KeyctlSearch(cacheID, "user", krccPrincKey, 0)
	if err != nil {
		return Principal{}, k.notFound()
	}
	b, err := readKey(pk)
	if err != nil {
		return Principal{}, keyErr("reading the principal", err)
	}
	return ParsePrincipal(b)
}

// read reads the cache keyring. A write that replaces it meanwhile
// unlinks the old keyring, whose keys then vanish under the reader, so a
// read that lost a key or whose keyring is no longer the linked one starts
// again.
func (k *keyringBackend) read() (*Cache, error) {
	lockThread()
	defer runtime.UnlockOSThread()
	for range 20 {
		c, again, err := k.readKeys()
		if !again {
			return c, err
		}
	}
	return nil, fmt.Errorf("%w: cache %s:%s:%s kept changing while read", ErrKeyring, k.anchor, k.coll, k.sub)
}

func (k *keyringBackend) readKeys() (*Cache, bool, error) {
	collID, cacheID, err := k.cacheID()
	if err != nil {
		return nil, false, err
	}
	c, lost, err := k.readCache(cacheID)
	if err != nil || lost {
		return nil, lost, err
	}
	// A keyring unlinked while read makes its keys unreadable (EACCES once
	// not possessed, ENOKEY once collected): check it is still the cache.
	if now, err := sys.KeyctlSearch(collID, "keyring", k.sub, 0); err != nil || now != cacheID {
		return nil, true, nil
	}
	if c == nil {
		return nil, false, k.notFound()
	}
	return c, false, nil
}

func (k *keyringBackend) readCache(cacheID int) (*Cache, bool, error) {
	list, err := readKey(cacheID)
	if err != nil {
		return nil, true, nil // unlinked since the search
	}
	c := &Cache{Version: 4}
	havePrinc := false
	for _, id := range keySerials(list) {
		desc, err := sys.KeyctlString(sys.KEYCTL_DESCRIBE, id)
		if err != nil {
			return nil, true, nil // unlinked meanwhile
		}
		typ, name := describeKey(desc)
		b, err := readKey(id)
		if err != nil {
			if errors.Is(err, syscall.ENOKEY) || errors.Is(err, syscall.EKEYREVOKED) {
				return nil, true, nil
			}
			if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EKEYEXPIRED) {
				continue // as MIT, which skips keys it cannot read
			}
			return nil, false, keyErr("reading a key", err)
		}
		switch {
		case typ == "user" && name == krccPrincKey:
			if c.DefaultPrincipal, err = ParsePrincipal(b); err != nil {
				return nil, false, err
			}
			havePrinc = true
		case typ == "user" && name == krccOffsetsKey:
			if len(b) >= 8 {
				sec := int32(binary.BigEndian.Uint32(b))
				usec := int32(binary.BigEndian.Uint32(b[4:]))
				c.KDCOffset = time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond
				c.HasKDCOffset = true
			}
		case typ == "user" || typ == "big_key":
			cr, err := ParseCredential(b)
			if err != nil {
				return nil, false, err
			}
			c.Credentials = append(c.Credentials, cr)
		}
	}
	if !havePrinc {
		return nil, false, nil // not initialized, or unlinked meanwhile
	}
	return c, false, nil
}

// describeKey splits "type;uid;gid;perm;description".
func describeKey(desc string) (typ, name string) {
	typ, _, _ = strings.Cut(desc, ";")
	if i := strings.LastIndexByte(desc, ';'); i >= 0 {
		name = desc[i+1:]
	}
	return typ, name
}

func (k *keyringBackend) legacyName() bool {
	return k.anchor == "legacy" && k.coll == k.sub
}

func (k *keyringBackend) write(c *Cache) error {
	lockThread()
	defer runtime.UnlockOSThread()
	princ, err := MarshalPrincipal(c.DefaultPrincipal)
	if err != nil {
		return err
	}
	creds := make([][]byte, len(c.Credentials))
	for i := range c.Credentials {
		if creds[i], err = MarshalCredential(&c.Credentials[i]); err != nil {
			return err
		}
	}
	var offsets []byte
	if c.HasKDCOffset && !k.legacyName() {
		sec, usec, err := splitOffset(c.KDCOffset)
		if err != nil {
			return err
		}
		offsets = binary.BigEndian.AppendUint32(nil, uint32(sec))
		offsets = binary.BigEndian.AppendUint32(offsets, uint32(usec))
	}
	collID, err := keyringCollection(k.anchor, k.coll)
	if err != nil {
		return err
	}

	keyringWrite.Lock()
	defer keyringWrite.Unlock()
	newID, err := sys.AddKey("keyring", k.sub, nil, sys.KEY_SPEC_PROCESS_KEYRING)
	if err != nil {
		return keyErr("creating the cache keyring", err)
	}
	defer sys.KeyctlInt(sys.KEYCTL_UNLINK, newID, sys.KEY_SPEC_PROCESS_KEYRING, 0, 0)
	fail := func(what string, err error) error {
		sys.KeyctlInt(sys.KEYCTL_CLEAR, newID, 0, 0, 0)
		return keyErr(what, err)
	}
	if _, err := sys.AddKey("user", krccPrincKey, princ, newID); err != nil {
		return fail("storing the principal", err)
	}
	if offsets != nil {
		if _, err := sys.AddKey("user", krccOffsetsKey, offsets, newID); err != nil {
			return fail("storing the KDC offset", err)
		}
	}
	now := time.Now()
	var latest time.Time
	for i, b := range creds {
		cr := &c.Credentials[i]
		id, err := addCredKey(cr.Server.String(), b, newID, k.anchor == "legacy")
		if err != nil {
			return fail("storing a credential", err)
		}
		if cr.EndTime.After(now) {
			sys.KeyctlInt(sys.KEYCTL_SET_TIMEOUT, id, timeoutSecs(cr.EndTime.Sub(now)), 0, 0)
		}
		if cr.EndTime.After(latest) {
			latest = cr.EndTime
		}
	}
	if !latest.IsZero() {
		t := 1 // MIT: an expired cache gets one second, not 0 (no timeout)
		if latest.After(now) {
			t = timeoutSecs(latest.Sub(now))
		}
		sys.KeyctlInt(sys.KEYCTL_SET_TIMEOUT, newID, t, 0, 0)
	}
	// The step that publishes the cache: the link displaces the old
	// keyring of the same name.
	if _, err := sys.KeyctlInt(sys.KEYCTL_LINK, newID, collID, 0, 0); err != nil {
		return fail("linking the cache keyring", err)
	}
	if k.legacyName() {
		sys.KeyctlInt(sys.KEYCTL_LINK, newID, sessionWriteAnchor(), 0, 0)
	}
	return nil
}

func timeoutSecs(d time.Duration) int {
	s := int64(d / time.Second)
	return int(min(max(s, 1), 1<<31-1))
}

// addCredKey adds a credential key as MIT's add_cred_key: big_key, or user
// when the kernel has no big_key type (EINVAL, ENODEV); user only for
// legacy caches.
func addCredKey(name string, payload []byte, cacheID int, legacy bool) (int, error) {
	if !legacy {
		id, err := sys.AddKey("big_key", name, payload, cacheID)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENODEV) {
			return 0, err
		}
	}
	return sys.AddKey("user", name, payload, cacheID)
}

func (k *keyringBackend) destroy() error {
	lockThread()
	defer runtime.UnlockOSThread()
	collID, cacheID, err := k.cacheID()
	if err != nil {
		return err
	}
	sys.KeyctlInt(sys.KEYCTL_CLEAR, cacheID, 0, 0, 0)
	if _, err := sys.KeyctlInt(sys.KEYCTL_UNLINK, cacheID, collID, 0, 0); err != nil {
		return keyErr("unlinking the cache keyring", err)
	}
	if k.legacyName() {
		sys.KeyctlInt(sys.KEYCTL_UNLINK, cacheID, sessionWriteAnchor(), 0, 0)
	}
	return nil
}

func (k *keyringBackend) switchTo() error {
	lockThread()
	defer runtime.UnlockOSThread()
	collID, err := keyringCollection(k.anchor, k.coll)
	if err != nil {
		return err
	}
	return setKeyringPrimary(collID, k.sub)
}

// listKeyring yields the primary (or the named subsidiary) first, then the
// collection's other cache keyrings, as MIT's krcc_ptcursor_next.
func listKeyring(res string) ([]*CCache, error) {
	lockThread()
	defer runtime.UnlockOSThread()
	anchor, coll, sub, hasSub := parseKeyringResidual(res)
	collID, err := keyringCollection(anchor, coll)
	if err != nil {
		return nil, err
	}
	first := sub
	if !hasSub {
		if first, err = keyringPrimary(anchor, coll, collID); err != nil {
			return nil, err
		}
	}
	var out []*CCache
	if _, err := sys.KeyctlSearch(collID, "keyring", first, 0); err == nil {
		out = append(out, keyringCache(anchor, coll, first))
	}
	if hasSub {
		return out, nil
	}
	list, err := readKey(collID)
	if err != nil {
		return nil, keyErr("reading the collection keyring", err)
	}
	for _, id := range keySerials(list) {
		desc, err := sys.KeyctlString(sys.KEYCTL_DESCRIBE, id)
		if err != nil {
			continue
		}
		typ, name := describeKey(desc)
		if typ != "keyring" || name == first {
			continue
		}
		out = append(out, keyringCache(anchor, coll, name))
	}
	return out, nil
}

// newUniqueKeyring reserves a krb_ccache_XXXXXXXX keyring in the default
// collection (or session:__krb5_unique__), as MIT's krcc_generate_new.
func newUniqueKeyring(res string) (*CCache, error) {
	lockThread()
	defer runtime.UnlockOSThread()
	anchor, coll, _, hasSub := parseKeyringResidual(res)
	if hasSub {
		return nil, fmt.Errorf("%w because default cache is already a subsidiary", ErrCannotCreate)
	}
	collID, err := keyringCollection(anchor, coll)
	if err != nil {
		return nil, err
	}
	keyringWrite.Lock()
	defer keyringWrite.Unlock()
	for range 100 {
		name := krccNamePrefix + randomName(8)
		if _, err := sys.KeyctlSearch(collID, "keyring", name, 0); err == nil {
			continue
		}
		if _, err := sys.AddKey("keyring", name, nil, collID); err != nil {
			return nil, keyErr("creating a cache keyring", err)
		}
		return keyringCache(anchor, coll, name), nil
	}
	return nil, fmt.Errorf("%w: no unique keyring name", ErrBadName)
}
