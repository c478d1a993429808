//lint:file-ignore ST1005 the keytab errors are MIT's com_err messages (KRB5_KT_*), verbatim

package krb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Keytabs are read by our own reader (not gokrb5's keytab.Unmarshal)
// because MIT's semantics demand it: MIT (kt_file.c,
// krb5_ktfileint_internal_read_entry) stops quietly at a truncated or
// zero-length entry and uses the entries before it, skips holes (negative
// lengths), reads the 32-bit kvno only when the record has room for it,
// and chooses among entries with krb5_kt_get_entry's wrap-around rule;
// gokrb5 fails the whole file on a truncated last entry and its error
// text embeds the file's bytes, key material included. Our errors never
// contain file contents.

// Errors of keytab reading, with MIT's messages (krb5_err.et). A
// *KeytabError wraps them with the keytab's name.
var (
	// ErrKeytabNotFound: the file does not exist (MIT's ENOENT with
	// "Key table file '...' not found"). It also matches fs.ErrNotExist.
	ErrKeytabNotFound = errors.New("Key table file not found")
	// ErrKeytabBadVersion: the file is shorter than its 2-byte version, or
	// the version is neither 0x0501 nor 0x0502 (KRB5_KEYTAB_BADVNO).
	ErrKeytabBadVersion = errors.New("Unsupported key table format version number")
	// ErrKeytabFormat: an entry length of -2^31 (KRB5_KT_FORMAT).
	ErrKeytabFormat = errors.New("Bad format in keytab")
	// ErrKeytabUnknownType: a keytab type other than FILE or WRFILE
	// (KRB5_KT_UNKNOWN_TYPE).
	ErrKeytabUnknownType = errors.New("Unknown Key table type")
	// ErrKeytabEntryNotFound: no entry for the principal (and enctype)
	// (KRB5_KT_NOTFOUND).
	ErrKeytabEntryNotFound = errors.New("Key table entry not found")
)

// KeytabError is an error reading a keytab: its name (without the
// "FILE:" prefix) and one of the ErrKeytab errors, or the operating
// system's error.
type KeytabError struct {
	Name string
	Err  error
}

func (e *KeytabError) Error() string {
	switch e.Err {
	case ErrKeytabNotFound:
		return fmt.Sprintf("Key table file '%s' not found", e.Name)
	case ErrKeytabBadVersion, ErrKeytabFormat:
		return e.Err.Error()
	case ErrKeytabUnknownType:
		return fmt.Sprintf("%s: %s", e.Err, e.Name)
	}
	var errno syscall.Errno
	if errors.As(e.Err, &errno) {
		// MIT's com_err prints the C library's strerror, capitalised
		// ("Is a directory", "Permission denied"); Go's text is the same
		// but for the first letter.
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return fmt.Sprintf("reading keytab %s: %s", e.Name, e.Err)
}

func (e *KeytabError) Unwrap() []error {
	if e.Err == ErrKeytabNotFound {
		return []error{e.Err, fs.ErrNotExist}
	}
	return []error{e.Err}
}

// keytabRecord is one entry as MIT reads it.
type keytabRecord struct {
	realm      string
	components []string
	nameType   int32
	timestamp  uint32
	kvno       uint32 // the 32-bit kvno when present and non-zero, else the 8-bit one
	enctype    int32
	key        []byte
}

// parseKeytab reads keytab file contents as MIT 1.20's FILE keytab does
// (krb5_ktfileint_open, krb5_ktfileint_internal_read_entry): the entries
// up to the end, a zero length or the first truncated entry.
func parseKeytab(b []byte) ([]keytabRecord, error) {
	if len(b) < 2 || b[0] != 5 || b[1] != 1 && b[1] != 2 {
		return nil, ErrKeytabBadVersion
	}
	var order binary.ByteOrder = binary.BigEndian
	if b[1] == 1 {
		order = binary.LittleEndian // version 1 is in the host's order; ours is little-endian as x86's and arm64's
	}
	v1 := b[1] == 1
	pos := 2
	u16 := func() (int16, bool) {
		if pos < 0 || pos+2 > len(b) {
			return 0, false
		}
		v := int16(order.Uint16(b[pos:]))
		pos += 2
		return v, true
	}
	u32 := func() (uint32, bool) {
		if pos < 0 || pos+4 > len(b) {
			return 0, false
		}
		v := order.Uint32(b[pos:])
		pos += 4
		return v, true
	}
	bytesN := func(n int) ([]byte, bool) {
		if pos < 0 || pos+n > len(b) {
			return nil, false
		}
		v := b[pos : pos+n]
		pos += n
		return v, true
	}
	var out []keytabRecord
	for {
		var size int32
		for {
			v, ok := u32()
			if !ok {
				return out, nil
			}
			size = int32(v)
			if size >= 0 {
				break
			}
			if size == math.MinInt32 {
				return nil, ErrKeytabFormat
			}
			pos += int(-size) // a hole left by a deleted entry
		}
		if size == 0 {
			return out, nil
		}
		start := pos
		rec, ok := func() (keytabRecord, bool) {
			var r keytabRecord
			count, ok := u16()
			if !ok {
				return r, false
			}
			if v1 {
				count--
			}
			if count <= 0 {
				return r, false
			}
			n, ok := u16()
			if !ok || n <= 0 {
				return r, false
			}
			realm, ok := bytesN(int(n))
			if !ok {
				return r, false
			}
			r.realm = string(realm)
			for i := 0; i < int(count); i++ {
				n, ok := u16()
				if !ok || n <= 0 {
					return r, false
				}
				c, ok := bytesN(int(n))
				if !ok {
					return r, false
				}
				r.components = append(r.components, string(c))
			}
			if !v1 {
				t, ok := u32()
				if !ok {
					return r, false
				}
				r.nameType = int32(t)
			}
			if r.timestamp, ok = u32(); !ok {
				return r, false
			}
			vno, ok := bytesN(1)
			if !ok {
				return r, false
			}
			r.kvno = uint32(vno[0])
			et, ok := u16()
			if !ok {
				return r, false
			}
			r.enctype = int32(et)
			kl, ok := u16()
			if !ok || kl <= 0 {
				return r, false
			}
			key, ok := bytesN(int(kl))
			if !ok {
				// MIT accepts a key cut short by the end of the file when
				// the record has no room for a 32-bit kvno, with the
				// missing bytes uninitialized; we end the keytab there.
				return r, false
			}
			r.key = slices.Clone(key)
			if pos-start+4 <= int(size) {
				v, ok := u32()
				if !ok {
					return r, false
				}
				if v != 0 {
					r.kvno = v
				}
			}
			return r, true
		}()
		if !ok {
			return out, nil // KRB5_KT_END: the entries before count
		}
		out = append(out, rec)
		pos = start + int(size)
	}
}

// readKeytabFile reads a keytab by MIT's name: "FILE:path", "WRFILE:path",
// a path, or a path with a drive letter (krb5_kt_resolve).
func readKeytabFile(name string) (path string, recs []keytabRecord, err error) {
	path = name
	if i := strings.IndexByte(name, ':'); i >= 0 {
		switch {
		case i == 1 && (name[0] >= 'a' && name[0] <= 'z' || name[0] >= 'A' && name[0] <= 'Z'), name[0] == '/':
		case name[:i] == "FILE" || name[:i] == "WRFILE":
			path = name[i+1:]
		default:
			return name, nil, &KeytabError{Name: name, Err: ErrKeytabUnknownType}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil, &KeytabError{Name: path, Err: ErrKeytabNotFound}
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the operating system's reason, the name is ours
		}
		return path, nil, &KeytabError{Name: path, Err: err}
	}
	recs, err = parseKeytab(b)
	if err != nil {
		return path, nil, &KeytabError{Name: path, Err: err}
	}
	return path, recs, nil
}

// LoadKeytab reads a keytab as MIT does (see parseKeytab). The name may
// carry MIT's "FILE:" or "WRFILE:" prefix; other types are
// ErrKeytabUnknownType. Errors are *KeytabError and never contain the
// file's contents. The entries come back in gokrb5's type, which
// WithKeytab takes, each with its kvno (the 32-bit one when present) in
// both KVNO and, truncated, KVNO8.
func LoadKeytab(name string) (*keytab.Keytab, error) {
	path, recs, err := readKeytabFile(name)
	if err != nil {
		return nil, err
	}
	// gokrb5's entries are of an unexported type: hand its parser a clean
	// version 2 file of the entries MIT would read.
	clean := []byte{5, 2}
	for _, r := range recs {
		var e []byte
		e = binary.BigEndian.AppendUint16(e, uint16(len(r.components)))
		e = binary.BigEndian.AppendUint16(e, uint16(len(r.realm)))
		e = append(e, r.realm...)
		for _, c := range r.components {
			e = binary.BigEndian.AppendUint16(e, uint16(len(c)))
			e = append(e, c...)
		}
		e = binary.BigEndian.AppendUint32(e, uint32(r.nameType))
		e = binary.BigEndian.AppendUint32(e, r.timestamp)
		e = append(e, byte(r.kvno))
		e = binary.BigEndian.AppendUint16(e, uint16(r.enctype))
		e = binary.BigEndian.AppendUint16(e, uint16(len(r.key)))
		e = append(e, r.key...)
		e = binary.BigEndian.AppendUint32(e, r.kvno)
		clean = binary.BigEndian.AppendUint32(clean, uint32(len(e)))
		clean = append(clean, e...)
	}
	kt := keytab.New()
	if len(recs) == 0 {
		// A keytab with no entries (all removed, or the only one cut
		// short) is valid, as MIT's klist -k shows it; the login then
		// says "Keytab contains no suitable keys". gokrb5's parser
		// refuses a file of only the version.
		return kt, nil
	}
	if err := kt.Unmarshal(clean); err != nil {
		// Not expected for a file we wrote; gokrb5's text may hold bytes.
		return nil, &KeytabError{Name: path, Err: ErrKeytabFormat}
	}
	return kt, nil
}

// ktEntry is the part of a keytab entry the choice looks at.
type ktEntry struct {
	timestamp uint32
	kvno      uint32
}

// moreRecent is MIT's more_recent (kt_file.c): a small kvno (< 128)
// written no earlier than a large one (> 240) is newer, the kvno having
// wrapped around; otherwise the larger kvno is newer. Timestamps compare
// as unsigned 32-bit numbers (ts_after).
func moreRecent(k1, k2 ktEntry) bool {
	if !(k2.timestamp > k1.timestamp) && k1.kvno < 128 && k2.kvno > 240 {
		return true
	}
	if !(k1.timestamp > k2.timestamp) && k1.kvno > 240 && k2.kvno < 128 {
		return false
	}
	return k1.kvno > k2.kvno
}

// keytabChoose is MIT's krb5_ktfile_get_entry with kvno 0 (IGNORE_VNO) for
// a principal and enctype (0 for any): the index of the newest matching
// entry by moreRecent, the first of equals; -1 if none matches.
func keytabChoose(n int, match func(i int) bool, entry func(i int) ktEntry) int {
	best := -1
	for i := 0; i < n; i++ {
		if !match(i) {
			continue
		}
		if best < 0 || moreRecent(entry(i), entry(best)) {
			best = i
		}
	}
	return best
}

func gokrb5Entry(kt *keytab.Keytab, i int) ktEntry {
	e := kt.Entries[i]
	kvno := e.KVNO
	if kvno == 0 {
		kvno = uint32(e.KVNO8)
	}
	return ktEntry{timestamp: uint32(e.Timestamp.Unix()), kvno: kvno}
}

// keytabKey returns the client's key of enctype etype as MIT's
// get_as_key_keytab does: krb5_kt_get_entry with kvno 0, so the newest
// kvno by MIT's wrap-around rule (kvno 1 written after kvno 255 is newer).
func (l *Login) keytabKey(etype int32) (types.EncryptionKey, error) {
	if l.o.keytabErr != nil {
		return types.EncryptionKey{}, l.o.keytabErr
	}
	kt := l.o.keytab
	i := keytabChoose(len(kt.Entries), func(i int) bool {
		e := kt.Entries[i]
		return e.Key.KeyType == etype && l.keytabEntryMatches(e.Principal.Realm, e.Principal.Components)
	}, func(i int) ktEntry { return gokrb5Entry(kt, i) })
	if i < 0 {
		return types.EncryptionKey{}, fmt.Errorf("%w: no %s key for %s", ErrNoKey, etypeName(etype), l.client)
	}
	return kt.Entries[i].Key, nil
}

// keytabEnctypes returns the enctypes of the client's entries with the
// highest kvno (compared as numbers), in keytab order, as MIT's
// lookup_etypes_for_keytab, which orders the request's enctypes.
func (l *Login) keytabEnctypes() []int32 {
	var out []int32
	var maxKVNO uint32
	for i, e := range l.o.keytab.Entries {
		if !l.keytabEntryMatches(e.Principal.Realm, e.Principal.Components) {
			continue
		}
		if _, ok := EnctypeName(e.Key.KeyType); !ok {
			continue // krb5_c_valid_enctype
		}
		kvno := gokrb5Entry(l.o.keytab, i).kvno
		if kvno < maxKVNO {
			continue
		}
		if kvno > maxKVNO {
			maxKVNO, out = kvno, nil
		}
		out = append(out, e.Key.KeyType)
	}
	return out
}

// keytabHas says whether the keytab holds a key of etype for the client
// at its highest kvno (MIT's lookup_etypes_for_keytab).
func (l *Login) keytabHas(etype int32) bool {
	return slices.Contains(l.keytabEnctypes(), etype)
}

func (l *Login) keytabEntryMatches(realm string, comps []string) bool {
	if realm != l.client.Realm || len(comps) != len(l.client.Name.NameString) {
		return false
	}
	for i, c := range comps {
		if c != l.client.Name.NameString[i] {
			return false
		}
	}
	return true
}

// DefaultClientKeytab returns the client keytab MIT's kinit -k uses without
// -t: KRB5_CLIENT_KTNAME, else default_client_keytab_name, else
// FILE:/etc/krb5/user/%{euid}/client.keytab expanded.
func DefaultClientKeytab(cfg *Config) string {
	if v := os.Getenv("KRB5_CLIENT_KTNAME"); v != "" {
		return v
	}
	if v, ok := cfg.Value("libdefaults", "default_client_keytab_name"); ok {
		return expandTokens(v)
	}
	return expandTokens("FILE:/etc/krb5/user/%{euid}/client.keytab")
}

// DefaultKeytab returns the default keytab (kinit -k for a host principal
// uses the client keytab first in MIT; this is default_keytab_name):
// KRB5_KTNAME, else default_keytab_name, else /etc/krb5.keytab.
func DefaultKeytab(cfg *Config) string {
	if v := os.Getenv("KRB5_KTNAME"); v != "" {
		return v
	}
	if v, ok := cfg.Value("libdefaults", "default_keytab_name"); ok {
		return expandTokens(v)
	}
	return "FILE:/etc/krb5.keytab"
}

// expandTokens expands MIT's path tokens %{uid}, %{euid} and %{TEMP}.
func expandTokens(s string) string {
	r := strings.NewReplacer(
		"%{uid}", fmt.Sprint(os.Getuid()),
		"%{euid}", fmt.Sprint(os.Geteuid()),
		"%{USERID}", fmt.Sprint(os.Geteuid()),
		"%{TEMP}", os.TempDir(),
	)
	return r.Replace(s)
}
