package main

import (
	"fmt"
	"strings"
)

// option is one parsed command-line option.
type option struct {
	name byte
	arg  string
}

// getopt parses args the way glibc's getopt does for MIT's kinit: short
// options may be clustered ("-kt FILE"), an argument may be attached
// ("-l1h") or separate ("-l 1h"), options and operands may be mixed, and
// "--" ends the options. spec lists the letters, a ':' after one that takes
// an argument.
func getopt(args []string, spec string) (opts []option, operands []string, err error) {
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
		if len(a) < 2 || a[0] != '-' {
			operands = append(operands, a)
			continue
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			known, hasArg := takesArg(c)
			if !known {
				return nil, nil, fmt.Errorf("invalid option -- '%c'", c)
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
				return nil, nil, fmt.Errorf("option requires an argument -- '%c'", c)
			}
			break
		}
	}
	return opts, operands, nil
}
