package main

import (
	"fmt"
	"strings"
)

// option is one parsed command-line option: a short option letter, or for
// a long option the letter it stands for (MIT's long_options), or 0 with
// long set for one that only sets a flag; '?' is an error, its message in
// arg, kept in its place so that it is printed in order.
type option struct {
	name byte
	arg  string
	long string
}

// longOption is one entry of MIT kinit's long_options table.
type longOption struct {
	name string
	val  byte // the short option it stands for, or 0
}

// mitLongOptions is MIT 1.20 kinit's long_options, in its order (the order
// of glibc's "possibilities" list).
var mitLongOptions = []longOption{
	{"noforwardable", 'F'},
	{"noproxiable", 'P'},
	{"addresses", 'a'},
	{"forwardable", 'f'},
	{"proxiable", 'p'},
	{"noaddresses", 'A'},
	{"canonicalize", 'C'},
	{"enterprise", 'E'},
	{"request-pac", 0},
	{"no-request-pac", 0},
}

// getopt parses args as glibc's getopt_long does for MIT's kinit: short
// options may be clustered ("-kt FILE"), an argument may be attached
// ("-l1h") or separate ("-l 1h"), options and operands may be mixed (the
// operands are permuted to the end), "--" ends the options, and a long
// option may be abbreviated to any unambiguous prefix. Each error is
// an option '?' holding glibc's message, prefixed with prog (argv[0]), in
// its place among the options; parsing goes on, as getopt's caller does.
// --responder=json (this kinit's own) is recognised only spelled out.
func getopt(args []string, spec, prog string) (opts []option, operands []string) {
	fail := func(format string, a ...any) {
		opts = append(opts, option{name: '?', arg: fmt.Sprintf("%s: "+format, append([]any{prog}, a...)...)})
	}
	takesArg := func(c byte) (known, arg bool) {
		i := strings.IndexByte(spec, c)
		if i < 0 || c == ':' {
			return false, false
		}
		return true, i+1 < len(spec) && spec[i+1] == ':'
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			operands = append(operands, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "--") {
			name, value, hasValue := strings.Cut(a[2:], "=")
			if name == "responder" {
				if !hasValue && i+1 < len(args) {
					i++
					value, hasValue = args[i], true
				}
				if !hasValue {
					fail("option '--responder' requires an argument")
					continue
				}
				opts = append(opts, option{long: "responder", arg: value})
				continue
			}
			var matches []longOption
			for _, lo := range mitLongOptions {
				if lo.name == name {
					matches = []longOption{lo}
					break
				}
				if strings.HasPrefix(lo.name, name) {
					matches = append(matches, lo)
				}
			}
			switch {
			case len(matches) == 0:
				fail("unrecognized option '%s'", a)
			case len(matches) > 1:
				var list strings.Builder
				for _, m := range matches {
					fmt.Fprintf(&list, " '--%s'", m.name)
				}
				fail("option '%s' is ambiguous; possibilities:%s", a, list.String())
			case hasValue:
				fail("option '--%s' doesn't allow an argument", matches[0].name)
			default:
				opts = append(opts, option{name: matches[0].val, long: matches[0].name})
			}
			continue
		}
		if len(a) < 2 || a[0] != '-' {
			operands = append(operands, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			known, hasArg := takesArg(c)
			if !known {
				fail("invalid option -- '%c'", c)
				continue
			}
			if !hasArg {
				opts = append(opts, option{name: c})
				continue
			}
			if j+1 < len(a) {
				opts = append(opts, option{name: c, arg: a[j+1:]})
			} else if i+1 < len(args) {
				i++
				opts = append(opts, option{name: c, arg: args[i]})
			} else {
				fail("option requires an argument -- '%c'", c)
			}
			break
		}
	}
	return opts, operands
}
