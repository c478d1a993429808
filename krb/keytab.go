package krb

import (
	"fmt"
	"os"
	"strings"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
)

// keytabKey returns the client's key of enctype etype with the highest
// kvno (kvnos wrap at 255 in old keytabs; the 32-bit kvno is used when set).
func (l *Login) keytabKey(etype int32) (types.EncryptionKey, error) {
	var best types.EncryptionKey
	bestKVNO, found := uint32(0), false
	for _, e := range l.o.keytab.Entries {
		if e.Key.KeyType != etype || !l.keytabEntryMatches(e.Principal.Realm, e.Principal.Components) {
			continue
		}
		kvno := e.KVNO
		if kvno == 0 {
			kvno = uint32(e.KVNO8)
		}
		if !found || kvno > bestKVNO {
			best, bestKVNO, found = e.Key, kvno, true
		}
	}
	if !found {
		return types.EncryptionKey{}, fmt.Errorf("%w: no %s key for %s", ErrNoKey, etypeName(etype), l.client)
	}
	return best, nil
}

func (l *Login) keytabHas(etype int32) bool {
	for _, e := range l.o.keytab.Entries {
		if e.Key.KeyType == etype && l.keytabEntryMatches(e.Principal.Realm, e.Principal.Components) {
			return true
		}
	}
	return false
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

// LoadKeytab reads a keytab. The name may carry MIT's "FILE:" or "WRFILE:"
// prefix; other types are not supported.
func LoadKeytab(name string) (*keytab.Keytab, error) {
	path := name
	for _, p := range []string{"FILE:", "WRFILE:"} {
		path = strings.TrimPrefix(path, p)
	}
	if i := strings.IndexByte(path, ':'); i > 0 && !strings.Contains(path[:i], "/") {
		return nil, fmt.Errorf("unsupported keytab type %s (only FILE is supported)", path[:i])
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading keytab: %w", err)
	}
	kt := keytab.New()
	if err := kt.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("reading keytab %s: %w", path, err)
	}
	return kt, nil
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
