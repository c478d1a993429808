package krb

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
)

// Config is a parsed krb5.conf. The typed settings come from gokrb5's
// parser; every relation is also kept as text, so that settings gokrb5 does
// not know (default_ccache_name, disable_encrypted_timestamp,
// spake_preauth_groups, pkinit_anchors...) can be read with Values.
type Config struct {
	*config.Config
	relations map[string][]string
}

// DefaultConfigPaths returns the krb5.conf files MIT krb5 reads: the
// colon-separated list in KRB5_CONFIG, else /etc/krb5.conf.
func DefaultConfigPaths() []string {
	if v := os.Getenv("KRB5_CONFIG"); v != "" {
		return strings.Split(v, ":")
	}
	return []string{"/etc/krb5.conf"}
}

// LoadConfig reads and merges the krb5.conf files at paths (DefaultConfigPaths
// when none are given). A missing file is skipped, as MIT does, unless no
// file can be read at all.
func LoadConfig(paths ...string) (*Config, error) {
	if len(paths) == 0 {
		paths = DefaultConfigPaths()
	}
	var texts []string
	var firstErr error
	for _, p := range paths {
		t, err := readProfile(p, 0)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue // a file that fails, includes and all, adds nothing
		}
		texts = append(texts, t...)
	}
	if len(texts) == 0 {
		if errors.Is(firstErr, fs.ErrNotExist) {
			// MIT runs with an empty profile when no file exists: a
			// realm's KDCs can still come from DNS.
			return ParseConfig("")
		}
		return nil, fmt.Errorf("reading krb5.conf: %w", firstErr)
	}
	return parseTexts(texts)
}

// maxIncludeDepth bounds include nesting, so that a file including itself
// is an error rather than a hang.
const maxIncludeDepth = 8

// readProfile reads a krb5.conf file and the files its "include FILE" and
// "includedir DIR" directives name, as MIT's profile library does: a
// directory contributes the files whose names are made of letters, digits,
// '-' and '_', or end in ".conf", in name order. Each file is returned as
// its own text, to be parsed with its own section state (a section opened
// in an included file does not carry over into the including one); the
// including file's relations come before those of the files it includes.
func readProfile(path string, depth int) ([]string, error) {
	if depth > maxIncludeDepth {
		return nil, fmt.Errorf("%s: includes nested more than %d deep", path, maxIncludeDepth)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var own strings.Builder
	var included []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		directive, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		arg = strings.TrimSpace(arg)
		switch directive {
		case "include":
			t, err := readProfile(arg, depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: include: %w", path, err)
			}
			included = append(included, t...)
		case "includedir":
			entries, err := os.ReadDir(arg)
			if err != nil {
				return nil, fmt.Errorf("%s: includedir: %w", path, err)
			}
			for _, e := range entries {
				if !e.Type().IsRegular() || !includedName(e.Name()) {
					continue
				}
				t, err := readProfile(filepath.Join(arg, e.Name()), depth+1)
				if err != nil {
					return nil, fmt.Errorf("%s: includedir: %w", path, err)
				}
				included = append(included, t...)
			}
		default:
			own.WriteString(line)
		}
	}
	return append([]string{own.String()}, included...), nil
}

// includedName says whether includedir reads a file (MIT's valid_name).
func includedName(name string) bool {
	if strings.HasSuffix(name, ".conf") {
		return true
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return name != ""
}

// ParseConfig parses krb5.conf text. The typed view (the embedded gokrb5
// config.Config, which gokrb5's client also takes) is built from our own
// parse with MIT's defaults: gokrb5's parser compiles regular expressions
// for every line, looks the user up through cgo, panics on some nested
// sections, and its enctype default lacks the RFC 8009 ones.
func ParseConfig(text string) (*Config, error) {
	return parseTexts([]string{text})
}

// parseTexts parses each text on its own and merges the relations in order.
func parseTexts(texts []string) (*Config, error) {
	c := &Config{relations: make(map[string][]string)}
	for _, t := range texts {
		rel, err := parseRelations(t)
		if err != nil {
			return nil, err
		}
		for k, v := range rel {
			c.relations[k] = append(c.relations[k], v...)
		}
	}
	c.Config = c.gokrb5()
	return c, nil
}

// Values returns the values of a relation by its path, for example
// Values("libdefaults", "default_ccache_name") or
// Values("realms", "EXAMPLE.COM", "kdc"), in file order.
func (c *Config) Values(path ...string) []string {
	if c == nil {
		return nil
	}
	return c.relations[strings.Join(path, "\x00")]
}

// Value returns the first value of a relation.
func (c *Config) Value(path ...string) (string, bool) {
	v := c.Values(path...)
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// Bool returns a boolean relation (MIT's true/yes/on/1 and false/no/off/0),
// or def when it is unset or not a boolean.
func (c *Config) Bool(def bool, path ...string) bool {
	v, ok := c.Value(path...)
	if !ok {
		return def
	}
	switch strings.ToLower(v) {
	case "y", "yes", "true", "t", "1", "on":
		return true
	case "n", "no", "false", "nil", "0", "off":
		return false
	}
	return def
}

// RealmBool looks a boolean up in the realm's section first, then in
// [libdefaults], as MIT does for per-realm library settings.
func (c *Config) RealmBool(realm, name string, def bool) bool {
	if _, ok := c.Value("realms", realm, name); ok {
		return c.Bool(def, "realms", realm, name)
	}
	return c.Bool(def, "libdefaults", name)
}

// parseRelations reads MIT's profile syntax: [section] headers, "name =
// value" relations and "name = { ... }" subsections, # and ; comments, and a
// trailing '*' that marks a relation final.
func parseRelations(text string) (map[string][]string, error) {
	rel := make(map[string][]string)
	var stack []string
	// pending is a "name =" whose value is on the next line: MIT's profile
	// syntax allows the opening brace of a subsection there.
	pending := ""
	add := func(name, value string) {
		key := strings.Join(append(append([]string(nil), stack...), name), "\x00")
		rel[key] = append(rel[key], value)
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' || s[0] == ';' {
			continue
		}
		if pending != "" {
			name := pending
			pending = ""
			if s == "{" {
				stack = append(stack, name)
				continue
			}
			add(name, "")
		}
		if s[0] == '[' {
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, fmt.Errorf("krb5.conf line %d: unterminated section header", line)
			}
			stack = []string{strings.TrimSpace(s[1:end])}
			continue
		}
		if s == "}" || strings.HasPrefix(s, "}") {
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if strings.HasPrefix(s, "include ") || strings.HasPrefix(s, "includedir ") {
			continue // followed by LoadConfig; text given to ParseConfig has none
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 || len(stack) == 0 {
			continue // MIT rejects these; gokrb5 already reported what matters
		}
		name := strings.TrimSpace(s[:eq])
		value := strings.TrimSpace(s[eq+1:])
		name = strings.TrimSuffix(name, "*")
		if value == "{" {
			stack = append(stack, name)
			continue
		}
		if value == "" {
			pending = name
			continue
		}
		if len(value) >= 2 && value[0] == '"' {
			if u, err := strconv.Unquote(value); err == nil {
				value = u
			}
		}
		add(name, value)
	}
	if pending != "" {
		add(pending, "")
	}
	return rel, sc.Err()
}

// MIT krb5 1.20's defaults, less camellia (gokrb5 lacks it).
var (
	mitDefaultEnctypeNames = []string{
		"aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96",
		"aes256-cts-hmac-sha384-192", "aes128-cts-hmac-sha256-128",
		"des3-cbc-sha1", "arcfour-hmac",
	}
	// enctypeFamilies are MIT's enctype family names (krb5.conf(5)).
	enctypeFamilies = map[string][]string{
		"aes":      {"aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96", "aes256-cts-hmac-sha384-192", "aes128-cts-hmac-sha256-128"},
		"aes-sha1": {"aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96"},
		"aes-sha2": {"aes256-cts-hmac-sha384-192", "aes128-cts-hmac-sha256-128"},
		"des3":     {"des3-cbc-sha1"},
		"rc4":      {"arcfour-hmac"},
		"DEFAULT":  mitDefaultEnctypeNames,
	}
)

// gokrb5 builds gokrb5's typed config from the relations, with MIT's
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
	num := func(name string, def int) int {
		if v, ok := lib(name); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
		}
		return def
	}
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
	if !flag("kdc_timesync", true) {
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
	enctypes := func(name string) ([]string, []int32) {
		v, ok := lib(name)
		if !ok {
			v = "DEFAULT"
		}
		names := expandEnctypes(v)
		return names, enctypeIDs(names, l.AllowWeakCrypto)
	}
	l.DefaultTktEnctypes, l.DefaultTktEnctypeIDs = enctypes("default_tkt_enctypes")
	l.DefaultTGSEnctypes, l.DefaultTGSEnctypeIDs = enctypes("default_tgs_enctypes")
	l.PermittedEnctypes, l.PermittedEnctypeIDs = enctypes("permitted_enctypes")

	for _, realm := range c.subsections("realms") {
		r := config.Realm{Realm: realm}
		r.KDC = c.Values("realms", realm, "kdc")
		r.AdminServer = c.Values("realms", realm, "admin_server")
		r.KPasswdServer = c.Values("realms", realm, "kpasswd_server")
		r.MasterKDC = append(c.Values("realms", realm, "master_kdc"), c.Values("realms", realm, "primary_kdc")...)
		r.DefaultDomain, _ = c.Value("realms", realm, "default_domain")
		if len(r.KPasswdServer) == 0 {
			for _, a := range r.AdminServer {
				host, _, found := strings.Cut(a, ":")
				if !found || strings.HasPrefix(a, "[") {
					host = a
				}
				r.KPasswdServer = append(r.KPasswdServer, host+":464")
			}
		}
		g.Realms = append(g.Realms, r)
	}
	for key, vals := range c.relations {
		if domain, ok := strings.CutPrefix(key, "domain_realm\x00"); ok && !strings.Contains(domain, "\x00") && len(vals) > 0 {
			g.DomainRealm[domain] = vals[0]
		}
	}
	return g
}

// subsections returns the names of the subsections of a section ("realms"
// gives the realm names), sorted.
func (c *Config) subsections(section string) []string {
	seen := map[string]bool{}
	prefix := section + "\x00"
	for key := range c.relations {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok {
			continue
		}
		if name, _, sub := strings.Cut(rest, "\x00"); sub {
			seen[name] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// expandEnctypes reads MIT's enctype list syntax: names, family names
// (aes, aes-sha1, aes-sha2, des3, rc4, DEFAULT) and "-name" removals.
func expandEnctypes(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		remove := strings.HasPrefix(f, "-")
		f = strings.TrimPrefix(strings.TrimPrefix(f, "-"), "+")
		names, ok := enctypeFamilies[f]
		if !ok {
			names = []string{f}
		}
		for _, n := range names {
			out = slices.DeleteFunc(out, func(x string) bool { return x == n })
			if !remove {
				out = append(out, n)
			}
		}
	}
	return out
}

// mitEnctypeNames are MIT's names where gokrb5's table differs: for MIT,
// des3-cbc-sha1 is the key-derivation enctype 16, as is des3-hmac-sha1.
var mitEnctypeNames = map[string]int32{
	"des3-cbc-sha1":  etypeID.DES3_CBC_SHA1_KD,
	"des3-hmac-sha1": etypeID.DES3_CBC_SHA1_KD,
}

// enctypeIDs maps enctype names to numbers, dropping unknown ones and, unless
// allowWeak, single DES.
func enctypeIDs(names []string, allowWeak bool) []int32 {
	var ids []int32
	for _, n := range names {
		id, ok := mitEnctypeNames[n]
		if !ok {
			id, ok = etypeID.ETypesByName[n]
		}
		if !ok || id == 0 || slices.Contains(ids, id) {
			continue
		}
		if !allowWeak && strings.HasPrefix(n, "des-") {
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

// ParseDuration reads a duration as MIT's krb5_string_to_deltat does, in
// krb5.conf and on kinit's command line: "3600" (seconds), "10h",
// "1d2h30m", "90s", "1:30" (hours:minutes) and "1:30:15".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if n, err := strconv.ParseUint(s, 10, 31); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		units := []time.Duration{time.Hour, time.Minute, time.Second}
		var d time.Duration
		for i, p := range parts {
			n, err := strconv.ParseUint(p, 10, 31)
			if err != nil {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			d += time.Duration(n) * units[i]
		}
		return d, nil
	}
	units := map[rune]time.Duration{'d': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute, 's': time.Second}
	var d time.Duration
	num := ""
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			num += string(r)
		case r == ' ':
		default:
			unit, ok := units[r]
			if !ok || num == "" {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			n, err := strconv.ParseUint(num, 10, 31)
			if err != nil {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			d += time.Duration(n) * unit
			num = ""
		}
	}
	if num != "" {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return d, nil
}
