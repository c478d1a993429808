// Command kinit obtains a Kerberos ticket-granting ticket and stores it in
// a credential cache, with the flags, messages and exit statuses of MIT
// krb5 1.20's kinit (clients/kinit/kinit.c):
//
//	kinit [-V] [-l lifetime] [-s start_time] [-r renewable_life]
//	      [-f | -F] [-p | -P] [-n] [-a | -A] [-C] [-E]
//	      [--request-pac | --no-request-pac]
//	      [-v] [-R] [-k [-i|-t keytab_file]] [-c cachename]
//	      [-S service_name] [-I input_ccache] [-T ticket_armor_cache]
//	      [-X <attribute>[=<value>]] [--responder=json] [principal]
//
// The password is read from the terminal without echo, or as a line from
// standard input when it is not a terminal; end of input is no answer and
// Ctrl-C at the prompt interrupts, as MIT's prompter. KRB5_CONFIG,
// KRB5CCNAME and KRB5_TRACE work as in MIT krb5. TestSideBySideWithMIT
// compares this kinit with MIT's on the same realm.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/krb/transport"
	"github.com/gokinit/gokinit/prompter"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"golang.org/x/sys/unix"
)

func main() {
	// As MIT's kinit: SIGINT is caught only while a reply is read (the
	// prompter and the JSON responder catch it and report "Password read
	// interrupted"); at any other moment it ends the process as usual.
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// progName is argv[0], as glibc's getopt names the program in its
// messages.
func progName() string {
	if len(os.Args) > 0 {
		return os.Args[0]
	}
	return "kinit"
}

type settings struct {
	verbose      bool
	lifetime     time.Duration
	renew        time.Duration
	forwardable  *bool
	proxiable    *bool
	useKeytab    bool
	keytabName   string
	keytabSet    bool // -t given, perhaps with an empty name
	cacheName    string
	cacheSet     bool // -c given, perhaps with an empty name
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
	inCacheName  string        // -I
	requestPAC   *bool         // --request-pac / --no-request-pac
	paOptions    [][2]string
}

func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "kinit: %v\n", fmt.Errorf(format, a...))
		return 1
	}
	s, code := parseOptions(args, progName(), stderr, time.Now())
	if s == nil {
		return code
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
		// MIT's krb5_init_context names no file or line: every syntax
		// error is KRB5_CONFIG_BADFORMAT, an unreadable include is
		// PROF_FAIL_INCLUDE_FILE. The file, line and cause go to the trace.
		var ce *krb.ConfigError
		if errors.As(err, &ce) {
			if tr := openTrace(stderr); tr != nil {
				tr("%v", err)
			}
			msg := ce.Err
			if errors.Is(err, krb.ErrConfigFormat) {
				msg = krb.ErrConfigFormat
			}
			return fail("%v while initializing Kerberos 5 library", msg)
		}
		return fail("%v while initializing Kerberos 5 library", err)
	}
	if s.principal != "" && cfg.LibDefaults.DefaultRealm == "" && !strings.Contains(s.principal, "@") && !s.anonymous {
		return fail("Configuration file does not specify default realm when parsing name %s", s.principal)
	}

	principal, out, err := chooseCache(s, cfg, stderr)
	if err != nil {
		return fail("%v", err)
	}

	var inCache *ccache.Cache
	if s.inCacheName != "" {
		icc, err := ccache.Resolve(s.inCacheName, ccacheOptions(cfg)...)
		if err != nil {
			return fail("%v resolving ccache %s", err, s.inCacheName)
		}
		if s.verbose {
			fmt.Fprintf(stderr, "Using specified input cache: %s\n", s.inCacheName)
		}
		// MIT reads it during the login; a cache that cannot be read
		// restricts nothing there either.
		inCache, _ = icc.Read()
	}
	if s.verbose {
		// MIT's kinit writes its verbose lines to standard error, with the
		// principal in full.
		full := principal
		if s.anonymous && (principal == "" || strings.HasPrefix(principal, "@")) {
			realm := strings.TrimPrefix(principal, "@")
			if realm == "" {
				realm = cfg.LibDefaults.DefaultRealm
			}
			full = "WELLKNOWN/ANONYMOUS@" + realm
		} else if p, err := krb.ParsePrincipal(principal, cfg.LibDefaults.DefaultRealm, s.enterprise); err == nil {
			full = p.String()
		}
		fmt.Fprintf(stderr, "Using principal: %s\n", full)
	}

	if s.renewTGT || s.validate {
		return renew(ctx, s, cfg, out, principal, stderr, fail)
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
	tr := openTrace(stderr)
	if tr != nil {
		opts = append(opts, krb.WithTrace(tr))
	}
	if s.useKeytab {
		// As MIT: -t names the keytab, -i the client keytab, else the
		// default keytab.
		ktName := s.keytabName
		switch {
		case s.keytabSet: // even "": MIT says "Key table file '' not found"
		case s.clientKeytab:
			ktName = krb.DefaultClientKeytab(cfg)
		default:
			ktName = krb.DefaultKeytab(cfg)
		}
		if s.verbose && s.keytabSet {
			fmt.Fprintf(stderr, "Using keytab: %s\n", ktName)
		}
		// MIT resolves the keytab's type at once, and reads it when a key
		// is needed: a mechanism's failure ("Pre-authentication failed:
		// ...") or the reply's.
		if _, err := krb.LoadKeytab(ktName); errors.Is(err, krb.ErrKeytabUnknownType) {
			return fail("%v resolving keytab %s", krb.ErrKeytabUnknownType, ktName)
		}
		opts = append(opts, krb.WithKeytabFile(ktName))
	}
	if s.verbose {
		for _, o := range s.paOptions {
			fmt.Fprintf(stderr, "PA Option %s = %s\n", o[0], o[1])
		}
	}
	if s.requestPAC != nil {
		opts = append(opts, krb.WithPACRequest(*s.requestPAC))
	}
	if inCache != nil {
		opts = append(opts, krb.WithInputCCache(inCache))
	}
	if s.armorCache != "" {
		armor, err := loadArmor(s, principal, cfg)
		if err != nil {
			out.abandon()
			return fail("%v while getting initial credentials", err)
		}
		opts = append(opts, krb.WithArmor(armor))
	}
	creds, err := krb.GetInitialCreds(ctx, principal, opts...)
	if err != nil {
		out.abandon()
		if tr != nil {
			tr("kinit: %v", err) // the whole chain, for whoever reads the trace
		}
		return fail("%w", mitError(err, principal, s, cfg))
	}
	if err := out.store(creds); err != nil {
		out.abandon()
		if tr != nil {
			tr("kinit: %v", err)
		}
		// MIT's get_init_creds stores into the out ccache itself and
		// prepends "Failed to store credentials".
		return fail("Failed to store credentials: %w while getting initial credentials", storeError(err))
	}
	if jr != nil {
		jr.result(creds, jsonCacheName(out.cc), nil)
	}
	if s.verbose {
		fmt.Fprintln(stderr, "Authenticated to Kerberos v5")
	}
	return 0
}

// renew renews (kinit -R) or validates (kinit -v) the client's TGT in the
// cache and stores the new one alone, as MIT's krb5_get_renewed_creds and
// krb5_get_validated_creds followed by kinit's cache move. The TGT must be
// the client's: another principal's ticket is "Matching credential not
// found".
func renew(ctx context.Context, s *settings, cfg *krb.Config, out *outCache, principal string, stderr io.Writer, fail func(string, ...any) int) int {
	doing := "renewing credentials"
	if s.validate {
		doing = "validating credentials"
	}
	me, err := clientPrincipal(principal, s, cfg)
	if err != nil {
		return fail("%v when parsing name %s", err, principal)
	}
	cc, err := out.cc.Read()
	if err != nil {
		out.abandon() // a new collection cache made for this principal holds nothing
		return fail("%v while %s", err, doing)
	}
	tgt, err := krb.TGTFromCCache(cc, me.Realm)
	if err != nil || !samePrincipal(ccPrincipalOf(tgt.Client), me) {
		out.abandon()
		return fail("Matching credential not found (filename: %s) while %s", out.cc.Residual(), doing)
	}
	opts := []krb.RenewOption{krb.RenewWithConfig(cfg)}
	if tr := openTrace(stderr); tr != nil {
		opts = append(opts, krb.RenewWithTrace(tr))
	}
	again := krb.Renew
	if s.validate {
		again = krb.Validate
		if !tgt.HasFlag(flags.Invalid) {
			// MIT asks the KDC, which refuses to validate a valid ticket.
			return fail("KDC can't fulfill requested option while %s", doing)
		}
	}
	creds, err := again(ctx, tgt, opts...)
	if err != nil {
		out.abandon()
		if errors.Is(err, krb.ErrNotRenewable) {
			// MIT asks the KDC, which refuses with KDC_ERR_BADOPTION.
			return fail("KDC can't fulfill requested option while %s", doing)
		}
		return fail("%w", err)
	}
	if s.verbose {
		fmt.Fprintln(stderr, "Initialized cache")
	}
	if err := out.store(creds); err != nil {
		return fail("%w while storing credentials", storeError(err))
	}
	if s.verbose {
		fmt.Fprintln(stderr, "Stored credentials")
		fmt.Fprintln(stderr, "Authenticated to Kerberos v5")
	}
	return 0
}

func ccPrincipalOf(p krb.Principal) ccache.Principal {
	return ccache.Principal{NameType: p.Name.NameType, Realm: p.Realm, Components: p.Name.NameString}
}

// samePrincipal compares realm and components, not the name type, as
// krb5_principal_compare.
func samePrincipal(a, b ccache.Principal) bool {
	return a.Realm == b.Realm && slices.Equal(a.Components, b.Components)
}

// loadArmor reads the FAST armor TGT (kinit -T) for the client's realm,
// the client name parsed exactly as the login parses it: with -E the whole
// "alice@ad.example.test" is one enterprise name in the default realm, and
// with -n "@REALM" (or nothing) names the anonymous realm. The armor cache
// may be of any type.
func loadArmor(s *settings, client string, cfg *krb.Config) (*krb.Armor, error) {
	acc, err := ccache.Resolve(s.armorCache, ccacheOptions(cfg)...)
	if err != nil {
		return nil, fmt.Errorf("Error constructing AP-REQ armor: %w", err)
	}
	cc, err := acc.Read()
	if err != nil {
		return nil, fmt.Errorf("Error constructing AP-REQ armor: %w", err)
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
			return nil // MIT's k5_init_trace ignores a file it cannot open
		}
		w = f
	}
	pid := os.Getpid()
	return func(format string, args ...any) {
		now := time.Now()
		fmt.Fprintf(w, "[%d] %d.%06d: %s\n", pid, now.Unix(), now.Nanosecond()/1000, fmt.Sprintf(format, args...))
	}
}

// mitError gives a login's error MIT's words where ours differ, keeping the
// error itself (errors.Is and errors.As still find it): no KDC known for the
// realm is "Cannot find KDC for realm", none answering is "Cannot contact
// any KDC for realm" (krb5_sendto_kdc).
func mitError(err error, principal string, s *settings, cfg *krb.Config) error {
	realm := cfg.LibDefaults.DefaultRealm
	if p, perr := krb.ParsePrincipal(principal, realm, s.enterprise); perr == nil {
		realm = p.Realm
	}
	var msg string
	switch {
	case errors.Is(err, transport.ErrNoKDC):
		msg = fmt.Sprintf("Cannot find KDC for realm %q while getting initial credentials", realm)
	case errors.Is(err, krb.ErrKDCUnreachable):
		msg = fmt.Sprintf("Cannot contact any KDC for realm '%s' while getting initial credentials", realm)
	case errors.Is(err, krb.ErrMalformedPrincipal):
		msg = fmt.Sprintf("%v when parsing name %s", krb.ErrMalformedPrincipal, principal)
	case errors.Is(err, krb.ErrFASTRequired):
		// Only FAST-only mechanisms offered and no armor: MIT's preauth
		// loop ends with KRB5_PREAUTH_FAILED.
		msg = "Generic preauthentication failure while getting initial credentials"
	default:
		return err
	}
	return &mitWords{msg: msg, err: err}
}

// mitWords is an error shown in MIT's words that unwraps to ours.
type mitWords struct {
	msg string
	err error
}

func (e *mitWords) Error() string { return e.msg }
func (e *mitWords) Unwrap() error { return e.err }

// errCCPermissions is MIT's KRB5_FCC_PERM.
//
//lint:ignore ST1005 MIT's message, verbatim
var errCCPermissions = errors.New("Credentials cache permissions incorrect")

// storeError gives a failure to write a FILE (or DIR member) cache MIT's
// words, as its FILE cache's interpret_errno maps the system error: a
// missing directory is KRB5_FCC_NOFILE, a refused or misplaced one
// KRB5_FCC_PERM. Our temporary file's name never reaches the message; the
// error itself goes to the trace. Other errors (KCM, KEYRING) pass as they
// are.
func storeError(err error) error {
	switch {
	case errors.Is(err, ccache.ErrNotFound) || errors.Is(err, errCCPermissions):
		return err
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENAMETOOLONG):
		return ccache.ErrNotFound
	case errors.Is(err, fs.ErrPermission), errors.Is(err, unix.EISDIR), errors.Is(err, unix.ETXTBSY), errors.Is(err, unix.EROFS), errors.Is(err, fs.ErrExist):
		return errCCPermissions
	}
	return err
}

// jsonCacheName is the cache's name as KRB5CCNAME takes it: the path for a
// FILE cache (as the JSON protocol always gave it), TYPE:residual otherwise.
func jsonCacheName(cc *ccache.CCache) string {
	if cc.Type() == "FILE" {
		return cc.Residual()
	}
	return cc.Name()
}
