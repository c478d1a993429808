package krb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/jcmturner/gokrb5/v8/config"
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
	var all bytes.Buffer
	read := 0
	var firstErr error
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		read++
		all.Write(b)
		all.WriteByte('\n')
	}
	if read == 0 {
		return nil, fmt.Errorf("reading krb5.conf: %w", firstErr)
	}
	return ParseConfig(all.String())
}

// ParseConfig parses krb5.conf text.
func ParseConfig(text string) (cfg *Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			cfg, err = nil, fmt.Errorf("parsing krb5.conf: malformed file")
		}
	}()
	c, err := config.NewFromString(flattenForGokrb5(text))
	var unsupported config.UnsupportedDirective
	if err != nil && !errors.As(err, &unsupported) {
		return nil, fmt.Errorf("parsing krb5.conf: %w", err)
	}
	rel, err := parseRelations(text)
	if err != nil {
		return nil, err
	}
	return &Config{Config: c, relations: rel}, nil
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
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' || s[0] == ';' {
			continue
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
		if strings.HasPrefix(s, "include") || strings.HasPrefix(s, "module") {
			continue // include/includedir/module: not followed (yet)
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
		if len(value) >= 2 && value[0] == '"' {
			if u, err := strconv.Unquote(value); err == nil {
				value = u
			}
		}
		key := strings.Join(append(append([]string(nil), stack...), name), "\x00")
		rel[key] = append(rel[key], value)
	}
	return rel, sc.Err()
}

// flattenForGokrb5 drops what gokrb5's parser cannot read (it panics on a
// subsection nested inside a realm, and misreads per-realm subsections of
// [libdefaults]): every subsection deeper than a realm's own braces. Those
// relations stay available through Values.
func flattenForGokrb5(text string) string {
	var out strings.Builder
	depth, maxDepth := 0, 0
	for _, line := range strings.Split(text, "\n") {
		s := strings.TrimSpace(line)
		if strings.HasPrefix(s, "[") {
			depth = 0
			maxDepth = 0
			if strings.HasPrefix(s, "[realms]") {
				maxDepth = 1
			}
			out.WriteString(line + "\n")
			continue
		}
		opens := strings.HasSuffix(s, "{")
		closes := strings.HasPrefix(s, "}")
		if closes {
			depth--
			if depth+1 > maxDepth {
				continue
			}
		}
		keep := depth < maxDepth || (depth == maxDepth && !opens)
		if opens {
			depth++
			keep = depth <= maxDepth
		}
		if keep {
			out.WriteString(line + "\n")
		}
	}
	return out.String()
}
