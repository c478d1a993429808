package ccache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"sync"
	"syscall"
	"time"
)

// KCM caches are kept by a daemon (sssd-kcm, Heimdal's kcm) that clients
// reach over a Unix socket with Heimdal's KCM protocol, as MIT's cc_kcm.c
// speaks it:
//
//	request  ::= length(32) 2(8) 0(8) opcode(16) arguments
//	reply    ::= length(32) transport-status(32) status(32) results   (length counts status and results)
//	name     ::= bytes 0x00
//	uuid     ::= 16 bytes
//
// with principals and credentials in the FILE version 4 encoding. The
// opcodes used are MIT's: GEN_NEW, INITIALIZE, DESTROY, STORE,
// GET_PRINCIPAL, GET_CRED_UUID_LIST, GET_CRED_BY_UUID, GET_CACHE_UUID_LIST,
// GET_CACHE_BY_UUID, GET_DEFAULT_CACHE, SET_DEFAULT_CACHE, GET_KDC_OFFSET,
// SET_KDC_OFFSET, and MIT's extensions GET_CRED_LIST and REPLACE. A write
// is one REPLACE (the daemon swaps the whole cache at once); with a daemon
// that does not know REPLACE (it answers KRB5_CC_NOSUPP, or
// KRB5_FCC_INTERNAL as sssd 2.8 does, or closes the connection) it falls
// back to INITIALIZE and one STORE per credential, as MIT's own writes do:
// then a reader may see a cache half written, and two processes writing the
// same cache at once may interleave (writers in one process are
// serialized). Debian 12's sssd-kcm (2.8) has GET_CRED_LIST but not
// REPLACE.
// Statuses are MIT com_err codes; KCMError carries them.

// KCM opcodes (MIT's kcm.h).
const (
	kcmOpGenNew           = 3
	kcmOpInitialize       = 4
	kcmOpDestroy          = 5
	kcmOpStore            = 6
	kcmOpGetPrincipal     = 8
	kcmOpGetCredUUIDList  = 9
	kcmOpGetCredByUUID    = 10
	kcmOpGetCacheUUIDList = 18
	kcmOpGetCacheByUUID   = 19
	kcmOpGetDefaultCache  = 20
	kcmOpSetDefaultCache  = 21
	kcmOpGetKDCOffset     = 22
	kcmOpSetKDCOffset     = 23
	kcmOpGetCredList      = 13001
	kcmOpReplace          = 13002

	kcmUUIDLen      = 16
	kcmMaxReply     = 10 << 20 // MIT's MAX_REPLY_SIZE
	kcmCallDeadline = 30 * time.Second
)

// MIT com_err codes a KCM daemon answers with.
const (
	codeFCCNoFile   int32 = -1765328189 // KRB5_FCC_NOFILE
	codeCCNotFound  int32 = -1765328243 // KRB5_CC_NOTFOUND
	codeCCEnd       int32 = -1765328242 // KRB5_CC_END
	codeCCNoSupp    int32 = -1765328137 // KRB5_CC_NOSUPP
	codeFCCInternal int32 = -1765328188 // KRB5_FCC_INTERNAL
	codeCCIO        int32 = -1765328183 // KRB5_CC_IO
	codeCCNoMem     int32 = -1765328186 // KRB5_CC_NOMEM
	codeCCWrite     int32 = -1765328184 // KRB5_CC_WRITE
	codeCCFormat    int32 = -1765328185 // KRB5_CC_FORMAT
	codeKCMNoServer int32 = -1750600186 // KRB5_KCM_NO_SERVER
)

// KCMError is a nonzero status from the KCM daemon: an MIT com_err code.
// errors.Is(err, ErrNotFound) holds for KRB5_FCC_NOFILE and
// KRB5_CC_NOTFOUND.
type KCMError struct {
	Op   int   // the request's opcode
	Code int32 // the status
}

func (e *KCMError) Error() string {
	msg := map[int32]string{
		codeFCCNoFile:   "No credentials cache found",
		codeCCNotFound:  "Matching credential not found",
		codeCCEnd:       "End of credential cache reached",
		codeCCNoSupp:    "Credential cache function not supported",
		codeFCCInternal: "Internal credentials cache error",
		codeCCIO:        "Credentials cache I/O operation failed XXX",
		codeCCNoMem:     "No more memory to allocate (in credentials cache code)",
		codeCCWrite:     "Error writing to credentials cache",
		codeCCFormat:    "Bad format in credentials cache",
	}[e.Code]
	if msg == "" {
		msg = fmt.Sprintf("KCM status %d", e.Code)
	}
	return msg
}

// Is makes errors.Is(err, ErrNotFound) hold for a missing cache.
func (e *KCMError) Is(target error) bool {
	return target == ErrNotFound && (e.Code == codeFCCNoFile || e.Code == codeCCNotFound)
}

// errKCMUnsupported reports an opcode the daemon does not implement.
var errKCMUnsupported = errors.New("ccache: KCM daemon does not implement the operation")

type kcmConn struct {
	c net.Conn
}

func dialKCM(sock string) (*kcmConn, error) {
	if sock == "-" {
		return nil, ErrNoKCMServer
	}
	c, err := net.DialTimeout("unix", sock, kcmCallDeadline)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOENT) {
			return nil, ErrNoKCMServer
		}
		return nil, fmt.Errorf("ccache: KCM socket %s: %w", sock, err)
	}
	return &kcmConn{c}, nil
}

func (k *kcmConn) Close() error { return k.c.Close() }

// call sends one request and returns the results of a zero status.
func (k *kcmConn) call(op int, args ...[]byte) ([]byte, error) {
	n := 4
	for _, a := range args {
		n += len(a)
	}
	req := make([]byte, 0, 4+n)
	req = binary.BigEndian.AppendUint32(req, uint32(n))
	req = append(req, 2, 0, byte(op>>8), byte(op))
	for _, a := range args {
		req = append(req, a...)
	}
	k.c.SetDeadline(time.Now().Add(kcmCallDeadline))
	if _, err := k.c.Write(req); err != nil {
		return nil, fmt.Errorf("ccache: KCM: %w", err)
	}
	var hdr [8]byte
	if _, err := io.ReadFull(k.c, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			// sssd drops the connection on an opcode it does not know.
			return nil, errKCMUnsupported
		}
		return nil, fmt.Errorf("ccache: KCM: %w", err)
	}
	length := binary.BigEndian.Uint32(hdr[:])
	if length > kcmMaxReply {
		return nil, fmt.Errorf("%w: reply of %d bytes", ErrKCMReply, length)
	}
	if code := int32(binary.BigEndian.Uint32(hdr[4:])); code != 0 {
		return nil, kcmStatus(op, code)
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(k.c, body); err != nil {
		return nil, fmt.Errorf("ccache: KCM: %w", err)
	}
	return parseKCMReply(op, body)
}

// parseKCMReply checks a reply body's status.
func parseKCMReply(op int, body []byte) ([]byte, error) {
	if len(body) < 4 {
		return nil, fmt.Errorf("%w: reply of %d bytes has no status", ErrKCMReply, len(body))
	}
	if code := int32(binary.BigEndian.Uint32(body)); code != 0 {
		return nil, kcmStatus(op, code)
	}
	return body[4:], nil
}

func kcmStatus(op int, code int32) error {
	// sssd 2.8 and Heimdal's kcm answer an opcode they have no handler for
	// with KRB5_FCC_INTERNAL; MIT's extensions are the ones they may lack.
	if code == codeCCNoSupp || code == codeFCCInternal && op >= kcmOpGetCredList {
		return errKCMUnsupported
	}
	return &KCMError{Op: op, Code: code}
}

// parseKCMName reads a NUL-terminated name (MIT's kcmreq_get_name).
func parseKCMName(b []byte) (string, error) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), nil
		}
	}
	return "", fmt.Errorf("%w: name without terminating NUL", ErrKCMReply)
}

// parseKCMUUIDs splits a UUID list (MIT's kcmreq_get_uuid_list).
func parseKCMUUIDs(b []byte) ([][]byte, error) {
	if len(b)%kcmUUIDLen != 0 {
		return nil, fmt.Errorf("%w: UUID list of %d bytes", ErrKCMReply, len(b))
	}
	var out [][]byte
	for i := 0; i < len(b); i += kcmUUIDLen {
		out = append(out, b[i:i+kcmUUIDLen])
	}
	return out, nil
}

// parseKCMCredList decodes GET_CRED_LIST's results: count(32), then count
// times length(32) and a credential.
func parseKCMCredList(b []byte) ([]Credential, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: credential list of %d bytes", ErrKCMReply, len(b))
	}
	count := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(count) > uint64(len(b)/4) {
		return nil, fmt.Errorf("%w: %d credentials in %d bytes", ErrKCMReply, count, len(b))
	}
	out := make([]Credential, 0, count)
	for range count {
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: truncated credential list", ErrKCMReply)
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: credential of %d bytes in %d", ErrKCMReply, n, len(b))
		}
		cr, err := ParseCredential(b[:n])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKCMReply, err)
		}
		out = append(out, cr)
		b = b[n:]
	}
	return out, nil
}

func nameArg(name string) []byte { return append([]byte(name), 0) }

var (
	// kcmNoReplace remembers the sockets whose daemon lacks REPLACE.
	kcmNoReplace sync.Map
	// kcmWrite serializes this process's INITIALIZE+STORE writes.
	kcmWrite sync.Mutex
)

func noReplace(sock string) bool {
	_, ok := kcmNoReplace.Load(sock)
	return ok
}

type kcmBackend struct {
	sock, name string
}

func kcmCache(sock, name string) *CCache {
	return &CCache{typ: TypeKCM, residual: name, be: &kcmBackend{sock, name}}
}

// resolveKCM connects to the daemon first, as MIT's kcm_resolve does, so a
// name of a KCM cache with no daemon fails here ("No KCM server found"),
// before any login, and not when the credentials are stored.
func resolveKCM(res string, o *options) (*CCache, error) {
	c, err := dialKCM(o.kcmSocket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if res != "" {
		return kcmCache(o.kcmSocket, res), nil
	}
	b, err := c.call(kcmOpGetDefaultCache)
	if err != nil {
		return nil, err
	}
	name, err := parseKCMName(b)
	if err != nil {
		return nil, err
	}
	return kcmCache(o.kcmSocket, name), nil
}

func (k *kcmBackend) notFound() error {
	return mitErr(ErrNotFound, "Credentials cache 'KCM:%s' not found", k.name)
}

func (k *kcmBackend) getPrincipal(c *kcmConn) (Principal, error) {
	b, err := c.call(kcmOpGetPrincipal, nameArg(k.name))
	if errors.Is(err, ErrNotFound) || err == nil && len(b) == 0 {
		return Principal{}, k.notFound() // Heimdal answers 0 and no principal
	}
	if err != nil {
		return Principal{}, err
	}
	p, err := ParsePrincipal(b)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrKCMReply, err)
	}
	return p, nil
}

func (k *kcmBackend) principal() (Principal, error) {
	c, err := dialKCM(k.sock)
	if err != nil {
		return Principal{}, err
	}
	defer c.Close()
	return k.getPrincipal(c)
}

func (k *kcmBackend) read() (*Cache, error) {
	c, err := dialKCM(k.sock)
	if err != nil {
		return nil, err
	}
	defer func() { c.Close() }()
	p, err := k.getPrincipal(c)
	if err != nil {
		return nil, err
	}
	cc := &Cache{Version: 4, DefaultPrincipal: p}
	if b, err := c.call(kcmOpGetKDCOffset, nameArg(k.name)); err == nil && len(b) >= 4 {
		if off := int32(binary.BigEndian.Uint32(b)); off != 0 {
			cc.KDCOffset, cc.HasKDCOffset = time.Duration(off)*time.Second, true
		}
	}
	b, err := c.call(kcmOpGetCredList, nameArg(k.name))
	if err == nil {
		if cc.Credentials, err = parseKCMCredList(b); err != nil {
			return nil, err
		}
		return cc, nil
	}
	if !errors.Is(err, errKCMUnsupported) {
		return nil, err
	}
	// A daemon without GET_CRED_LIST: one request per credential, on a new
	// connection since sssd closed this one.
	c.Close()
	if c, err = dialKCM(k.sock); err != nil {
		return nil, err
	}
	b, err = c.call(kcmOpGetCredUUIDList, nameArg(k.name))
	if err != nil {
		return nil, err
	}
	uuids, err := parseKCMUUIDs(b)
	if err != nil {
		return nil, err
	}
	for _, u := range uuids {
		b, err := c.call(kcmOpGetCredByUUID, nameArg(k.name), u)
		if err != nil {
			return nil, err
		}
		cr, err := ParseCredential(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKCMReply, err)
		}
		cc.Credentials = append(cc.Credentials, cr)
	}
	return cc, nil
}

func (k *kcmBackend) write(cc *Cache) error {
	princ, err := MarshalPrincipal(cc.DefaultPrincipal)
	if err != nil {
		return err
	}
	creds := make([][]byte, len(cc.Credentials))
	for i := range cc.Credentials {
		if creds[i], err = MarshalCredential(&cc.Credentials[i]); err != nil {
			return err
		}
	}
	var offset int32
	if cc.HasKDCOffset {
		offset = int32(max(min(cc.KDCOffset/time.Second, 1<<31-1), -1<<31))
	}
	c, err := dialKCM(k.sock)
	if err != nil {
		return err
	}
	defer func() { c.Close() }()
	args := [][]byte{nameArg(k.name), binary.BigEndian.AppendUint32(nil, uint32(offset)), princ,
		binary.BigEndian.AppendUint32(nil, uint32(len(creds)))}
	for _, b := range creds {
		args = append(args, binary.BigEndian.AppendUint32(nil, uint32(len(b))), b)
	}
	if !noReplace(k.sock) {
		_, err = c.call(kcmOpReplace, args...)
		if !errors.Is(err, errKCMUnsupported) {
			return err
		}
		kcmNoReplace.Store(k.sock, true)
	}
	// INITIALIZE and STORE, as MIT does without REPLACE: serialized within
	// this process so that its own writers do not interleave.
	kcmWrite.Lock()
	defer kcmWrite.Unlock()
	c.Close()
	if c, err = dialKCM(k.sock); err != nil {
		return err
	}
	if _, err := c.call(kcmOpInitialize, nameArg(k.name), princ); err != nil {
		return err
	}
	for _, b := range creds {
		if _, err := c.call(kcmOpStore, nameArg(k.name), b); err != nil {
			return err
		}
	}
	// Always set the offset, zero when there is none: Heimdal 7.8's kcm
	// does not clear it on INITIALIZE, so a cache written without one read
	// back another cache's stale offset (years off, seen in
	// TestKinitCollections/KCM-heimdal as "Clock skew too great").
	c.call(kcmOpSetKDCOffset, nameArg(k.name), binary.BigEndian.AppendUint32(nil, uint32(offset)))
	return nil
}

func (k *kcmBackend) simple(op int) error {
	c, err := dialKCM(k.sock)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.call(op, nameArg(k.name))
	if errors.Is(err, ErrNotFound) {
		return k.notFound()
	}
	return err
}

func (k *kcmBackend) destroy() error  { return k.simple(kcmOpDestroy) }
func (k *kcmBackend) switchTo() error { return k.simple(kcmOpSetDefaultCache) }

// listKCM yields the daemon's default cache first when it is initialized,
// then its other caches, as MIT's kcm_ptcursor_next; "KCM:name" lists only
// name.
func listKCM(res string, o *options) ([]*CCache, error) {
	c, err := dialKCM(o.kcmSocket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	exists := func(name string) bool {
		_, err := c.call(kcmOpGetPrincipal, nameArg(name))
		return err == nil
	}
	if res != "" {
		if exists(res) {
			return []*CCache{kcmCache(o.kcmSocket, res)}, nil
		}
		return nil, nil
	}
	b, err := c.call(kcmOpGetCacheUUIDList)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	uuids, err := parseKCMUUIDs(b)
	if err != nil {
		return nil, err
	}
	b, err = c.call(kcmOpGetDefaultCache)
	if err != nil {
		return nil, err
	}
	primary, err := parseKCMName(b)
	if err != nil {
		return nil, err
	}
	var out []*CCache
	if exists(primary) {
		out = append(out, kcmCache(o.kcmSocket, primary))
	}
	for _, u := range uuids {
		b, err := c.call(kcmOpGetCacheByUUID, u)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if ke := (*KCMError)(nil); errors.As(err, &ke) && ke.Code == codeCCEnd {
			continue
		}
		if err != nil {
			return nil, err
		}
		name, err := parseKCMName(b)
		if err != nil {
			return nil, err
		}
		if name != primary {
			out = append(out, kcmCache(o.kcmSocket, name))
		}
	}
	return out, nil
}

// newUniqueKCM asks the daemon for a new cache name (KCM_OP_GEN_NEW).
func newUniqueKCM(o *options) (*CCache, error) {
	c, err := dialKCM(o.kcmSocket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	b, err := c.call(kcmOpGenNew)
	if err != nil {
		return nil, err
	}
	name, err := parseKCMName(b)
	if err != nil {
		return nil, err
	}
	return kcmCache(o.kcmSocket, name), nil
}
