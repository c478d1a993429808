package krbtest

import (
	"fmt"
	"strings"
	"time"
)

// Option configures a realm started by Start or NewRealm.
type Option func(*config)

// config collects the realm options. New options add fields here, so the
// Option type never changes.
type config struct {
	name               string
	kdcDefaults        string
	kdcRealm           string
	kdcSections        []confSection
	kdcKrb5Libdefaults string
	clientLibdefaults  string
	clientRealm        string // extra lines in the client's realm section
	supportedEnctypes  []string
	startTimeout       time.Duration
	kdcClockOffset     time.Duration
}

// confSection is an extra top-level section of a profile file.
type confSection struct {
	name string
	body string
}

// DefaultRealmName is the realm name used when WithName is not given.
const DefaultRealmName = "KRBTEST.GOKINIT.TEST"

// DefaultSupportedEnctypes is the realm's supported_enctypes unless
// WithSupportedEnctypes says otherwise. New principals get one key per entry.
var DefaultSupportedEnctypes = []string{
	"aes256-cts-hmac-sha1-96:normal",
	"aes128-cts-hmac-sha1-96:normal",
	"aes256-cts-hmac-sha384-192:normal",
	"aes128-cts-hmac-sha256-128:normal",
}

func defaultConfig() config {
	return config{
		name:              DefaultRealmName,
		supportedEnctypes: append([]string(nil), DefaultSupportedEnctypes...),
		startTimeout:      10 * time.Second,
	}
}

// WithName sets the realm name (default DefaultRealmName). Use distinct names
// when a test needs several realms that a client must tell apart.
func WithName(realm string) Option {
	return func(c *config) { c.name = realm }
}

// WithKDCConf adds lines to the KDC's kdc.conf: kdcdefaults goes into the
// [kdcdefaults] section and realm into this realm's subsection of [realms].
// Either may be empty; each line is one "relation = value". A relation named
// here replaces the package's default for it (for example
// "max_life = 1h 0m 0s" or "default_principal_flags = +preauth"). Do not
// override kdc_listen or kdc_tcp_listen: KDCAddr would no longer be right.
// The option may be given several times; lines accumulate.
func WithKDCConf(kdcdefaults, realm string) Option {
	return func(c *config) {
		c.kdcDefaults = joinLines(c.kdcDefaults, kdcdefaults)
		c.kdcRealm = joinLines(c.kdcRealm, realm)
	}
}

// WithKDCConfSection appends a whole extra section to the KDC's kdc.conf,
// for example WithKDCConfSection("otp", "DEFAULT = {\n strip_realm = false\n}")
// or a [plugins] section. body holds the lines that follow the "[name]"
// header.
func WithKDCConfSection(name, body string) Option {
	return func(c *config) { c.kdcSections = append(c.kdcSections, confSection{name, body}) }
}

// WithKrb5Conf adds lines to the [libdefaults] section of the krb5.conf that
// the KDC and kadmin.local read (not the client one, see
// WithClientLibdefaults). A relation named here replaces the package's
// default for it.
func WithKrb5Conf(libdefaults string) Option {
	return func(c *config) { c.kdcKrb5Libdefaults = joinLines(c.kdcKrb5Libdefaults, libdefaults) }
}

// WithClientLibdefaults adds lines to the [libdefaults] section of the client
// krb5.conf (Realm.ConfigPath), for example "udp_preference_limit = 1". A
// relation named here replaces the package's default for it.
func WithClientLibdefaults(lines string) Option {
	return func(c *config) { c.clientLibdefaults = joinLines(c.clientLibdefaults, lines) }
}

// WithSupportedEnctypes sets the realm's supported_enctypes, the key/salt
// tuples (such as "aes256-cts-hmac-sha1-96:normal") that new principals and
// krbtgt get by default. Default DefaultSupportedEnctypes.
func WithSupportedEnctypes(keysalts ...string) Option {
	return func(c *config) { c.supportedEnctypes = append([]string(nil), keysalts...) }
}

// WithKDCClockOffset runs the realm's krb5kdc with its clock d ahead of the
// machine's (behind when negative), through libfaketime's LD_PRELOAD
// (Debian's libfaketime); a client then sees a KDC whose time differs from
// its own, as MIT's kdc_timesync and clock-skew handling expect to meet.
// NewRealm skips (or fails under KRBTEST_REQUIRE=1) when libfaketime is
// missing. Whole seconds only.
func WithKDCClockOffset(d time.Duration) Option {
	return func(c *config) { c.kdcClockOffset = d }
}

// FaketimeLib is where Debian's libfaketime keeps the preload library.
const FaketimeLib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

// WithStartTimeout bounds how long Start waits for krb5kdc to listen
// (default 10s).
func WithStartTimeout(d time.Duration) Option {
	return func(c *config) { c.startTimeout = d }
}

// Salt types accepted by MIT kadmin in a key/salt tuple ("enctype:salttype")
// for AES and camellia keys, as of MIT krb5 1.20. The DES-era types "v4" and
// "afs3" are not: kadmin.local silently ignores such tuples (AddPrincipal
// reports an error).
const (
	// SaltNormal is the default salt: REALM followed by the name components
	// ("KRBTEST.GOKINIT.TESTalice").
	SaltNormal = "normal"
	// SaltNoRealm is the name components without the realm ("alice",
	// "HTTPhost.example" for HTTP/host.example).
	SaltNoRealm = "norealm"
	// SaltOnlyRealm is the realm name alone ("KRBTEST.GOKINIT.TEST").
	SaltOnlyRealm = "onlyrealm"
	// SaltSpecial is a random salt chosen by kadmin (16 printable
	// characters), stored with the key and sent in PA-ETYPE-INFO2.
	SaltSpecial = "special"
)

// PrincipalOption configures AddPrincipal and AddRandomKeyPrincipal.
type PrincipalOption func(*principalConfig)

type principalConfig struct {
	flags    []string
	enctypes []string
	salt     string
	noKey    bool
	args     []string
}

// RequiresPreauth sets +requires_preauth, so the KDC demands encrypted
// timestamp (or other) pre-authentication.
func RequiresPreauth() PrincipalOption {
	return Flags("+requires_preauth")
}

// Enctypes gives the principal exactly these key/salt tuples (addprinc -e),
// e.g. Enctypes("aes256-cts-hmac-sha384-192:normal") or
// Enctypes("aes256-cts-hmac-sha1-96:norealm"). The salt part is optional
// (default normal). MIT silently drops tuples it does not accept; krbtest
// checks the keys it got afterwards and reports an error instead.
func Enctypes(keysalts ...string) PrincipalOption {
	return func(p *principalConfig) { p.enctypes = append(p.enctypes, keysalts...) }
}

// Salt sets the salt type of every key: of the Enctypes tuples if given,
// else of the realm's supported enctypes. Use SaltNoRealm, SaltOnlyRealm or
// SaltSpecial to get a salt other than the default REALM+name. It has no
// visible effect on random keys (AddRandomKeyPrincipal), which have no salt.
func Salt(saltType string) PrincipalOption {
	return func(p *principalConfig) { p.salt = saltType }
}

// NoKey creates the principal without keys (addprinc -nokey), for keys
// added later (e.g. Kadmin("cpw", "-pw", pw, name)) or for principals
// that authenticate without long-term keys. With AddPrincipal the password
// must be empty.
func NoKey() PrincipalOption {
	return func(p *principalConfig) { p.noKey = true }
}

// Flags sets principal attributes, each "+name" or "-name" as kadmin's
// addprinc takes them, e.g. Flags("+requires_preauth", "-allow_tix",
// "+ok_as_delegate").
func Flags(flags ...string) PrincipalOption {
	return func(p *principalConfig) { p.flags = append(p.flags, flags...) }
}

// Args passes extra addprinc argv words as they are, e.g.
// Args("-maxlife", "1h", "-policy", "strict").
func Args(words ...string) PrincipalOption {
	return func(p *principalConfig) { p.args = append(p.args, words...) }
}

func (p *principalConfig) validate() error {
	for _, f := range p.flags {
		if len(f) < 2 || (f[0] != '+' && f[0] != '-') {
			return fmt.Errorf("krbtest: flag %q must start with + or -", f)
		}
	}
	if p.salt != "" && strings.ContainsAny(p.salt, ": ,\t") {
		return fmt.Errorf("krbtest: bad salt type %q", p.salt)
	}
	return nil
}

// keysalts returns the tuples to pass with -e, or nil for the realm default.
func (p *principalConfig) keysalts(supported []string) []string {
	ks := p.enctypes
	if p.salt == "" {
		return dedup(ks)
	}
	if len(ks) == 0 {
		ks = supported
	}
	out := make([]string, 0, len(ks))
	for _, k := range ks {
		enc, _, _ := strings.Cut(k, ":")
		out = append(out, enc+":"+p.salt)
	}
	return dedup(out)
}

func dedup(ks []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range ks {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

func joinLines(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}
