package krb

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePrincipal(t *testing.T) {
	cases := []struct {
		in         string
		enterprise bool
		comps      []string
		realm      string
		nameType   int32
		text       string
	}{
		{"alice", false, []string{"alice"}, "DEF.TEST", 1, "alice@DEF.TEST"},
		{"alice@OTHER.TEST", false, []string{"alice"}, "OTHER.TEST", 1, "alice@OTHER.TEST"},
		{"host/h.example.com", false, []string{"host", "h.example.com"}, "DEF.TEST", 1, "host/h.example.com@DEF.TEST"},
		{"krbtgt/X.TEST@X.TEST", false, []string{"krbtgt", "X.TEST"}, "X.TEST", 2, "krbtgt/X.TEST@X.TEST"},
		{`a\/b\@c`, false, []string{"a/b@c"}, "DEF.TEST", 1, `a\/b\@c@DEF.TEST`},
		{"bob@example.com", true, []string{"bob@example.com"}, "DEF.TEST", 10, `bob\@example.com@DEF.TEST`},
		{"bob@example.com@AD.TEST", true, []string{"bob@example.com"}, "AD.TEST", 10, `bob\@example.com@AD.TEST`},
	}
	for _, c := range cases {
		p, err := ParsePrincipal(c.in, "DEF.TEST", c.enterprise)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.comps, p.Name.NameString, c.in)
		assert.Equal(t, c.realm, p.Realm, c.in)
		assert.Equal(t, c.nameType, p.Name.NameType, c.in)
		assert.Equal(t, c.text, p.String(), c.in)
	}
}

func TestParsePrincipalErrors(t *testing.T) {
	for _, in := range []string{"", "a@", "a//b", `a\`, "a@B@C", "/x"} {
		_, err := ParsePrincipal(in, "DEF.TEST", false)
		assert.Error(t, err, in)
	}
	_, err := ParsePrincipal("alice", "", false)
	assert.ErrorContains(t, err, "no default_realm")
}

func TestConfigRelations(t *testing.T) {
	cfg, err := ParseConfig(`
# comment
[libdefaults]
	default_realm = EX.TEST
	default_ccache_name = FILE:/tmp/cc_%{uid}
	kdc_timesync = 0
[realms]
	EX.TEST = {
		kdc = 127.0.0.1:1
		kdc = 127.0.0.1:2
		disable_encrypted_timestamp = true
		sub = {
			deep = yes
		}
	}
`)
	require.NoError(t, err)
	assert.Equal(t, "EX.TEST", cfg.LibDefaults.DefaultRealm)
	assert.Equal(t, []string{"127.0.0.1:1", "127.0.0.1:2"}, cfg.Values("realms", "EX.TEST", "kdc"))
	v, ok := cfg.Value("libdefaults", "default_ccache_name")
	assert.True(t, ok)
	assert.Equal(t, "FILE:/tmp/cc_%{uid}", v)
	assert.True(t, cfg.RealmBool("EX.TEST", "disable_encrypted_timestamp", false))
	assert.False(t, cfg.RealmBool("OTHER.TEST", "disable_encrypted_timestamp", false))
	assert.True(t, cfg.Bool(false, "realms", "EX.TEST", "sub", "deep"))
	assert.Equal(t, 0, cfg.LibDefaults.KDCTimeSync)
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"3600": time.Hour, "10h": 10 * time.Hour, "1d2h30m": 26*time.Hour + 30*time.Minute,
		"90s": 90 * time.Second, "1:30": 90 * time.Minute, "1:30:15": 90*time.Minute + 15*time.Second,
		"7d 0h 0m 0s": 7 * 24 * time.Hour,
	} {
		got, err := ParseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	// MIT's grammar ends the string at a character it does not know:
	// "1x" is one second, as krb5_string_to_deltat reads it.
	got, err := ParseDuration("1x")
	require.NoError(t, err)
	assert.Equal(t, time.Second, got)
	for _, in := range []string{"", "h", "1:2:3:4", "-5", "10 ", "99999999999"} {
		_, err := ParseDuration(in)
		assert.Error(t, err, in)
	}
}

func TestConfigDefaultsAreMITs(t *testing.T) {
	cfg, err := ParseConfig("[libdefaults]\n default_realm = EX.TEST\n")
	require.NoError(t, err)
	l := cfg.LibDefaults
	assert.Equal(t, []int32{18, 17, 20, 19, 16, 23, 25, 26}, l.DefaultTktEnctypeIDs, "MIT 1.20's default_enctype_list")
	assert.Equal(t, 24*time.Hour, l.TicketLifetime)
	assert.Equal(t, 1, l.KDCTimeSync)
	assert.True(t, l.DNSLookupKDC, "MIT's default")
	assert.Equal(t, 1465, l.UDPPreferenceLimit)
	assert.Equal(t, []int{17, 16, 15, 14}, l.PreferredPreauthTypes)

	cfg, err = ParseConfig(`[libdefaults]
	default_realm = EX.TEST
	default_tkt_enctypes = aes -aes128-cts-hmac-sha1-96 des3-cbc-sha1
	ticket_lifetime = 10h
	renew_lifetime = 7d
	kdc_timesync = 0
	forwardable = yes
	dns_lookup_kdc = false
	preferred_preauth_types = 151, 2
[realms]
	EX.TEST = {
		kdc = kdc1.ex.test
		kdc = kdc2.ex.test:750
		admin_server = adm.ex.test
	}
	OTHER.TEST = {
		kdc = [::1]:88
	}
[domain_realm]
	.ex.test = EX.TEST
`)
	require.NoError(t, err)
	l = cfg.LibDefaults
	assert.Equal(t, []int32{18, 20, 19, 16}, l.DefaultTktEnctypeIDs)
	assert.Equal(t, 10*time.Hour, l.TicketLifetime)
	assert.Equal(t, 7*24*time.Hour, l.RenewLifetime)
	assert.Equal(t, 0, l.KDCTimeSync)
	assert.True(t, l.Forwardable)
	assert.False(t, l.DNSLookupKDC)
	assert.Equal(t, []int{151, 2}, l.PreferredPreauthTypes)
	require.Len(t, cfg.Realms, 2)
	assert.Equal(t, "EX.TEST", cfg.Realms[0].Realm)
	assert.Equal(t, []string{"kdc1.ex.test", "kdc2.ex.test:750"}, cfg.Realms[0].KDC)
	assert.Equal(t, []string{"adm.ex.test:464"}, cfg.Realms[0].KPasswdServer)
	assert.Equal(t, []string{"[::1]:88"}, cfg.Realms[1].KDC)
	assert.Equal(t, "EX.TEST", cfg.DomainRealm[".ex.test"])
}

func TestLoadConfigFollowsIncludes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "conf.d"), 0o700))
	write("conf.d/realm", "[realms]\n EX.TEST = {\n  kdc = 127.0.0.1:88\n }\n")
	write("conf.d/ignored~", "[libdefaults]\n ticket_lifetime = 1h\n")
	extra := write("extra.conf", "[libdefaults]\n forwardable = true\n")
	main := write("krb5.conf", "include "+extra+"\nincludedir "+filepath.Join(dir, "conf.d")+"\n[libdefaults]\n default_realm = EX.TEST\n")
	cfg, err := LoadConfig(main)
	require.NoError(t, err)
	assert.Equal(t, "EX.TEST", cfg.LibDefaults.DefaultRealm)
	assert.True(t, cfg.LibDefaults.Forwardable)
	assert.Equal(t, []string{"127.0.0.1:88"}, cfg.Values("realms", "EX.TEST", "kdc"))
	assert.Equal(t, 24*time.Hour, cfg.LibDefaults.TicketLifetime, "a backup file is not read")

	loop := write("loop.conf", "include "+filepath.Join(dir, "loop.conf")+"\n")
	_, err = LoadConfig(loop)
	assert.ErrorContains(t, err, "nested")
}

func TestConfigBraceOnTheNextLine(t *testing.T) {
	cfg, err := ParseConfig("[realms]\n EX.COM =\n {\n  kdc = k1\n }\n[libdefaults]\n empty = \"\"\n default_realm = EX.COM\n")
	require.NoError(t, err)
	assert.Equal(t, []string{"k1"}, cfg.Values("realms", "EX.COM", "kdc"))
	assert.Equal(t, []string{""}, cfg.Values("libdefaults", "empty"))
	assert.Equal(t, "EX.COM", cfg.LibDefaults.DefaultRealm)

	// "name =" with nothing after opens a subsection: MIT wants a brace on
	// the next line and fails the whole profile otherwise.
	_, err = ParseConfig("[libdefaults]\n empty =\n default_realm = EX.COM\n")
	assert.ErrorIs(t, err, ErrProfileMissingOpenBrace)
	assert.ErrorIs(t, err, ErrConfigFormat)
	assert.ErrorContains(t, err, "krb5.conf:3: Missing open brace in profile")
}

func TestNoConfigFileIsAnEmptyConfig(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join(t.TempDir(), "missing.conf"))
	require.NoError(t, err, "MIT runs with an empty profile")
	assert.Empty(t, cfg.LibDefaults.DefaultRealm)
}

// TestIncludedFileKeepsItsSections: a section opened in an included file
// does not swallow the rest of the including file (MIT parses each file
// with its own state).
func TestIncludedFileKeepsItsSections(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "realms.conf")
	require.NoError(t, os.WriteFile(inc, []byte("[realms]\n EX.TEST = {\n  kdc = k1\n }\n"), 0o600))
	main := filepath.Join(dir, "krb5.conf")
	require.NoError(t, os.WriteFile(main, []byte("[libdefaults]\ninclude "+inc+"\n default_realm = EX.TEST\n"), 0o600))
	cfg, err := LoadConfig(main)
	require.NoError(t, err)
	assert.Equal(t, "EX.TEST", cfg.LibDefaults.DefaultRealm)
	assert.Equal(t, []string{"k1"}, cfg.Values("realms", "EX.TEST", "kdc"))

	// An include that cannot be read fails the whole profile, as MIT's
	// krb5_init_context fails ("Included profile file could not be read").
	broken := filepath.Join(dir, "broken.conf")
	require.NoError(t, os.WriteFile(broken, []byte("[libdefaults]\n forwardable = true\ninclude /nonexistent/x.conf\n"), 0o600))
	_, err = LoadConfig(broken, main)
	assert.ErrorIs(t, err, ErrProfileIncludeFile)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, broken+":3: Included profile file could not be read")
}
