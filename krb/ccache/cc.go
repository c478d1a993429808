//lint:file-ignore ST1005 the errors are MIT's com_err messages, verbatim, as MIT's tools print them

package ccache

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of the cache layer, MIT's com_err codes with MIT's messages, to
// test with errors.Is; returned errors wrap them with the cache's name.
var (
	// ErrUnknownType is MIT's KRB5_CC_UNKNOWN_TYPE: a name whose type is
	// not FILE, DIR, KEYRING, KCM or MEMORY (such as API or MSLSA, which
	// exist only on macOS and Windows).
	ErrUnknownType = errors.New("Unknown credential cache type")
	// ErrNotFound is MIT's KRB5_FCC_NOFILE: the cache does not exist or
	// holds no default principal yet.
	ErrNotFound = errors.New("No credentials cache found")
	// ErrNoMatch is MIT's KRB5_CC_NOTFOUND: no cache of the collection
	// is for the principal asked about (Collection.Match).
	ErrNoMatch = errors.New("Matching credential not found")
	// ErrBadName is MIT's KRB5_CC_BADNAME: a residual the type cannot use.
	ErrBadName = errors.New("Bad format in credentials cache")
	// ErrCannotCreate is MIT's KRB5_DCC_CANNOT_CREATE: a new cache was
	// asked of a collection that cannot make one.
	ErrCannotCreate = errors.New("Can't create new subsidiary cache")
	// ErrNoKCMServer is MIT's KRB5_KCM_NO_SERVER: nothing listens on the
	// KCM socket (or kcm_socket is "-").
	ErrNoKCMServer = errors.New("No KCM server found")
	// ErrKCMReply is MIT's KRB5_KCM_MALFORMED_REPLY.
	ErrKCMReply = errors.New("Malformed reply from KCM daemon")
	// ErrKeyring reports a kernel keyring call that failed (the error
	// also wraps the errno).
	ErrKeyring = errors.New("ccache: keyring")
)

// ErrUnsupportedType is the old name of ErrUnknownType.
//
// Deprecated: use ErrUnknownType.
var ErrUnsupportedType = ErrUnknownType

// Cache types, as MIT names them (krb5_cc_get_type).
const (
	TypeFile    = "FILE"
	TypeDir     = "DIR"
	TypeKeyring = "KEYRING"
	TypeKCM     = "KCM"
	TypeMemory  = "MEMORY"
)

// DefaultKCMSocket is MIT's and Heimdal's compiled-in KCM socket
// (DEFAULT_KCM_SOCKET_PATH), where sssd-kcm listens; krb5.conf's
// libdefaults kcm_socket overrides it.
const DefaultKCMSocket = "/var/run/.heim_org.h5l.kcm-socket"

// Option configures name resolution: the parts of MIT's krb5_context the
// cache layer reads.
type Option func(*options)

type options struct {
	kcmSocket string
}

// WithKCMSocket sets the KCM daemon's socket (krb5.conf libdefaults
// kcm_socket); "-" means no KCM daemon, as in MIT. "" keeps
// DefaultKCMSocket.
func WithKCMSocket(path string) Option {
	return func(o *options) {
		if path != "" {
			o.kcmSocket = path
		}
	}
}

func newOptions(opts []Option) *options {
	o := &options{kcmSocket: DefaultKCMSocket}
	for _, f := range opts {
		f(o)
	}
	return o
}

// backend is one cache type's storage for one cache.
type backend interface {
	// read returns the whole cache, or an error wrapping ErrNotFound.
	read() (*Cache, error)
	// principal returns the default principal, or ErrNotFound.
	principal() (Principal, error)
	// write replaces the cache's contents as one step: readers see the
	// old contents or the new, never a mixture.
	write(*Cache) error
	destroy() error
	// switchTo makes the cache the primary of its collection.
	switchTo() error
}

// CCache is one credential cache of any type (MIT's krb5_ccache): what
// Resolve returns for a name. Its contents move as a whole *Cache value:
// Read returns every entry, Write replaces them all at once, which is what
// kinit does (MIT's krb5_cc_initialize then krb5_cc_store_cred). A CCache
// is safe for use by several goroutines; several processes may write the
// same cache, the last write wins and every write is whole.
type CCache struct {
	typ      string
	residual string
	be       backend
}

// Type returns the cache type: FILE, DIR, KEYRING, KCM or MEMORY.
func (c *CCache) Type() string { return c.typ }

// Residual returns the name without its type, as MIT's krb5_cc_get_name:
// the path of a FILE cache, ":/dir/tkt" of a DIR member,
// "persistent:1000:krb_ccache_x" of a keyring cache, "1000" of a KCM cache.
func (c *CCache) Residual() string { return c.residual }

// Name returns "TYPE:residual" (MIT's krb5_cc_get_full_name), which
// Resolve resolves back to this cache.
func (c *CCache) Name() string { return c.typ + ":" + c.residual }

// String returns Name.
func (c *CCache) String() string { return c.Name() }

// Read returns the cache's contents. A cache that does not exist or has
// not been initialized is an error wrapping ErrNotFound.
func (c *CCache) Read() (*Cache, error) {
	cc, err := c.be.read()
	if err != nil {
		return nil, c.wrap(err)
	}
	return cc, nil
}

// Principal returns the cache's default principal (krb5_cc_get_principal),
// or an error wrapping ErrNotFound; for KCM and KEYRING it reads less than
// Read.
func (c *CCache) Principal() (Principal, error) {
	p, err := c.be.principal()
	if err != nil {
		return Principal{}, c.wrap(err)
	}
	return p, nil
}

// Write replaces the cache's contents with cc, creating the cache when it
// does not exist. Readers (ours and MIT's) see the old contents or the new,
// never a part: FILE and DIR write a new file and rename it, KEYRING links
// a complete new cache keyring in place of the old, KCM uses the daemon's
// atomic replace (MIT's KCM_OP_REPLACE) where it has one.
func (c *CCache) Write(cc *Cache) error {
	if err := c.be.write(cc); err != nil {
		return c.wrap(err)
	}
	return nil
}

// Destroy removes the cache (krb5_cc_destroy). A cache that does not exist
// is ErrNotFound.
func (c *CCache) Destroy() error {
	if err := c.be.destroy(); err != nil {
		return c.wrap(err)
	}
	return nil
}

// Switch makes c the primary cache of its collection (krb5_cc_switch):
// DIR writes the directory's primary file, KEYRING the collection's
// krb_ccache:primary key, KCM asks the daemon to set its default cache.
// For FILE and MEMORY, which have no collection, it does nothing, as MIT.
func (c *CCache) Switch() error {
	if err := c.be.switchTo(); err != nil {
		return c.wrap(err)
	}
	return nil
}

func (c *CCache) wrap(err error) error {
	var mf *mitFormatError
	if errors.As(err, &mf) || strings.Contains(err.Error(), strings.TrimPrefix(c.residual, ":")) {
		return err
	}
	return fmt.Errorf("%w (ccache %s)", err, c.Name())
}

// SupportsSwitch reports whether a cache type has collections with a
// switchable primary cache (MIT's krb5_cc_support_switch): DIR, KEYRING
// and KCM.
func SupportsSwitch(typ string) bool {
	switch typ {
	case TypeDir, TypeKeyring, TypeKCM:
		return true
	}
	return false
}

// SplitName splits a cache name as MIT's krb5_cc_resolve does: the type is
// everything before the first ':' (case-sensitive); a name without ':', or
// with a one-letter prefix such as C:, is a FILE path as a whole.
func SplitName(name string) (typ, residual string) {
	t, rest, found := strings.Cut(name, ":")
	if !found || (len(t) == 1 && isASCIILetter(t[0])) {
		return TypeFile, name
	}
	return t, rest
}

// Resolve returns the cache a name names (MIT's krb5_cc_resolve):
//
//	FILE:path, or a bare path       a FILE cache (path need not exist)
//	DIR:dir                         the primary cache of the collection in dir
//	DIR::dir/tktNAME                one cache of such a collection
//	KEYRING:anchor:coll[:sub]       a kernel keyring cache (see keyring docs)
//	KCM: or KCM:name                the KCM daemon's default cache, or name
//	MEMORY:name                     a cache in this process's memory
//
// Unknown types, API and MSLSA included, are ErrUnknownType. Resolving a
// collection name may create what MIT creates at that point: the directory
// and its primary file, the collection keyring.
func Resolve(name string, opts ...Option) (*CCache, error) {
	if name == "" {
		return nil, ErrNoName
	}
	o := newOptions(opts)
	typ, res := SplitName(name)
	switch typ {
	case TypeFile:
		if res == "" {
			return nil, fmt.Errorf("%w: %q has no path", ErrNoName, name)
		}
		return &CCache{typ: TypeFile, residual: res, be: fileBackend(res)}, nil
	case TypeDir:
		return resolveDir(res)
	case TypeKeyring:
		return resolveKeyring(res)
	case TypeKCM:
		return resolveKCM(res, o)
	case TypeMemory:
		return resolveMemory(res), nil
	}
	return nil, ErrUnknownType
}

// Collection is the set of caches MIT's cache-collection functions
// (krb5_cccol_*, krb5_cc_cache_match, krb5_cc_new_unique) see when the
// default cache name is DefaultName: the caches of a DIR directory, of a
// keyring collection, of the KCM daemon, or the one FILE cache.
type Collection struct {
	DefaultName string
	opts        []Option
}

// NewCollection returns the collection of defaultName (as from
// DefaultName).
func NewCollection(defaultName string, opts ...Option) *Collection {
	return &Collection{DefaultName: defaultName, opts: opts}
}

// Default resolves the default name: the collection's primary cache
// (krb5_cc_default).
func (c *Collection) Default() (*CCache, error) {
	return Resolve(c.DefaultName, c.opts...)
}

// SupportsSwitch reports whether the default name's type has a
// switchable primary (krb5_cc_support_switch).
func (c *Collection) SupportsSwitch() bool {
	typ, _ := SplitName(c.DefaultName)
	return SupportsSwitch(typ)
}

// List returns the caches of the collection, the primary first, as MIT's
// per-type cursors do (krb5_cccol_cursor_next): a DIR directory's tkt*
// files, a keyring collection's cache keyrings, the KCM daemon's caches,
// the FILE cache if it exists, every MEMORY cache of the process. Caches
// that exist but hold no principal are listed too; klist -l skips them.
func (c *Collection) List() ([]*CCache, error) {
	typ, res := SplitName(c.DefaultName)
	switch typ {
	case TypeFile:
		cc, err := c.Default()
		if err != nil {
			return nil, err
		}
		if fileExists(res) {
			return []*CCache{cc}, nil
		}
		return nil, nil
	case TypeDir:
		return listDir(res)
	case TypeKeyring:
		return listKeyring(res)
	case TypeKCM:
		return listKCM(res, newOptions(c.opts))
	case TypeMemory:
		return listMemory(), nil
	}
	return nil, ErrUnknownType
}

// Match returns the collection's cache whose default principal is p
// (krb5_cc_cache_match), or an error wrapping ErrNoMatch.
func (c *Collection) Match(p Principal) (*CCache, error) {
	list, err := c.List()
	if err != nil {
		return nil, err
	}
	for _, cc := range list {
		if q, err := cc.Principal(); err == nil && q.Equal(p) {
			return cc, nil
		}
	}
	return nil, fmt.Errorf("%w: no credential cache for %s", ErrNoMatch, p)
}

// NewUnique creates a new, empty cache in the collection
// (krb5_cc_new_unique with the default name's type): a tkt* file of the
// DIR directory, a krb_ccache_* keyring of the keyring collection, a cache
// the KCM daemon names, a MEMORY cache. Until written it holds no
// principal; Destroy removes it. A FILE default is ErrCannotCreate.
func (c *Collection) NewUnique() (*CCache, error) {
	typ, res := SplitName(c.DefaultName)
	switch typ {
	case TypeDir:
		return newUniqueDir(res)
	case TypeKeyring:
		return newUniqueKeyring(res)
	case TypeKCM:
		return newUniqueKCM(newOptions(c.opts))
	case TypeMemory:
		return newUniqueMemory(), nil
	case TypeFile:
		return nil, fmt.Errorf("%w: the default cache %s is not a collection", ErrCannotCreate, c.DefaultName)
	}
	return nil, ErrUnknownType
}

// mitError is an error with MIT's own message (as krb5_get_error_message
// gives it) that is one of this package's sentinels for errors.Is.
type mitError struct {
	msg  string
	kind error
}

func (e *mitError) Error() string { return e.msg }
func (e *mitError) Unwrap() error { return e.kind }

func mitErr(kind error, format string, args ...any) error {
	return &mitError{fmt.Sprintf(format, args...), kind}
}
