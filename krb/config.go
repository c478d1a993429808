package krb

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gokinit/gokinit/krb/transport"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
)

// Config is a parsed krb5.conf: MIT's profile (one tree per file of the
// list, read as MIT's profile library reads it; see profile.go), and the
// typed view gokrb5's client takes, derived from it with MIT's defaults.
// Any relation can be read with Values, as MIT's profile_get_values reads
// it.
type Config struct {
	*config.Config
	files []*profNode
}

// DefaultConfigPaths returns the krb5.conf files MIT krb5 reads: the
// colon-separated list in KRB5_CONFIG, else /etc/krb5.conf
// (os_get_default_config_files).
func DefaultConfigPaths() []string {
	if v, ok := os.LookupEnv("KRB5_CONFIG"); ok {
		return strings.Split(v, ":")
	}
	return []string{"/etc/krb5.conf"}
}

// LoadConfig reads the krb5.conf files at paths (DefaultConfigPaths when
// none are given) as MIT's profile_init does: a missing or unreadable file
// is skipped, an empty name ends the list, a directory is read as an
// includedir, and an error in any
// file (a syntax error, an include that cannot be read) is an error, a
// *ConfigError naming the file and line. When no file exists the profile
// is empty, as MIT's (a realm's KDCs can still come from DNS).
func LoadConfig(paths ...string) (*Config, error) {
	if len(paths) == 0 {
		paths = DefaultConfigPaths()
	}
	var files []*profNode
	for _, p := range paths {
		if p == "" {
			break // MIT's PROFILE_LAST_FILESPEC: an empty name ends the list
		}
		root, err := loadProfileFile(p, len(files) == 0)
		if errors.Is(err, errSkipFile) {
			continue
		}
		if err != nil {
			return nil, err
		}
		files = append(files, root)
	}
	return newConfig(files)
}

// ParseConfig parses krb5.conf text as a one-file profile. include and
// includedir directives in it are followed.
func ParseConfig(text string) (*Config, error) {
	root, err := parseProfileText("krb5.conf", text, true)
	if err != nil {
		return nil, err
	}
	return newConfig([]*profNode{root})
}

func newConfig(files []*profNode) (*Config, error) {
	c := &Config{files: files}
	// krb5_init_context fails on these booleans when they are not booleans.
	for _, name := range []string{"allow_weak_crypto", "ignore_acceptor_hostname", "enforce_ok_as_delegate", "dns_canonicalize_hostname"} {
		v, ok := c.Value("libdefaults", name)
		if !ok {
			continue
		}
		if _, err := ParseBool(v); err != nil {
			if name != "dns_canonicalize_hostname" {
				return nil, fmt.Errorf("krb5.conf: libdefaults %s = %q: %w", name, v, err)
			}
			if !strings.EqualFold(v, "fallback") { // MIT's get_tristate
				return nil, fmt.Errorf("krb5.conf: libdefaults %s = %q: %w", name, v, ErrProfileBadTristate)
			}
		}
	}
	c.Config = c.gokrb5()
	return c, nil
}

// Values returns the values of a relation by its path, for example
// Values("libdefaults", "default_ccache_name") or
// Values("realms", "EXAMPLE.COM", "kdc"), as MIT's profile_get_values: in
// file order, then from the next file of the list unless a section on the
// path was marked final ('*').
func (c *Config) Values(path ...string) []string {
	if c == nil || len(path) < 2 {
		return nil
	}
	var out []string
	profileIter(c.files, path[:len(path)-1], path[len(path)-1], false, true, func(n *profNode) {
		out = append(out, n.value)
	})
	return out
}

// Value returns the first value of a relation (MIT's profile_get_string).
func (c *Config) Value(path ...string) (string, bool) {
	v := c.Values(path...)
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// Sections returns the names of the subsections of the section path names
// (the top-level sections for none), as MIT's
// profile_get_subsection_names, without repeats.
func (c *Config) Sections(path ...string) []string {
	var out []string
	if c == nil {
		return nil
	}
	profileIter(c.files, path, "", true, false, func(n *profNode) {
		if !slices.Contains(out, n.name) {
			out = append(out, n.name)
		}
	})
	return out
}

// Relations returns the names of the relations of the section path names,
// as MIT's profile_get_relation_names.
func (c *Config) Relations(path ...string) []string {
	var out []string
	if c == nil || len(path) == 0 {
		return nil
	}
	profileIter(c.files, path, "", false, true, func(n *profNode) {
		if !slices.Contains(out, n.name) {
			out = append(out, n.name)
		}
	})
	return out
}

// ParseBool reads a boolean as MIT's profile_parse_boolean: y, yes, true,
// t, 1, on and n, no, false, nil, 0, off, in any case; anything else is
// ErrProfileBadBoolean.
func ParseBool(v string) (bool, error) {
	for _, y := range []string{"y", "yes", "true", "t", "1", "on"} {
		if strings.EqualFold(v, y) {
			return true, nil
		}
	}
	for _, n := range []string{"n", "no", "false", "nil", "0", "off"} {
		if strings.EqualFold(v, n) {
			return false, nil
		}
	}
	return false, ErrProfileBadBoolean
}

// Bool returns a boolean relation's first value (MIT's
// profile_get_boolean), or def when it is unset or not a boolean.
func (c *Config) Bool(def bool, path ...string) bool {
	v, ok := c.Value(path...)
	if !ok {
		return def
	}
	b, err := ParseBool(v)
	if err != nil {
		return def
	}
	return b
}

// ErrProfileBadInteger is MIT's PROF_BAD_INTEGER.
//
//lint:ignore ST1005 MIT's PROF_BAD_INTEGER message, verbatim
var ErrProfileBadInteger = errors.New("Invalid integer value")

// ParseInt reads an integer as MIT's profile_get_integer (parse_int): C's
// strtol in base 10 (leading blanks and a sign allowed, "010" is 10),
// nothing after the number, within a C int.
func ParseInt(v string) (int, error) {
	s := skipBlanks(v)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, ErrProfileBadInteger
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, ErrProfileBadInteger
	}
	if neg {
		n = -n
	}
	if n < -1<<31 || n > 1<<31-1 {
		return 0, ErrProfileBadInteger
	}
	return int(n), nil
}

// Int returns an integer relation's first value (MIT's
// profile_get_integer), or def when it is unset or not an integer.
func (c *Config) Int(def int, path ...string) int {
	v, ok := c.Value(path...)
	if !ok {
		return def
	}
	n, err := ParseInt(v)
	if err != nil {
		return def
	}
	return n
}

// RealmBool looks a boolean up in the realm's section first, then in
// [libdefaults], as MIT does for per-realm library settings.
func (c *Config) RealmBool(realm, name string, def bool) bool {
	if _, ok := c.Value("realms", realm, name); ok {
		return c.Bool(def, "realms", realm, name)
	}
	return c.Bool(def, "libdefaults", name)
}

// ErrConfigEnctypeNoSupport is MIT's KRB5_CONFIG_ETYPE_NOSUPP: an enctype
// list in krb5.conf names no enctype MIT would use.
//
//lint:ignore ST1005 MIT's KRB5_CONFIG_ETYPE_NOSUPP message, verbatim
var ErrConfigEnctypeNoSupport = errors.New("No supported encryption types (config file error?)")

// mitEnctype is a row of MIT 1.20's enctype table (lib/crypto/krb/etypes.c).
type mitEnctype struct {
	id    int32
	names []string // the name, then its aliases
	weak  bool
}

var mitEnctypes = []mitEnctype{
	{etypeID.DES3_CBC_RAW, []string{"des3-cbc-raw"}, true},
	{etypeID.DES3_CBC_SHA1_KD, []string{"des3-cbc-sha1", "des3-hmac-sha1", "des3-cbc-sha1-kd"}, false},
	{etypeID.RC4_HMAC, []string{"arcfour-hmac", "rc4-hmac", "arcfour-hmac-md5"}, false},
	{etypeID.RC4_HMAC_EXP, []string{"arcfour-hmac-exp", "rc4-hmac-exp", "arcfour-hmac-md5-exp"}, true},
	{etypeID.AES128_CTS_HMAC_SHA1_96, []string{"aes128-cts-hmac-sha1-96", "aes128-cts", "aes128-sha1"}, false},
	{etypeID.AES256_CTS_HMAC_SHA1_96, []string{"aes256-cts-hmac-sha1-96", "aes256-cts", "aes256-sha1"}, false},
	{etypeID.CAMELLIA128_CTS_CMAC, []string{"camellia128-cts-cmac", "camellia128-cts"}, false},
	{etypeID.CAMELLIA256_CTS_CMAC, []string{"camellia256-cts-cmac", "camellia256-cts"}, false},
	{etypeID.AES128_CTS_HMAC_SHA256_128, []string{"aes128-cts-hmac-sha256-128", "aes128-sha2"}, false},
	{etypeID.AES256_CTS_HMAC_SHA384_192, []string{"aes256-cts-hmac-sha384-192", "aes256-sha2"}, false},
}

// mitDefaultEnctypes is MIT 1.20's default_enctype_list (krb/init_ctx.c),
// what "DEFAULT" stands for.
var mitDefaultEnctypes = []int32{
	etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA1_96,
	etypeID.AES256_CTS_HMAC_SHA384_192, etypeID.AES128_CTS_HMAC_SHA256_128,
	etypeID.DES3_CBC_SHA1_KD, etypeID.RC4_HMAC,
	etypeID.CAMELLIA128_CTS_CMAC, etypeID.CAMELLIA256_CTS_CMAC,
}

// enctypeFamilies are the family names MIT 1.20's
// krb5int_parse_enctype_list knows (besides DEFAULT).
var enctypeFamilies = map[string][]int32{
	"des3": {etypeID.DES3_CBC_SHA1_KD},
	"aes": {etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA1_96,
		etypeID.AES256_CTS_HMAC_SHA384_192, etypeID.AES128_CTS_HMAC_SHA256_128},
	"rc4":      {etypeID.RC4_HMAC},
	"camellia": {etypeID.CAMELLIA256_CTS_CMAC, etypeID.CAMELLIA128_CTS_CMAC},
}

// EnctypeByName returns the enctype a name or alias stands for, in any
// case (MIT's krb5_string_to_enctype).
func EnctypeByName(name string) (int32, bool) {
	for _, e := range mitEnctypes {
		for _, n := range e.names {
			if strings.EqualFold(n, name) {
				return e.id, true
			}
		}
	}
	return 0, false
}

// EnctypeName returns MIT's name of an enctype MIT 1.20 knows.
func EnctypeName(id int32) (string, bool) {
	for _, e := range mitEnctypes {
		if e.id == id {
			return e.names[0], true
		}
	}
	return "", false
}

func enctypeWeak(id int32) bool {
	for _, e := range mitEnctypes {
		if e.id == id {
			return e.weak
		}
	}
	return false
}

// ParseEnctypeList reads an enctype list as MIT 1.20's
// krb5int_parse_enctype_list: words separated by blanks or commas, each a
// name or alias (any case), or a family (DEFAULT, aes, des3, rc4,
// camellia, any case); a leading '-' removes, '+' adds. Weak enctypes are
// dropped unless allowWeak; unknown words are ignored. An empty result is
// ErrConfigEnctypeNoSupport.
func ParseEnctypeList(s string, allowWeak bool) ([]int32, error) {
	var list []int32
	mod := func(id int32, add bool) {
		if !allowWeak && enctypeWeak(id) {
			return
		}
		i := slices.Index(list, id)
		switch {
		case add && i < 0:
			list = append(list, id)
		case !add && i >= 0:
			list = slices.Delete(list, i, i+1)
		}
	}
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == ','
	}) {
		add := true
		if tok[0] == '+' || tok[0] == '-' {
			add = tok[0] == '+'
			tok = tok[1:]
		}
		var ids []int32
		if strings.EqualFold(tok, "DEFAULT") {
			ids = mitDefaultEnctypes
		} else if fam, ok := enctypeFamilies[strings.ToLower(tok)]; ok {
			ids = fam
		} else if id, ok := EnctypeByName(tok); ok {
			ids = []int32{id}
		}
		for _, id := range ids {
			mod(id, add)
		}
	}
	if len(list) == 0 {
		return nil, ErrConfigEnctypeNoSupport
	}
	return list, nil
}

func (c *Config) enctypeList(names ...string) ([]int32, error) {
	v := "DEFAULT"
	for _, n := range names {
		if s, ok := c.Value("libdefaults", n); ok {
			v = s
			break
		}
	}
	ids, err := ParseEnctypeList(v, c.Bool(false, "libdefaults", "allow_weak_crypto"))
	if err != nil {
		return nil, fmt.Errorf("krb5.conf: libdefaults %s: %w", names[0], err)
	}
	return ids, nil
}

// PermittedEnctypes returns permitted_enctypes (default DEFAULT), as MIT's
// krb5_get_permitted_enctypes.
func (c *Config) PermittedEnctypes() ([]int32, error) {
	return c.enctypeList("permitted_enctypes")
}

// DefaultTktEnctypes returns the enctypes an AS request asks for:
// default_tkt_enctypes, else permitted_enctypes as written, else DEFAULT
// (MIT 1.18+'s krb5_get_default_in_tkt_ktypes).
func (c *Config) DefaultTktEnctypes() ([]int32, error) {
	return c.enctypeList("default_tkt_enctypes", "permitted_enctypes")
}

// DefaultTGSEnctypes returns the enctypes a TGS request asks for:
// default_tgs_enctypes, else permitted_enctypes, else DEFAULT (MIT's
// krb5_get_tgs_ktypes).
func (c *Config) DefaultTGSEnctypes() ([]int32, error) {
	return c.enctypeList("default_tgs_enctypes", "permitted_enctypes")
}

func enctypeNames(ids []int32) []string {
	var out []string
	for _, id := range ids {
		for _, e := range mitEnctypes {
			if e.id == id {
				out = append(out, e.names[0])
			}
		}
	}
	return out
}

// KPasswdServers returns the kpasswd servers of realm: kpasswd_server, else
// the admin_server hosts with port 464 (MIT's locate_kpasswd: the
// admin_server entry parsed as a server address, its port replaced).
func (c *Config) KPasswdServers(realm string) []string {
	if v := c.Values("realms", realm, "kpasswd_server"); len(v) > 0 {
		return v
	}
	var out []string
	for _, a := range c.Values("realms", realm, "admin_server") {
		s, err := transport.ParseServer(a, 749)
		if err != nil {
			out = append(out, a) // reported when it is used, as MIT does
			continue
		}
		out = append(out, net.JoinHostPort(s.Host, "464"))
	}
	return out
}

// gokrb5 builds gokrb5's typed config from the profile, with MIT's
// defaults where krb5.conf is silent.
func (c *Config) gokrb5() *config.Config {
	g := &config.Config{DomainRealm: make(config.DomainRealm)}
	l := &g.LibDefaults
	lib := func(name string) (string, bool) { return c.Value("libdefaults", name) }
	flag := func(name string, def bool) bool { return c.Bool(def, "libdefaults", name) }
	dur := func(name string, def time.Duration) time.Duration {
		if v, ok := lib(name); ok {
			if d, err := ParseDuration(v); err == nil {
				return d
			}
		}
		return def
	}
	num := func(name string, def int) int { return c.Int(def, "libdefaults", name) }
	l.DefaultRealm, _ = lib("default_realm")
	l.AllowWeakCrypto = flag("allow_weak_crypto", false)
	l.Canonicalize = flag("canonicalize", false)
	l.CCacheType = num("ccache_type", 4)
	l.Clockskew = dur("clockskew", 5*time.Minute)
	l.DefaultKeytabName = "/etc/krb5.keytab"
	if v, ok := lib("default_keytab_name"); ok {
		l.DefaultKeytabName = v
	}
	l.DefaultClientKeytabName = "FILE:/etc/krb5/user/%{euid}/client.keytab"
	if v, ok := lib("default_client_keytab_name"); ok {
		l.DefaultClientKeytabName = v
	}
	l.DNSCanonicalizeHostname = flag("dns_canonicalize_hostname", true)
	l.DNSLookupKDC = flag("dns_lookup_kdc", true)
	l.DNSLookupRealm = flag("dns_lookup_realm", false)
	l.Forwardable = flag("forwardable", false)
	l.Proxiable = flag("proxiable", false)
	l.NoAddresses = flag("noaddresses", true)
	l.RDNS = flag("rdns", true)
	l.KDCTimeSync = 1
	if num("kdc_timesync", 1) == 0 {
		l.KDCTimeSync = 0
	}
	l.KDCDefaultOptions = asn1.BitString{Bytes: []byte{0, 0, 0, 0x10}, BitLength: 32} // renewable-ok
	l.TicketLifetime = dur("ticket_lifetime", 24*time.Hour)
	l.RenewLifetime = dur("renew_lifetime", 0)
	l.UDPPreferenceLimit = num("udp_preference_limit", 1465)
	l.PreferredPreauthTypes = []int{17, 16, 15, 14}
	if v, ok := lib("preferred_preauth_types"); ok {
		l.PreferredPreauthTypes = nil
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			if n, err := strconv.Atoi(f); err == nil {
				l.PreferredPreauthTypes = append(l.PreferredPreauthTypes, n)
			}
		}
	}
	l.DefaultTktEnctypeIDs, _ = c.DefaultTktEnctypes()
	l.DefaultTGSEnctypeIDs, _ = c.DefaultTGSEnctypes()
	l.PermittedEnctypeIDs, _ = c.PermittedEnctypes()
	l.DefaultTktEnctypes = enctypeNames(l.DefaultTktEnctypeIDs)
	l.DefaultTGSEnctypes = enctypeNames(l.DefaultTGSEnctypeIDs)
	l.PermittedEnctypes = enctypeNames(l.PermittedEnctypeIDs)

	for _, realm := range c.Sections("realms") {
		r := config.Realm{Realm: realm}
		r.KDC = c.Values("realms", realm, "kdc")
		r.AdminServer = c.Values("realms", realm, "admin_server")
		r.KPasswdServer = c.KPasswdServers(realm)
		r.MasterKDC = c.Values("realms", realm, "primary_kdc")
		if len(r.MasterKDC) == 0 {
			r.MasterKDC = c.Values("realms", realm, "master_kdc")
		}
		r.DefaultDomain, _ = c.Value("realms", realm, "default_domain")
		g.Realms = append(g.Realms, r)
	}
	for _, domain := range c.Relations("domain_realm") {
		if v, ok := c.Value("domain_realm", domain); ok {
			g.DomainRealm[domain] = v
		}
	}
	return g
}
