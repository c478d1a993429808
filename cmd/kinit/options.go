package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/gokinit/gokinit/krb"
)

// action is what kinit does (MIT's action_type): the last of -k, -R and -v
// given wins, as in MIT's parse_options.
type action int

const (
	initPW action = iota
	initKT
	renewAction
	validateAction
)

const optSpec = "r:fpFPn54aAVl:s:c:kit:T:RS:vX:CEI:"

// parseOptions is MIT 1.20 kinit's parse_options: every option is read,
// each problem is reported on stderr as it is met, then the exclusions
// ("Only one of -f and -F allowed", ...), "keytab specified, forcing -k" and
// extra arguments; any problem ends in the usage text and exit status 2
// (returned as code). -4 exits 3 at once. code 0 means go on.
func parseOptions(args []string, prog string, stderr io.Writer, now time.Time) (s *settings, code int) {
	s = &settings{}
	opts, operands := getopt(args, optSpec, prog)
	errflg := 0
	var forwardable, notForwardable, proxiable, notProxiable, addresses, noAddresses bool
	var requestPAC, noRequestPAC bool
	act := initPW
	for _, o := range opts {
		switch o.name {
		case '?':
			fmt.Fprintln(stderr, o.arg)
			errflg++
		case 0:
			switch o.long {
			case "request-pac":
				requestPAC = true
			case "no-request-pac":
				noRequestPAC = true
			case "responder":
				if o.arg != "json" {
					fmt.Fprintf(stderr, "%s: unknown responder '%s' (only json is supported)\n", filepath.Base(prog), o.arg)
					errflg++
				}
				s.jsonProto = true
			}
		case 'V':
			s.verbose = true
		case 'l', 'r':
			d, err := krb.ParseDeltat(o.arg)
			if err != nil || d == 0 {
				fmt.Fprintf(stderr, "Bad lifetime value %s\n", o.arg)
				errflg++
				break
			}
			if o.name == 'l' {
				s.lifetime = time.Duration(d) * time.Second
			} else {
				s.renew = time.Duration(d) * time.Second
			}
		case 'f':
			forwardable = true
		case 'F':
			notForwardable = true
		case 'p':
			proxiable = true
		case 'P':
			notProxiable = true
		case 'n':
			s.anonymous = true
		case 'a':
			addresses = true
		case 'A':
			noAddresses = true
		case 's':
			d, err := krb.ParseDeltat(o.arg)
			if err != nil || d == 0 {
				// An absolute time: undocumented in MIT, kept there for
				// compatibility.
				t, ok := stringToTimestamp(o.arg, now)
				if !ok {
					fmt.Fprintf(stderr, "Bad start time value %s\n", o.arg)
					errflg++
					break
				}
				d = int32(t.Unix() - now.Unix())
			}
			s.startIn = time.Duration(d) * time.Second
		case 'S':
			s.service = o.arg
		case 'k':
			act = initKT
		case 'i':
			s.clientKeytab = true
		case 't':
			if s.keytabSet {
				fmt.Fprintln(stderr, "Only one -t option allowed.")
				errflg++
			} else {
				s.keytabName, s.keytabSet = o.arg, true
			}
		case 'T':
			if s.armorCache != "" {
				fmt.Fprintln(stderr, "Only one armor_ccache")
				errflg++
			} else {
				s.armorCache = o.arg
			}
		case 'R':
			act = renewAction
		case 'v':
			act = validateAction
		case 'c':
			if s.cacheSet {
				fmt.Fprintln(stderr, "Only one -c option allowed")
				errflg++
			} else {
				s.cacheName, s.cacheSet = o.arg, true
			}
		case 'I':
			if s.inCacheName != "" {
				fmt.Fprintln(stderr, "Only one -I option allowed")
				errflg++
			} else {
				s.inCacheName = o.arg
			}
		case 'X':
			name, value, ok := strings.Cut(o.arg, "=")
			if !ok {
				value = "yes" // MIT: an attribute without a value means yes
			}
			s.paOptions = append(s.paOptions, [2]string{name, value})
		case 'C':
			s.canonicalize = true
		case 'E':
			s.enterprise = true
		case '4':
			fmt.Fprintln(stderr, "Kerberos 4 is no longer supported")
			return nil, 3
		case '5':
		}
	}
	for _, x := range []struct {
		a, b bool
		msg  string
	}{
		{forwardable, notForwardable, "Only one of -f and -F allowed"},
		{proxiable, notProxiable, "Only one of -p and -P allowed"},
		{requestPAC, noRequestPAC, "Only one of --request-pac and --no-request-pac allowed"},
		{addresses, noAddresses, "Only one of -a and -A allowed"},
		{s.keytabSet, s.clientKeytab, "Only one of -t and -i allowed"},
	} {
		if x.a && x.b {
			fmt.Fprintln(stderr, x.msg)
			errflg++
		}
	}
	if (s.keytabSet || s.clientKeytab) && act != initKT {
		act = initKT
		fmt.Fprintln(stderr, "keytab specified, forcing -k")
	}
	if len(operands) > 1 {
		fmt.Fprintf(stderr, "Extra arguments (starting with \"%s\").\n", operands[1])
		errflg++
	}
	if errflg > 0 {
		usage(stderr, filepath.Base(prog))
		return nil, 2
	}
	t, f := true, false
	pick := func(yes, no bool) *bool {
		switch {
		case yes:
			return &t
		case no:
			return &f
		}
		return nil
	}
	s.forwardable = pick(forwardable, notForwardable)
	s.proxiable = pick(proxiable, notProxiable)
	s.addresses = pick(addresses, noAddresses)
	s.requestPAC = pick(requestPAC, noRequestPAC)
	s.useKeytab = act == initKT
	s.renewTGT = act == renewAction
	s.validate = act == validateAction
	if len(operands) == 1 {
		s.principal = operands[0]
	}
	return s, 0
}

// usage is MIT 1.20 kinit's usage(), with this kinit's --responder=json.
func usage(w io.Writer, prog string) {
	fmt.Fprintf(w, `Usage: %s [-V] [-l lifetime] [-s start_time] [-r renewable_life]
	[-f | -F] [-p | -P] [-n] [-a | -A] [-C] [-E]
	[--request-pac | --no-request-pac]
	[-v] [-R] [-k [-i|-t keytab_file]] [-c cachename]
	[-S service_name] [-I input_ccache] [-T ticket_armor_cache]
	[-X <attribute>[=<value>]] [--responder=json] [principal]

    options:
	-V verbose
	-l lifetime
	-s start time
	-r renewable lifetime
	-f forwardable
	-F not forwardable
	-p proxiable
	-P not proxiable
	-n anonymous
	-a include addresses
	-A do not include addresses
	-v validate
	-R renew
	-C canonicalize
	-E client is enterprise principal name
	-k use keytab
	-i use default client keytab (with -k)
	-t filename of keytab to use
	-c Kerberos 5 cache name
	-S service
	-I input credential cache
	-T armor credential cache
	-X <attribute>[=<value>]
	--{,no}-request-pac request KDC include/exclude a PAC
	--responder=json answer questions as JSON lines on standard input and output
`, prog)
}

// timestampFormats is MIT's atime_format_table (krb5_string_to_timestamp,
// lib/krb5/krb/str_conv.c), with %T, %R, %x and %X spelled out as the C
// locale defines them.
var timestampFormats = []string{
	"%Y%m%d%H%M%S",
	"%Y.%m.%d.%H.%M.%S",
	"%y%m%d%H%M%S",
	"%y.%m.%d.%H.%M.%S",
	"%y%m%d%H%M",
	"%H%M%S",
	"%H%M",
	"%H:%M:%S",
	"%H:%M",
	"%m/%d/%y:%H:%M:%S",
	"%d-%b-%Y:%H:%M:%S",
	"%d-%b-%Y:%H:%M",
}

// stringToTimestamp is krb5_string_to_timestamp: the first format of
// timestampFormats that glibc's strptime takes whole (trailing blanks
// allowed), the fields it leaves out taken from now, in local time.
func stringToTimestamp(s string, now time.Time) (time.Time, bool) {
	now = now.Local()
	for _, f := range timestampFormats {
		tm := tmFields{year: now.Year(), mon: int(now.Month()), day: now.Day(), hour: now.Hour(), min: now.Minute(), sec: now.Second()}
		rest, ok := strptime(s, f, &tm)
		if !ok || rest == s || strings.TrimLeftFunc(rest, unicode.IsSpace) != "" {
			continue
		}
		if tm.year <= 1900 {
			continue // "clearly confused"
		}
		return time.Date(tm.year, time.Month(tm.mon), tm.day, tm.hour, tm.min, tm.sec, 0, time.Local), true
	}
	return time.Time{}, false
}

type tmFields struct{ year, mon, day, hour, min, sec int }

var monthNames = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}

// strptime is the part of glibc's strptime the formats above use: numbers
// of up to the field's width after optional blanks, in the field's range;
// %y as 1969-2068; %b as a month's full or three-letter name in any case;
// other characters matched literally.
func strptime(s, format string, tm *tmFields) (rest string, ok bool) {
	number := func(lo, hi, width int) (int, bool) {
		s = strings.TrimLeft(s, " \t\n\v\f\r")
		n, i := 0, 0
		for i < width && i < len(s) && s[i] >= '0' && s[i] <= '9' {
			n = n*10 + int(s[i]-'0')
			i++
		}
		if i == 0 || n < lo || n > hi {
			return 0, false
		}
		s = s[i:]
		return n, true
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			if len(s) == 0 || s[0] != c {
				return s, false
			}
			s = s[1:]
			continue
		}
		i++
		var ok bool
		switch format[i] {
		case 'Y':
			tm.year, ok = number(0, 9999, 4)
		case 'y':
			var y int
			if y, ok = number(0, 99, 2); ok {
				if y < 69 {
					y += 100
				}
				tm.year = 1900 + y
			}
		case 'm':
			tm.mon, ok = number(1, 12, 2)
		case 'd':
			tm.day, ok = number(1, 31, 2)
		case 'H':
			tm.hour, ok = number(0, 23, 2)
		case 'M':
			tm.min, ok = number(0, 59, 2)
		case 'S':
			tm.sec, ok = number(0, 61, 2)
		case 'b':
			s = strings.TrimLeft(s, " \t\n\v\f\r")
			for m, name := range monthNames {
				for _, n := range []string{name, name[:3]} {
					if len(s) >= len(n) && strings.EqualFold(s[:len(n)], n) {
						tm.mon, ok = m+1, true
						s = s[len(n):]
						break
					}
				}
				if ok {
					break
				}
			}
		}
		if !ok {
			return s, false
		}
	}
	return s, true
}
