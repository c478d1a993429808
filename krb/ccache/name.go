package ccache

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// osDefaultName is MIT's compiled-in default cache name on Unix (DEFCCNAME).
const osDefaultName = "FILE:/tmp/krb5cc_%{uid}"

// ResolvePath turns a credential cache name into the path of a FILE cache,
// splitting the name as MIT's krb5_cc_resolve does: the type is everything
// before the first ':' and is case-sensitive; a name without ':' (or with a
// one-letter "drive" prefix such as C:) is a FILE path as a whole. So
// "FILE:/x" and "/x" both give "/x".
//
// An empty name, or "FILE:" with nothing after it, is ErrNoName. Any other
// type (KEYRING, KCM, MEMORY, DIR, API, MSLSA, or one MIT does not know) is
// an error wrapping ErrUnsupportedType that names the type.
func ResolvePath(name string) (path string, err error) {
	if name == "" {
		return "", ErrNoName
	}
	typ, rest, found := strings.Cut(name, ":")
	switch {
	case !found || (len(typ) == 1 && isASCIILetter(typ[0])):
		return name, nil
	case typ != "FILE":
		return "", fmt.Errorf("%w %s (only FILE is supported)", ErrUnsupportedType, typ)
	case rest == "":
		return "", fmt.Errorf("%w: %q has no path", ErrNoName, name)
	}
	return rest, nil
}

func isASCIILetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// DefaultName returns the default credential cache name the way MIT's
// krb5_cc_default_name does: $KRB5CCNAME when it is set (even if empty, as
// MIT uses it as is), else configDefault (krb5.conf's libdefaults
// default_ccache_name; pass "" when unset) with its %{...} tokens expanded,
// else "FILE:/tmp/krb5cc_%{uid}" expanded.
//
// If configDefault has a token ExpandPathTokens rejects, MIT fails the lookup;
// this function cannot report that and returns configDefault unexpanded.
// Callers that want the error should validate the setting with
// ExpandPathTokens when reading the configuration.
func DefaultName(configDefault string) string {
	if v, ok := os.LookupEnv("KRB5CCNAME"); ok {
		return v
	}
	name := osDefaultName
	if configDefault != "" {
		name = configDefault
	}
	if expanded, err := ExpandPathTokens(name); err == nil {
		return expanded
	}
	return name
}

// ExpandPathTokens expands the %{...} tokens of a krb5.conf path setting as
// MIT's k5_expand_path_tokens does on Unix:
//
//	%{uid}, %{USERID}  the real user ID
//	%{euid}            the effective user ID
//	%{username}        the effective user's login name
//	%{TEMP}            $TMPDIR, or /tmp
//	%{null}            nothing
//
// Unlike MIT, token names must match exactly (MIT compares only as many
// characters as the token has, so it takes %{u} for %{username}), and
// %{LIBDIR}, %{BINDIR} and %{SBINDIR}, MIT's build-time directories, are
// errors because they cannot be known here. An unknown token or a "%{"
// without a closing "}" is an error, as it is for MIT.
func ExpandPathTokens(path string) (string, error) {
	var b strings.Builder
	s := path
	for {
		before, after, found := strings.Cut(s, "%{")
		b.WriteString(before)
		if !found {
			return b.String(), nil
		}
		tok, rest, found := strings.Cut(after, "}")
		if !found {
			return "", fmt.Errorf("ccache: expanding %q: variable missing }", path)
		}
		v, err := expandToken(tok)
		if err != nil {
			return "", fmt.Errorf("ccache: expanding %%{%s} in %q: %w", tok, path, err)
		}
		b.WriteString(v)
		s = rest
	}
}

func expandToken(tok string) (string, error) {
	switch tok {
	case "uid", "USERID":
		return strconv.Itoa(os.Getuid()), nil
	case "euid":
		return strconv.Itoa(os.Geteuid()), nil
	case "username":
		u, err := user.LookupId(strconv.Itoa(os.Geteuid()))
		if err != nil {
			return "", err
		}
		return u.Username, nil
	case "TEMP":
		if d, ok := os.LookupEnv("TMPDIR"); ok {
			return d, nil
		}
		return "/tmp", nil
	case "null":
		return "", nil
	}
	return "", fmt.Errorf("unsupported token")
}
