package krb_test

import (
	"crypto/rand"
	"encoding/binary"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gokinit/gokinit/krb"
)

// TestPermittedEnctypesAsWrittenMatchesMIT (issue 14, failure 5): with
// default_tkt_enctypes unset, MIT 1.18+ requests permitted_enctypes in the
// order written, and the KDC gives an aes256-sha384 session key. MIT's
// kinit and klist -e on the same configuration are the expected value.
func TestPermittedEnctypesAsWrittenMatchesMIT(t *testing.T) {
	r, _ := testRealm(t)
	path, err := r.WriteClientConfig("permitted_enctypes = aes256-cts-hmac-sha384-192 aes128-cts-hmac-sha256-128 aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96", "")
	require.NoError(t, err)
	cc := "FILE:" + t.TempDir() + "/cc"
	kinit := r.Command("kinit", r.Principal("alice"))
	kinit.Env = append(kinit.Env, "KRB5_CONFIG="+path, "KRB5CCNAME="+cc)
	kinit.Stdin = strings.NewReader(alicePW + "\n")
	out, err := kinit.CombinedOutput()
	require.NoError(t, err, "MIT kinit: %s", out)
	klist := r.Command("klist", "-e")
	klist.Env = append(klist.Env, "KRB5_CONFIG="+path, "KRB5CCNAME="+cc)
	out, err = klist.CombinedOutput()
	require.NoError(t, err, "%s", out)
	m := regexp.MustCompile(`Etype \(skey, tkt\): ([^,\s]+)`).FindSubmatch(out)
	require.NotNil(t, m, "klist -e: %s", out)
	mitSkey, ok := krb.EnctypeByName(string(m[1]))
	require.True(t, ok, "%s", m[1])
	assert.EqualValues(t, 20, mitSkey, "MIT's session key is aes256-cts-hmac-sha384-192")

	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	l, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithPassword(alicePW))
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, mitSkey, creds.SessionKey.KeyType, "the same session key enctype as MIT's kinit")
}

// TestUpperCaseEnctypesMatchMIT (issue 14, failure 4): names in upper case
// are names (MIT compares with strcasecmp); both kinits get a ticket.
func TestUpperCaseEnctypesMatchMIT(t *testing.T) {
	r, _ := testRealm(t)
	path, err := r.WriteClientConfig("default_tkt_enctypes = AES256-CTS AES128-CTS", "")
	require.NoError(t, err)
	kinit := r.Command("kinit", r.Principal("alice"))
	kinit.Env = append(kinit.Env, "KRB5_CONFIG="+path, "KRB5CCNAME=FILE:"+t.TempDir()+"/cc")
	kinit.Stdin = strings.NewReader(alicePW + "\n")
	out, err := kinit.CombinedOutput()
	require.NoError(t, err, "MIT kinit: %s", out)

	cfg, err := krb.LoadConfig(path)
	require.NoError(t, err)
	assert.Equal(t, []int32{18, 17}, cfg.LibDefaults.DefaultTktEnctypeIDs)
	l, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithPassword(alicePW))
	require.NoError(t, err)
	creds, err := l.Run(ctx(t))
	require.NoError(t, err)
	assert.EqualValues(t, 18, creds.SessionKey.KeyType)
}

// keytabEntryBytes encodes one version 2 keytab entry (with its length).
func keytabEntryBytes(realm string, comps []string, ts uint32, kvno uint32, etype int16, key []byte) []byte {
	var e []byte
	e = binary.BigEndian.AppendUint16(e, uint16(len(comps)))
	e = binary.BigEndian.AppendUint16(e, uint16(len(realm)))
	e = append(e, realm...)
	for _, c := range comps {
		e = binary.BigEndian.AppendUint16(e, uint16(len(c)))
		e = append(e, c...)
	}
	e = binary.BigEndian.AppendUint32(e, 1)
	e = binary.BigEndian.AppendUint32(e, ts)
	e = append(e, byte(kvno))
	e = binary.BigEndian.AppendUint16(e, uint16(etype))
	e = binary.BigEndian.AppendUint16(e, uint16(len(key)))
	e = append(e, key...)
	e = binary.BigEndian.AppendUint32(e, kvno)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(e))), e...)
}

// TestKeytabKVNOWrapMatchesMIT (issue 14, failure 7): a keytab holding
// kvno 255 (an old key) before kvno 1 (the current key, written later) for
// one principal. MIT's kinit -k treats kvno 1 as the newer (more_recent)
// and logs in; so must we.
func TestKeytabKVNOWrapMatchesMIT(t *testing.T) {
	r, cfg := testRealm(t)
	const name = "wrap7"
	if err := r.AddRandomKeyPrincipal(name); err != nil && !strings.Contains(err.Error(), "already exists") {
		require.NoError(t, err)
	}
	cur, err := r.Keytab(name)
	require.NoError(t, err)
	b, err := os.ReadFile(cur)
	require.NoError(t, err)
	kt, err := krb.LoadKeytab(cur)
	require.NoError(t, err)
	require.NotEmpty(t, kt.Entries)
	// Old keys at kvno 255, written a day before the current ones, first.
	out := []byte{5, 2}
	for _, e := range kt.Entries {
		old := make([]byte, len(e.Key.KeyValue))
		_, _ = rand.Read(old)
		ts := uint32(e.Timestamp.Add(-24 * time.Hour).Unix())
		out = append(out, keytabEntryBytes(e.Principal.Realm, e.Principal.Components, ts, 255, int16(e.Key.KeyType), old)...)
	}
	out = append(out, b[2:]...)
	path := t.TempDir() + "/wrap.keytab"
	require.NoError(t, os.WriteFile(path, out, 0o600))

	kinit := r.Command("kinit", "-k", "-t", "FILE:"+path, r.Principal(name))
	kinit.Env = append(kinit.Env, "KRB5CCNAME=FILE:"+t.TempDir()+"/cc")
	mitOut, err := kinit.CombinedOutput()
	require.NoError(t, err, "MIT kinit -k logs in: %s", mitOut)

	wrapped, err := krb.LoadKeytab("FILE:" + path)
	require.NoError(t, err)
	l, err := krb.NewLogin(name, krb.WithConfig(cfg), krb.WithKeytab(wrapped))
	require.NoError(t, err)
	_, err = l.Run(ctx(t))
	require.NoError(t, err, "as MIT's kinit: kvno 1 written after kvno 255 is the newer key")
}

// TestIncludedConfigMatchesMITKinit (issue 14, failures 1 to 3): the
// realm's KDC comes from a file that "includedir<TAB>DIR" reads through a
// symlink (as crypto-policies' drop-ins are), and default_ccache_name is
// set both by a drop-in read from the first line and later by the main
// file. MIT's kinit finds the KDC and writes the drop-in's cache (first
// value wins); our parser must read the same, and our login get a ticket.
func TestIncludedConfigMatchesMITKinit(t *testing.T) {
	r, _ := testRealm(t)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(dir+"/target", 0o755))
	require.NoError(t, os.MkdirAll(dir+"/krb5.conf.d", 0o755))
	require.NoError(t, os.WriteFile(dir+"/target/realm.conf", []byte("[realms]\n "+r.Name+" = {\n  kdc = "+r.KDCAddr+"\n }\n"), 0o644))
	require.NoError(t, os.Symlink("../target/realm.conf", dir+"/krb5.conf.d/realm"))
	require.NoError(t, os.WriteFile(dir+"/krb5.conf.d/ccache", []byte("[libdefaults]\n    default_ccache_name = FILE:"+dir+"/included_cc\n"), 0o644))
	main := "includedir\t" + dir + "/krb5.conf.d/\n\n[libdefaults]\n default_realm = " + r.Name +
		"\n dns_lookup_kdc = false\n dns_lookup_realm = false\n default_ccache_name = FILE:" + dir + "/main_cc\n"
	require.NoError(t, os.WriteFile(dir+"/krb5.conf", []byte(main), 0o644))

	kinit := r.Command("kinit", r.Principal("alice"))
	var env []string
	for _, e := range kinit.Env {
		if !strings.HasPrefix(e, "KRB5CCNAME=") && !strings.HasPrefix(e, "KRB5_CONFIG=") {
			env = append(env, e)
		}
	}
	kinit.Env = append(env, "KRB5_CONFIG="+dir+"/krb5.conf")
	kinit.Stdin = strings.NewReader(alicePW + "\n")
	out, err := kinit.CombinedOutput()
	require.NoError(t, err, "MIT kinit finds the KDC through includedir<TAB> and the symlink: %s", out)
	assert.FileExists(t, dir+"/included_cc", "MIT's kinit writes the drop-in's cache")
	assert.NoFileExists(t, dir+"/main_cc")

	cfg, err := krb.LoadConfig(dir + "/krb5.conf")
	require.NoError(t, err)
	cc, _ := cfg.Value("libdefaults", "default_ccache_name")
	assert.Equal(t, "FILE:"+dir+"/included_cc", cc, "first value wins, as MIT's")
	assert.Equal(t, []string{r.KDCAddr}, cfg.Values("realms", r.Name, "kdc"))
	l, err := krb.NewLogin("alice", krb.WithConfig(cfg), krb.WithPassword(alicePW))
	require.NoError(t, err)
	_, err = l.Run(ctx(t))
	require.NoError(t, err)
}
