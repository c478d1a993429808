package krb

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ktRec is a keytab entry to write in tests.
type ktRec struct {
	comps []string
	realm string
	ts    uint32
	kvno8 byte
	kvno  uint32 // the 32-bit field; 0 writes zeros, noKVNO32 leaves it out
	et    int16
	key   []byte
}

const noKVNO32 = ^uint32(0)

// ktBytes encodes records in version v (1: little-endian, 2: big-endian).
func ktBytes(v byte, recs ...ktRec) []byte {
	var o binary.AppendByteOrder = binary.BigEndian
	if v == 1 {
		o = binary.LittleEndian
	}
	out := []byte{5, v}
	for _, r := range recs {
		var e []byte
		n := len(r.comps)
		if v == 1 {
			n++
		}
		e = o.AppendUint16(e, uint16(n))
		e = o.AppendUint16(e, uint16(len(r.realm)))
		e = append(e, r.realm...)
		for _, c := range r.comps {
			e = o.AppendUint16(e, uint16(len(c)))
			e = append(e, c...)
		}
		if v == 2 {
			e = o.AppendUint32(e, 1)
		}
		e = o.AppendUint32(e, r.ts)
		e = append(e, r.kvno8)
		e = o.AppendUint16(e, uint16(r.et))
		e = o.AppendUint16(e, uint16(len(r.key)))
		e = append(e, r.key...)
		if r.kvno != noKVNO32 {
			e = o.AppendUint32(e, r.kvno)
		}
		out = o.AppendUint32(out, uint32(len(e)))
		out = append(out, e...)
	}
	return out
}

func key(n byte, l int) []byte { return bytes.Repeat([]byte{n}, l) }

// keytabCases are keytabs and the principal and enctype asked for.
func keytabCases() map[string]struct {
	b     []byte
	princ string
	et    int32
} {
	p := []string{"alice"}
	const R = "EX.TEST"
	type c = struct {
		b     []byte
		princ string
		et    int32
	}
	wrap := ktBytes(2,
		ktRec{p, R, 1000, 255, 255, 18, key(1, 32)},
		ktRec{p, R, 2000, 1, 1, 18, key(2, 32)})
	full := ktBytes(2, ktRec{p, R, 1000, 3, 3, 18, key(3, 32)}, ktRec{p, R, 1000, 4, 4, 18, key(4, 32)})
	m := map[string]c{
		"wrap-255-then-1":          {wrap, "alice@EX.TEST", 18},
		"wrap-any-enctype":         {wrap, "alice@EX.TEST", 0},
		"wrap-1-written-earlier":   {ktBytes(2, ktRec{p, R, 3000, 255, 255, 18, key(1, 32)}, ktRec{p, R, 2000, 1, 1, 18, key(2, 32)}), "alice@EX.TEST", 18},
		"wrap-same-time":           {ktBytes(2, ktRec{p, R, 2000, 1, 1, 18, key(2, 32)}, ktRec{p, R, 2000, 250, 250, 18, key(1, 32)}), "alice@EX.TEST", 18},
		"wrap-not-far-enough":      {ktBytes(2, ktRec{p, R, 1000, 200, 200, 18, key(1, 32)}, ktRec{p, R, 2000, 1, 1, 18, key(2, 32)}), "alice@EX.TEST", 18},
		"kvno32":                   {ktBytes(2, ktRec{p, R, 1000, 0, 300, 18, key(1, 32)}, ktRec{p, R, 1000, 44, 44, 18, key(2, 32)}), "alice@EX.TEST", 18},
		"kvno32-zero-fill":         {ktBytes(2, ktRec{p, R, 1000, 7, 0, 18, key(1, 32)}, ktRec{p, R, 1000, 6, 6, 18, key(2, 32)}), "alice@EX.TEST", 18},
		"kvno8-only":               {ktBytes(2, ktRec{p, R, 1000, 7, noKVNO32, 18, key(1, 32)}, ktRec{p, R, 1000, 9, noKVNO32, 18, key(2, 32)}), "alice@EX.TEST", 18},
		"kvno-0-entry":             {ktBytes(2, ktRec{p, R, 1000, 0, noKVNO32, 18, key(1, 32)}, ktRec{p, R, 1000, 5, 5, 18, key(2, 32)}), "alice@EX.TEST", 18},
		"enctype-choice":           {ktBytes(2, ktRec{p, R, 1000, 2, 2, 17, key(1, 16)}, ktRec{p, R, 1000, 2, 2, 18, key(2, 32)}, ktRec{p, R, 1000, 2, 2, 20, key(3, 32)}), "alice@EX.TEST", 20},
		"enctype-any-first-equal":  {ktBytes(2, ktRec{p, R, 1000, 2, 2, 17, key(1, 16)}, ktRec{p, R, 1000, 2, 2, 18, key(2, 32)}), "alice@EX.TEST", 0},
		"enctype-missing":          {ktBytes(2, ktRec{p, R, 1000, 2, 2, 17, key(1, 16)}), "alice@EX.TEST", 18},
		"other-principal":          {ktBytes(2, ktRec{[]string{"bob"}, R, 1000, 2, 2, 18, key(1, 32)}, ktRec{p, "OTHER.TEST", 1000, 3, 3, 18, key(2, 32)}), "alice@EX.TEST", 18},
		"two-components":           {ktBytes(2, ktRec{[]string{"host", "a.ex.test"}, R, 1000, 2, 2, 18, key(1, 32)}, ktRec{p, R, 1000, 3, 3, 18, key(2, 32)}), "host/a.ex.test@EX.TEST", 18},
		"version-1":                {ktBytes(1, ktRec{p, R, 1000, 2, noKVNO32, 18, key(1, 32)}, ktRec{p, R, 1000, 3, 3, 18, key(2, 32)}), "alice@EX.TEST", 18},
		"truncated-last-entry":     {full[:len(full)-10], "alice@EX.TEST", 18},
		"truncated-in-size":        {full[:len(full)-len(full)/2+2], "alice@EX.TEST", 18},
		"truncated-after-version":  {[]byte{5, 2, 0, 0}, "alice@EX.TEST", 18},
		"only-version":             {[]byte{5, 2}, "alice@EX.TEST", 18},
		"zero-length-ends":         {append(append(ktBytes(2, ktRec{p, R, 1000, 2, 2, 18, key(1, 32)}), 0, 0, 0, 0), ktBytes(2, ktRec{p, R, 1000, 9, 9, 18, key(2, 32)})[2:]...), "alice@EX.TEST", 18},
		"hole":                     {append(append(ktBytes(2, ktRec{p, R, 1000, 2, 2, 18, key(1, 32)}), 0xff, 0xff, 0xff, 0xf0), append(make([]byte, 16), ktBytes(2, ktRec{p, R, 1000, 9, 9, 18, key(2, 32)})[2:]...)...), "alice@EX.TEST", 18},
		"hole-min-int32":           {append(ktBytes(2, ktRec{p, R, 1000, 2, 2, 18, key(1, 32)}), 0x80, 0, 0, 0), "alice@EX.TEST", 18},
		"bad-version":              {[]byte{5, 3, 0, 0, 0, 0}, "alice@EX.TEST", 18},
		"bad-first-byte":           {[]byte{6, 2, 0, 0, 0, 0}, "alice@EX.TEST", 18},
		"empty-file":               {nil, "alice@EX.TEST", 18},
		"one-byte":                 {[]byte{5}, "alice@EX.TEST", 18},
		"zero-components-ends":     {append(ktBytes(2, ktRec{p, R, 1000, 2, 2, 18, key(1, 32)}), 0, 0, 0, 4, 0, 0, 0, 0), "alice@EX.TEST", 18},
		"negative-enctype":         {ktBytes(2, ktRec{p, R, 1000, 2, 2, -128, key(1, 16)}, ktRec{p, R, 1000, 2, 2, 18, key(2, 32)}), "alice@EX.TEST", 0},
		"size-shorter-than-fields": {shortSize(ktBytes(2, ktRec{p, R, 1000, 2, 2, 18, key(1, 32)}, ktRec{p, R, 1000, 3, 3, 18, key(2, 32)})), "alice@EX.TEST", 18},
	}
	return m
}

// shortSize makes the first record's length 4 less than its fields, so
// that the 32-bit kvno is not read and the next record starts inside it.
func shortSize(b []byte) []byte {
	b = bytes.Clone(b)
	n := binary.BigEndian.Uint32(b[2:])
	binary.BigEndian.PutUint32(b[2:], n-4)
	return b
}

// ourKTEntry prints what our reader and chooser give in mitdump's format.
func ourKTEntry(path, princ string, et int32) string {
	_, recs, err := readKeytabFile("FILE:" + path)
	if err != nil {
		return "KTERR\t" + err.Error()
	}
	name, realm, _ := strings.Cut(princ, "@")
	comps := strings.Split(name, "/")
	i := keytabChoose(len(recs), func(i int) bool {
		r := recs[i]
		if r.realm != realm || len(r.components) != len(comps) || et != 0 && r.enctype != et {
			return false
		}
		for j := range comps {
			if comps[j] != r.components[j] {
				return false
			}
		}
		return true
	}, func(i int) ktEntry { return ktEntry{timestamp: recs[i].timestamp, kvno: recs[i].kvno} })
	if i < 0 {
		return "KTERR\tnot found"
	}
	return fmt.Sprintf("KT\t%d\t%d\t%s", recs[i].kvno, recs[i].enctype, hex.EncodeToString(recs[i].key))
}

// normalizeMITKT keeps MIT's message for file errors and calls a missing
// entry "not found" (MIT's text names the principal).
func normalizeMITKT(s string) string {
	s = strings.TrimSpace(s)
	parts := strings.SplitN(s, "\t", 3)
	if parts[0] != "KTERR" || len(parts) < 3 {
		return s
	}
	if parts[1] == "-1765328203" || parts[1] == "-1765328202" { // KRB5_KT_NOTFOUND, KRB5_KT_KVNONOTFOUND
		return "KTERR\tnot found"
	}
	return "KTERR\t" + parts[2]
}

// TestKeytabMatchesMIT compares krb5_kt_get_entry (kvno 0) on each keytab
// with our reader and choice.
func TestKeytabMatchesMIT(t *testing.T) {
	mitdump(t)
	dir := t.TempDir()
	for name, c := range keytabCases() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".keytab")
			require.NoError(t, os.WriteFile(path, c.b, 0o600))
			want := normalizeMITKT(runMITDump(t, []string{filepath.Join(dir, "none.conf")}, "-k", "FILE:"+path, c.princ, fmt.Sprint(c.et)))
			assert.Equal(t, want, ourKTEntry(path, c.princ, c.et))
		})
	}
	t.Run("missing-file", func(t *testing.T) {
		path := filepath.Join(dir, "missing.keytab")
		want := normalizeMITKT(runMITDump(t, []string{filepath.Join(dir, "none.conf")}, "-k", "FILE:"+path, "alice@EX.TEST", "18"))
		assert.Equal(t, want, ourKTEntry(path, "alice@EX.TEST", 18))
	})
}

// TestKeytabErrors: typed errors with MIT's messages, and never the
// file's bytes.
func TestKeytabErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadKeytab("FILE:" + filepath.Join(dir, "nope"))
	assert.ErrorIs(t, err, ErrKeytabNotFound)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.EqualError(t, err, "Key table file '"+filepath.Join(dir, "nope")+"' not found")

	secret := []byte("TOPSECRETKEYMATERIAL")
	for name, b := range map[string][]byte{
		"bad-version": append([]byte{5, 9}, secret...),
		"text":        append([]byte("not a keytab "), secret...),
		"min-hole":    append([]byte{5, 2, 0x80, 0, 0, 0}, secret...),
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		_, err := LoadKeytab(p)
		require.Error(t, err, name)
		var ke *KeytabError
		assert.True(t, errors.As(err, &ke), name)
		assert.NotContains(t, err.Error(), "SECRET", name)
		assert.NotContains(t, fmt.Sprintf("%v %+v %#v", err, err, err), "TOPSECRET", name)
	}
	_, err = LoadKeytab(filepath.Join(dir, "bad-version"))
	assert.ErrorIs(t, err, ErrKeytabBadVersion)
	assert.EqualError(t, err, "Unsupported key table format version number")
	_, err = LoadKeytab("MEMORY:x")
	assert.ErrorIs(t, err, ErrKeytabUnknownType)

	// A truncated last entry: the entries before it are used, as MIT.
	full := ktBytes(2, ktRec{[]string{"a"}, "R", 1, 2, 2, 18, key(1, 32)}, ktRec{[]string{"a"}, "R", 1, 3, 3, 18, key(2, 32)})
	p := filepath.Join(dir, "trunc")
	require.NoError(t, os.WriteFile(p, full[:len(full)-5], 0o600))
	kt, err := LoadKeytab(p)
	require.NoError(t, err)
	require.Len(t, kt.Entries, 1)
	assert.EqualValues(t, 2, kt.Entries[0].KVNO)

	// The 32-bit kvno comes through gokrb5's type.
	require.NoError(t, os.WriteFile(p, ktBytes(2, ktRec{[]string{"a"}, "R", 1, 44, 300, 18, key(1, 32)}), 0o600))
	kt, err = LoadKeytab("WRFILE:" + p)
	require.NoError(t, err)
	require.Len(t, kt.Entries, 1)
	assert.EqualValues(t, 300, kt.Entries[0].KVNO)
	assert.Equal(t, key(1, 32), kt.Entries[0].Key.KeyValue)
}

// FuzzParseKeytab: any bytes give entries or a typed error, never a panic,
// and no error text carries the input.
func FuzzParseKeytab(f *testing.F) {
	for _, c := range keytabCases() {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := parseKeytab(b)
		if err != nil {
			if !errors.Is(err, ErrKeytabBadVersion) && !errors.Is(err, ErrKeytabFormat) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for _, r := range recs {
			if len(r.key) == 0 || len(r.components) == 0 || r.realm == "" {
				t.Fatalf("entry MIT would not return: %+v", r)
			}
		}
	})
}
