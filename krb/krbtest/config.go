package krbtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// relation is one "key = value" line of a profile section.
type relation struct{ key, value string }

// writeSection writes "[name]" with the default relations, skipping those
// whose key the extra lines name, followed by the extra lines.
func writeSection(b *strings.Builder, name string, defaults []relation, extra string) {
	fmt.Fprintf(b, "[%s]\n", name)
	writeRelations(b, " ", defaults, extra)
	b.WriteString("\n")
}

func writeRelations(b *strings.Builder, indent string, defaults []relation, extra string) {
	named := relationKeys(extra)
	for _, r := range defaults {
		if !named[r.key] {
			fmt.Fprintf(b, "%s%s = %s\n", indent, r.key, r.value)
		}
	}
	for _, line := range strings.Split(extra, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			fmt.Fprintf(b, "%s%s\n", indent, line)
		}
	}
}

// relationKeys returns the relation names that the lines of extra set.
// MIT's profile library takes the first value of a repeated relation in some
// places and the last in others, so instead of repeating a relation the
// package leaves its default out.
func relationKeys(extra string) map[string]bool {
	keys := map[string]bool{}
	for _, line := range strings.Split(extra, "\n") {
		if k, _, ok := strings.Cut(line, "="); ok {
			keys[strings.TrimSpace(k)] = true
		}
	}
	return keys
}

// overrideLines returns base without the relations that extra names,
// followed by extra.
func overrideLines(base, extra string) string {
	named := relationKeys(extra)
	var kept []string
	for _, line := range strings.Split(base, "\n") {
		if k, _, ok := strings.Cut(line, "="); ok && named[strings.TrimSpace(k)] {
			continue
		}
		kept = append(kept, line)
	}
	return joinLines(strings.Join(kept, "\n"), extra)
}

func (r *Realm) libdefaults() []relation {
	return []relation{
		{"default_realm", r.Name},
		{"dns_lookup_kdc", "false"},
		{"dns_lookup_realm", "false"},
		{"dns_canonicalize_hostname", "false"},
		{"rdns", "false"},
	}
}

// krb5Conf renders a krb5.conf for this realm: libdefaults lines, the KDC
// list and extra lines for the realm's subsection.
func (r *Realm) krb5Conf(extraLibdefaults string, kdcs []string, extraRealm string) string {
	var b strings.Builder
	writeSection(&b, "libdefaults", r.libdefaults(), extraLibdefaults)
	fmt.Fprintf(&b, "[realms]\n %s = {\n", r.Name)
	for _, k := range kdcs {
		fmt.Fprintf(&b, "  kdc = %s\n", k)
	}
	writeRelations(&b, "  ", nil, extraRealm)
	b.WriteString(" }\n")
	return b.String()
}

// kdcConf renders kdc.conf for the KDC-side tools.
func (r *Realm) kdcConf() string {
	c := &r.cfg
	var b strings.Builder
	writeSection(&b, "kdcdefaults", []relation{
		{"kdc_listen", r.KDCAddr},
		{"kdc_tcp_listen", r.KDCAddr},
	}, c.kdcDefaults)
	fmt.Fprintf(&b, "[realms]\n %s = {\n", r.Name)
	writeRelations(&b, "  ", []relation{
		{"database_name", filepath.Join(r.Dir, "principal")},
		{"key_stash_file", filepath.Join(r.Dir, "stash")},
		{"acl_file", filepath.Join(r.Dir, "kadm5.acl")},
		{"max_life", "24h 0m 0s"},
		{"max_renewable_life", "7d 0h 0m 0s"},
		{"supported_enctypes", strings.Join(c.supportedEnctypes, " ")},
	}, c.kdcRealm)
	b.WriteString(" }\n\n")
	writeSection(&b, "logging", []relation{
		{"kdc", "FILE:" + filepath.Join(r.Dir, kdcLogName)},
		{"admin_server", "FILE:" + filepath.Join(r.Dir, kadminLogName)},
		{"default", "FILE:" + filepath.Join(r.Dir, defaultLogName)},
	}, "")
	for _, s := range c.kdcSections {
		writeSection(&b, s.name, nil, s.body)
	}
	return b.String()
}

// writeConfigs (re)writes kdc.conf, the KDC-side krb5.conf and the client
// krb5.conf for the current KDCAddr.
func (r *Realm) writeConfigs() error {
	files := []struct{ path, text string }{
		{r.KDCProfilePath, r.kdcConf()},
		{r.KDCConfigPath, r.krb5Conf(r.cfg.kdcKrb5Libdefaults, []string{r.KDCAddr}, "")},
		{r.ConfigPath, r.krb5Conf(r.cfg.clientLibdefaults, []string{r.KDCAddr}, r.cfg.clientRealm)},
		{filepath.Join(r.Dir, "kadm5.acl"), fmt.Sprintf("*/admin@%s *\n", r.Name)},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, []byte(f.text), 0o600); err != nil {
			return fmt.Errorf("krbtest: %w", err)
		}
	}
	return nil
}

// WriteClientConfig writes a variant of the client krb5.conf (ConfigPath)
// into Dir and returns its path, for a test that needs other client
// settings: extraLibdefaults goes into [libdefaults] and extraRealm into
// this realm's subsection of [realms]. A relation named in the extra lines
// replaces the package's default and the WithClientLibdefaults line for it;
// "kdc = ..." in extraRealm adds a KDC after the real one. Point
// KRB5_CONFIG (or a client library) at the returned path.
func (r *Realm) WriteClientConfig(extraLibdefaults, extraRealm string) (path string, err error) {
	return r.WriteClientConfigWithKDCs(nil, extraLibdefaults, extraRealm)
}

// WriteClientConfigWithKDCs is WriteClientConfig with extra KDC addresses
// ("host:port") listed before the realm's real KDC, so a test can make a
// client meet a dead or misbehaving KDC first.
func (r *Realm) WriteClientConfigWithKDCs(kdcs []string, extraLibdefaults, extraRealm string) (path string, err error) {
	all := append(append([]string(nil), kdcs...), r.KDCAddr)
	text := r.krb5Conf(overrideLines(r.cfg.clientLibdefaults, extraLibdefaults), all, joinLines(r.cfg.clientRealm, extraRealm))
	path = filepath.Join(r.Dir, fmt.Sprintf("krb5-client-%d.conf", r.seq.Add(1)))
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return "", fmt.Errorf("krbtest: %w", err)
	}
	return path, nil
}
