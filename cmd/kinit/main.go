// Command kinit obtains a Kerberos ticket-granting ticket and stores it in
// a credential cache, with the flags of MIT krb5's kinit:
//
//	kinit [-V] [-n] [-R | -v] [-l lifetime] [-s start_time] [-r renewable_life] [-f | -F] [-p | -P]
//	      [-k [-i | -t keytab_file]] [-c cache_name] [-S service_name] [-T armor_ccache]
//	      [-C] [-E] [-X attribute[=value]] [principal]
//
// The password is read from the terminal without echo, or as a line from
// standard input when it is not a terminal. KRB5_CONFIG, KRB5CCNAME and
// KRB5_TRACE work as in MIT krb5.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/prompter"
)

const optSpec = "r:fpFPn54aAVl:s:c:kit:T:RS:vX:CEI:"

func main() {
	// As MIT's kinit: SIGINT is caught only while a reply is read (the
	// prompter and the JSON responder catch it and report "Password read
	// interrupted"); at any other moment it ends the process as usual.
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type settings struct {
	verbose      bool
	lifetime     time.Duration
	renew        time.Duration
	forwardable  *bool
	proxiable    *bool
	useKeytab    bool
	keytabName   string
	cacheName    string
	service      string
	canonicalize bool
	enterprise   bool
	principal    string
	armorCache   string
	jsonProto    bool
	anonymous    bool
	renewTGT     bool          // -R
	validate     bool          // -v
	addresses    *bool         // -a / -A
	startIn      time.Duration // -s
	clientKeytab bool          // -i
	paOptions    [][2]string
}

func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "kinit: %v\n", fmt.Errorf(format, a...))
		return 1
	}
	s, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "kinit: %v\n", err)
		usage(stderr)
		return 2 // as MIT's usage()
	}
	var jr *jsonResponder
	if s.jsonProto {
		jr = newJSONResponder(stdin, stdout)
		fail = func(format string, a ...any) int {
			jr.result(nil, "", fmt.Errorf(format, a...))
			return 1
		}
	}
	cfg, err := krb.LoadConfig()
	if err != nil {
		return fail("%v while initializing Kerberos 5 library", err)
	}

	principal, out, err := chooseCache(s, cfg, stderr)
	if err != nil {
		return fail("%v", err)
	}

	if s.renewTGT || s.validate {
		return renew(ctx, s, cfg, out, stderr, fail)
	}

	opts := []krb.Option{krb.WithConfig(cfg)}
	if jr != nil {
		// Standard input and output carry the protocol: no prompter.
		opts = append(opts, krb.WithResponder(jr))
	} else {
		opts = append(opts, krb.WithPrompter(&prompter.Terminal{In: stdin, Out: stdout}))
	}
	opts = append(opts,
		krb.WithLifetime(s.lifetime),
		krb.WithRenewableLifetime(s.renew),
		krb.WithService(s.service),
		krb.WithCanonicalize(s.canonicalize),
		krb.WithEnterprise(s.enterprise),
	)
	if s.startIn > 0 {
		opts = append(opts, krb.WithStartTime(s.startIn))
	}
	if s.addresses != nil {
		opts = append(opts, krb.WithAddresses(*s.addresses))
	}
	for _, o := range s.paOptions {
		opts = append(opts, krb.WithPreauthOption(o[0], o[1]))
	}
	if s.anonymous {
		opts = append(opts, krb.WithAnonymous())
	}
	if s.forwardable != nil {
		opts = append(opts, krb.WithForwardable(*s.forwardable))
	}
	if s.proxiable != nil {
		opts = append(opts, krb.WithProxiable(*s.proxiable))
	}
	if tr := openTrace(stderr); tr != nil {
		opts = append(opts, krb.WithTrace(tr))
	}
	if s.useKeytab {
		// As MIT: -t names the keytab, -i the client keytab, else the
		// default keytab.
		ktName := s.keytabName
		switch {
		case ktName != "":
		case s.clientKeytab:
			ktName = krb.DefaultClientKeytab(cfg)
		default:
			ktName = krb.DefaultKeytab(cfg)
		}
		kt, err := krb.LoadKeytab(ktName)
		if err != nil {
			return fail("%v", err)
		}
		opts = append(opts, krb.WithKeytab(kt))
		if s.verbose {
			fmt.Fprintf(stderr, "Using keytab: %s\n", ktName)
		}
	}
	if s.armorCache != "" {
		armor, err := loadArmor(s, principal, cfg)
		if err != nil {
			out.abandon()
			return fail("%v while getting initial credentials", err)
		}
		opts = append(opts, krb.WithArmor(armor))
	}
	if s.verbose {
		// MIT's kinit writes its verbose lines to standard error, with the
		// principal in full.
		full := principal
		if p, err := krb.ParsePrincipal(principal, cfg.LibDefaults.DefaultRealm, s.enterprise); err == nil {
			full = p.String()
		}
		fmt.Fprintf(stderr, "Using principal: %s\n", full)
	}

	creds, err := krb.GetInitialCreds(ctx, principal, opts...)
	if err != nil {
		out.abandon()
		return fail("%w", err)
	}
	if err := out.store(creds); err != nil {
		out.abandon()
		return fail("%w while storing credentials", err)
	}
	if jr != nil {
		jr.result(creds, out.cc.Residual(), nil)
	}
	if s.verbose {
		fmt.Fprintln(stderr, "Authenticated to Kerberos v5")
	}
	return 0
}

func parseArgs(args []string) (*settings, error) {
	s := &settings{}
	args, err := longOptions(args, s)
	if err != nil {
		return nil, err
	}
	opts, operands, err := getopt(args, optSpec)
	if err != nil {
		return nil, err
	}
	t, f := true, false
	for _, o := range opts {
		switch o.name {
		case 'V':
			s.verbose = true
		case 'l', 'r':
			d, err := krb.ParseDuration(o.arg)
			if err != nil || d <= 0 {
				//lint:ignore ST1005 MIT kinit's message, verbatim
				return nil, fmt.Errorf("Bad lifetime value %s", o.arg)
			}
			if o.name == 'l' {
				s.lifetime = d
			} else {
				s.renew = d
			}
		case 'f':
			s.forwardable = &t
		case 'F':
			s.forwardable = &f
		case 'p':
			s.proxiable = &t
		case 'P':
			s.proxiable = &f
		case 'k':
			s.useKeytab = true
		case 'i':
			s.useKeytab, s.clientKeytab = true, true
		case 't':
			if s.keytabName != "" {
				//lint:ignore ST1005 MIT kinit's message, verbatim
				return nil, errors.New("Only one -t option allowed.")
			}
			s.useKeytab = true
			s.keytabName = o.arg
		case 'c':
			if s.cacheName != "" {
				//lint:ignore ST1005 MIT kinit's message, verbatim
				return nil, errors.New("Only one -c option allowed")
			}
			s.cacheName = o.arg
		case 'R':
			s.renewTGT = true
		case 'v':
			s.validate = true
		case 'a':
			s.addresses = &t
		case 'A':
			s.addresses = &f
		case 's':
			d, err := krb.ParseDuration(o.arg)
			if err != nil || d <= 0 {
				//lint:ignore ST1005 MIT kinit's message, verbatim
				return nil, fmt.Errorf("Bad start time value %s", o.arg)
			}
			s.startIn = d
		case 'S':
			s.service = o.arg
		case 'T':
			s.armorCache = o.arg
		case 'C':
			s.canonicalize = true
		case 'E':
			s.enterprise = true
		case 'X':
			name, value, ok := strings.Cut(o.arg, "=")
			if !ok {
				value = "yes" // MIT: an attribute without a value means yes
			}
			s.paOptions = append(s.paOptions, [2]string{name, value})
		case 'n':
			s.anonymous = true
		default:
			return nil, fmt.Errorf("option -%c is not supported yet", o.name)
		}
	}
	switch len(operands) {
	case 0:
	case 1:
		s.principal = operands[0]
	default:
		return nil, errors.New("too many arguments")
	}
	return s, nil
}

// longOptions takes this kinit's long options (MIT's kinit has none) out of
// args: --responder=json (or --responder json).
func longOptions(args []string, s *settings) ([]string, error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(rest, args[i:]...), nil
		case a == "--responder" && i+1 < len(args):
			i++
			a = "--responder=" + args[i]
			fallthrough
		case strings.HasPrefix(a, "--responder="):
			if v := strings.TrimPrefix(a, "--responder="); v != "json" {
				return nil, fmt.Errorf("unknown responder %q (only json is supported)", v)
			}
			s.jsonProto = true
		case strings.HasPrefix(a, "--"):
			return nil, fmt.Errorf("unrecognized option '%s'", a)
		default:
			rest = append(rest, a)
		}
	}
	return rest, nil
}

// renew renews (kinit -R) or validates (kinit -v) the TGT in the cache and
// stores the new one.
func renew(ctx context.Context, s *settings, cfg *krb.Config, out *outCache, stderr io.Writer, fail func(string, ...any) int) int {
	cc, err := out.cc.Read()
	if err != nil {
		return fail("%w while renewing credentials", err)
	}
	realm := cc.DefaultPrincipal.Realm
	if s.principal != "" {
		p, err := krb.ParsePrincipal(s.principal, cfg.LibDefaults.DefaultRealm, s.enterprise)
		if err != nil {
			return fail("%w when parsing name", err)
		}
		realm = p.Realm
	}
	tgt, err := krb.TGTFromCCache(cc, realm)
	if err != nil {
		return fail("%w while renewing credentials", err)
	}
	opts := []krb.Option{krb.WithConfig(cfg)}
	if tr := openTrace(stderr); tr != nil {
		opts = append(opts, krb.WithTrace(tr))
	}
	again := krb.Renew
	if s.validate {
		again = krb.Validate
	}
	creds, err := again(ctx, tgt, opts...)
	if err != nil {
		out.abandon()
		return fail("%w", err)
	}
	if err := out.store(creds); err != nil {
		return fail("%w while storing credentials", err)
	}
	if s.verbose {
		fmt.Fprintln(stderr, "Authenticated to Kerberos v5")
	}
	return 0
}

// loadArmor reads the FAST armor TGT (kinit -T) for the client's realm,
// the client name parsed exactly as the login parses it: with -E the whole
// "alice@ad.example.test" is one enterprise name in the default realm, and
// with -n "@REALM" (or nothing) names the anonymous realm. The armor cache
// may be of any type.
func loadArmor(s *settings, client string, cfg *krb.Config) (*krb.Armor, error) {
	acc, err := ccache.Resolve(s.armorCache, ccacheOptions(cfg)...)
	if err != nil {
		//lint:ignore ST1005 MIT kinit's message, verbatim
		return nil, fmt.Errorf("Error constructing AP-REQ armor: %w", err)
	}
	cc, err := acc.Read()
	if err != nil {
		return nil, fmt.Errorf("reading armor ccache: %w", err)
	}
	var realm string
	if s.anonymous && (client == "" || strings.HasPrefix(client, "@")) {
		realm = strings.TrimPrefix(client, "@")
		if realm == "" {
			realm = cfg.LibDefaults.DefaultRealm
		}
	} else {
		p, err := krb.ParsePrincipal(client, cfg.LibDefaults.DefaultRealm, s.enterprise)
		if err != nil {
			return nil, err
		}
		realm = p.Realm
	}
	return krb.ArmorFromCCache(cc, realm)
}

func firstValue(cfg *krb.Config, path ...string) string {
	v, _ := cfg.Value(path...)
	return v
}

// openTrace returns a trace function writing MIT-style lines to the file
// KRB5_TRACE names, or nil.
func openTrace(stderr io.Writer) func(string, ...any) {
	name := os.Getenv("KRB5_TRACE")
	if name == "" {
		return nil
	}
	var w io.Writer
	switch name {
	case "/dev/stderr":
		w = stderr
	default:
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "kinit: cannot open trace file %s: %v\n", name, err)
			return nil
		}
		w = f
	}
	pid := os.Getpid()
	return func(format string, args ...any) {
		now := time.Now()
		fmt.Fprintf(w, "[%d] %d.%06d: %s\n", pid, now.Unix(), now.Nanosecond()/1000, fmt.Sprintf(format, args...))
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: kinit [-V] [-n] [-R | -v] [-l lifetime] [-s start_time] [-r renewable_life] [-f | -F] [-p | -P] [-a | -A]
	[-k [-i | -t keytab_file]] [-c cachename] [-S service_name] [-T ticket_armor_cache] [-C] [-E]
	[-X <attribute>[=<value>]] [principal]

    options:
	-V verbose
	-n anonymous
	-R renew
	-v validate
	-s start time (postdated ticket)
	-l lifetime
	-r renewable lifetime
	-f forwardable
	-F not forwardable
	-p proxiable
	-a include addresses
	-A do not include addresses
	-P not proxiable
	-k use keytab
	-i use default client keytab (with -k)
	-t filename of keytab to use
	-c Kerberos 5 cache name
	-S service
	-T armor credential cache
	-C canonicalize
	-E client is enterprise principal name
	-X <attribute>[=<value>]
`)
}
