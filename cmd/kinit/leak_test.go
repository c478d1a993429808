package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/stretchr/testify/require"
)

// leak reports where text shows any 6 consecutive bytes of secret: raw,
// as hex (either case), or as Go prints a byte slice ("[12 34 ...").
func leak(text string, secret []byte) string {
	const w = 6
	for i := 0; i+w <= len(secret); i++ {
		win := secret[i : i+w]
		dec := strings.Trim(fmt.Sprint(win), "[]")
		for _, form := range []string{string(win), hex.EncodeToString(win), strings.ToUpper(hex.EncodeToString(win)), dec} {
			if strings.Contains(text, form) {
				return fmt.Sprintf("secret bytes %d..%d appear as %q", i, i+w, form)
			}
		}
	}
	return ""
}

// corruptions returns every damaged copy of b: cut at each offset, and
// each byte changed (flipped, zeroed, set to 0xff).
func corruptions(b []byte) [][]byte {
	var out [][]byte
	for i := 0; i < len(b); i++ {
		out = append(out, b[:i])
		for _, f := range []func(byte) byte{func(c byte) byte { return c ^ 0xff }, func(byte) byte { return 0 }, func(byte) byte { return 0xff }} {
			c := bytes.Clone(b)
			c[i] = f(c[i])
			out = append(out, c)
		}
	}
	return out
}

// randomSecret returns key material of n bytes none of which is 0 or 0xff,
// so that a corrupted length cannot make ordinary bytes look like it.
func randomSecret(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	for i := range b {
		if b[i] == 0 || b[i] == 0xff || b[i] < 0x20 {
			b[i] = 0x41 + b[i]%26
		}
	}
	return b
}

// testKeytab is a keytab (format 0x502) holding two keys of the principal.
func testKeytab(keys ...[]byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{5, 2})
	for i, k := range keys {
		var e bytes.Buffer
		w16 := func(v int) { binary.Write(&e, binary.BigEndian, uint16(v)) }
		w32 := func(v uint32) { binary.Write(&e, binary.BigEndian, v) }
		w16(2)
		for _, s := range []string{"KRBTEST.GOKINIT.TEST", "host", "leak.krbtest"} {
			w16(len(s))
			e.WriteString(s)
		}
		w32(1)
		w32(uint32(time.Now().Unix()))
		e.WriteByte(byte(i + 1))
		etype := 18
		if len(k) == 16 {
			etype = 17
		}
		w16(etype)
		w16(len(k))
		e.Write(k)
		w32(uint32(i + 1))
		binary.Write(&b, binary.BigEndian, int32(e.Len()))
		b.Write(e.Bytes())
	}
	return b.Bytes()
}

// TestNoSecretInKeytabOrCacheErrors corrupts a keytab and a credential
// cache at every byte offset (cut, flipped, zeroed, saturated) and checks
// that no error from krb.LoadKeytab or the cache reader shows key bytes
// raw, in hex or as a Go byte slice.
func TestNoSecretInKeytabOrCacheErrors(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := randomSecret(t, 32), randomSecret(t, 16)
	// The check itself finds each form.
	for _, shown := range []string{string(k1[3:12]), hex.EncodeToString(k1[3:12]), fmt.Sprint(k1[3:12]), fmt.Sprintf("%v", k1)} {
		require.NotEmpty(t, leak("error: "+shown, k1))
	}
	kt := testKeytab(k1, k2)
	for i, c := range corruptions(kt) {
		path := filepath.Join(dir, "kt")
		require.NoError(t, os.WriteFile(path, c, 0o600))
		_, err := krb.LoadKeytab(path)
		if err == nil {
			continue
		}
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			for _, k := range [][]byte{k1, k2} {
				if where := leak(text, k); where != "" {
					t.Fatalf("keytab corruption %d: %s in %q", i, where, text)
				}
			}
		}
	}

	key := randomSecret(t, 32)
	tkt := randomSecret(t, 40)
	p := ccache.Principal{NameType: 1, Realm: "KRBTEST.GOKINIT.TEST", Components: []string{"bob"}}
	tgs := ccache.Principal{NameType: 2, Realm: "KRBTEST.GOKINIT.TEST", Components: []string{"krbtgt", "KRBTEST.GOKINIT.TEST"}}
	now := time.Now().Truncate(time.Second)
	cache := &ccache.Cache{DefaultPrincipal: p, Credentials: []ccache.Credential{{
		Client: p, Server: tgs, KeyType: 18, Key: key, AuthTime: now, StartTime: now, EndTime: now.Add(time.Hour), Ticket: tkt,
	}}}
	b, err := cache.Marshal()
	require.NoError(t, err)
	for i, c := range corruptions(b) {
		_, err := ccache.Parse(c)
		if err == nil {
			continue
		}
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err)} {
			if where := leak(text, key); where != "" {
				t.Fatalf("cache corruption %d: %s in %q", i, where, text)
			}
		}
	}
}

// TestNoSecretFromKinitOnDamagedKeytab runs our kinit -k -t on keytabs cut
// and damaged at every byte offset, with KRB5_TRACE on standard error, and
// checks that neither standard error nor the trace shows a key byte.
func TestNoSecretFromKinitOnDamagedKeytab(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kinit once per byte of a keytab")
	}
	bin := ourBinary(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "krb5.conf")
	// A realm whose KDC does not exist: nothing is sent anywhere.
	require.NoError(t, os.WriteFile(conf, []byte("[libdefaults]\n default_realm = KRBTEST.GOKINIT.TEST\n[realms]\n KRBTEST.GOKINIT.TEST = {\n  kdc = 127.0.0.1:9\n }\n"), 0o600))
	k1, k2 := randomSecret(t, 32), randomSecret(t, 16)
	kt := testKeytab(k1, k2)
	for i := 0; i < len(kt); i++ {
		c := bytes.Clone(kt[:i+1])
		c[i] ^= 0x55
		for _, damaged := range [][]byte{kt[:i], c} {
			path := filepath.Join(dir, "kt")
			require.NoError(t, os.WriteFile(path, damaged, 0o600))
			cmd := exec.Command(bin, "-k", "-t", path, "-c", filepath.Join(dir, "cc"), "host/leak.krbtest")
			cmd.Env = append(os.Environ(), "KRB5_CONFIG="+conf, "KRB5_TRACE=/dev/stderr")
			out, _ := cmd.CombinedOutput()
			for _, k := range [][]byte{k1, k2} {
				if where := leak(string(out), k); where != "" {
					t.Fatalf("keytab cut/damaged at %d: %s in kinit's output %q", i, where, out)
				}
			}
		}
	}
}
