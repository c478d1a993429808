package krb

import (
	"fmt"
	"strings"

	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Principal is a Kerberos principal name with its realm (RFC 4120 §6.2).
type Principal struct {
	Name  types.PrincipalName
	Realm string
}

// ParsePrincipal parses MIT's text form "comp1/comp2@REALM", where a
// backslash escapes '/', '@' and itself (krb5_parse_name). A name without a
// realm takes defaultRealm. With enterprise set the name before the realm is
// one NT-ENTERPRISE component (RFC 6806 §5), so "bob@example.com" is the
// enterprise name bob@example.com in defaultRealm.
func ParsePrincipal(s, defaultRealm string, enterprise bool) (Principal, error) {
	if s == "" {
		return Principal{}, fmt.Errorf("empty principal name")
	}
	var comps []string
	var cur strings.Builder
	realm, haveRealm := "", false
	ats := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			if i+1 >= len(s) {
				return Principal{}, fmt.Errorf("%w %q: trailing backslash", ErrMalformedPrincipal, s)
			}
			i++
			switch s[i] {
			case 'n':
				cur.WriteByte('\n')
			case 't':
				cur.WriteByte('\t')
			case 'b':
				cur.WriteByte('\b')
			case '0':
				cur.WriteByte(0)
			default:
				cur.WriteByte(s[i])
			}
			continue
		}
		switch {
		case c == '@' && enterprise && ats == 0:
			// In an enterprise name the first '@' belongs to the name
			// ("bob@example.com"); a second one starts the realm.
			cur.WriteByte(c)
			ats++
		case c == '@':
			if haveRealm {
				return Principal{}, fmt.Errorf("%w %q: more than one realm", ErrMalformedPrincipal, s)
			}
			comps = append(comps, cur.String())
			cur.Reset()
			haveRealm = true
		case c == '/' && !haveRealm && !enterprise:
			comps = append(comps, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if haveRealm {
		realm = cur.String()
		if realm == "" {
			return Principal{}, fmt.Errorf("%w %q: empty realm", ErrMalformedPrincipal, s)
		}
	} else {
		comps = append(comps, cur.String())
		realm = defaultRealm
	}
	if realm == "" {
		return Principal{}, fmt.Errorf("principal %q has no realm and no default_realm is configured", s)
	}
	for _, c := range comps {
		if c == "" {
			return Principal{}, fmt.Errorf("%w %q: empty component", ErrMalformedPrincipal, s)
		}
	}
	nt := int32(nametype.KRB_NT_PRINCIPAL)
	if enterprise {
		nt = nametype.KRB_NT_ENTERPRISE
	} else if len(comps) == 2 && comps[0] == "krbtgt" {
		nt = nametype.KRB_NT_SRV_INST
	}
	return Principal{Name: types.PrincipalName{NameType: nt, NameString: comps}, Realm: realm}, nil
}

// String returns MIT's text form, escaping as krb5_unparse_name does.
func (p Principal) String() string {
	return unparse(p.Name.NameString, p.Realm)
}

func unparse(comps []string, realm string) string {
	var b strings.Builder
	for i, c := range comps {
		if i > 0 {
			b.WriteByte('/')
		}
		writeEscaped(&b, c, true)
	}
	b.WriteByte('@')
	writeEscaped(&b, realm, false)
	return b.String()
}

func writeEscaped(b *strings.Builder, s string, component bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '@' || (component && c == '/'):
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
}

// kdcOptRequestAnonymous is the request-anonymous KDC option (RFC 8062 §3).
const kdcOptRequestAnonymous = 16

// Anonymous principal names (RFC 8062 §3).
const (
	AnonymousRealm    = "WELLKNOWN:ANONYMOUS"
	nameTypeWellKnown = 11
)

// AnonymousPrincipal returns WELLKNOWN/ANONYMOUS@realm.
func AnonymousPrincipal(realm string) Principal {
	return Principal{Name: types.PrincipalName{NameType: nameTypeWellKnown, NameString: []string{"WELLKNOWN", "ANONYMOUS"}}, Realm: realm}
}

// TGSPrincipal returns krbtgt/REALM@REALM.
func TGSPrincipal(realm string) Principal {
	return Principal{Name: types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", realm}}, Realm: realm}
}

func sameName(a, b types.PrincipalName) bool {
	if len(a.NameString) != len(b.NameString) {
		return false
	}
	for i := range a.NameString {
		if a.NameString[i] != b.NameString[i] {
			return false
		}
	}
	return true
}
