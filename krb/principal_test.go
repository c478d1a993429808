package krb

import (
	"testing"

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
