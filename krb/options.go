package krb

import (
	"context"
	"fmt"
	"github.com/gokinit/gokinit/internal/safetext"
	"time"

	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/keytab"
)

// Transport sends an encoded KDC request to a KDC of realm and returns the
// reply. *transport.Client is the implementation that reads krb5.conf;
// tests and applications may supply their own.
//
// Exchange returns the KDC's reply bytes as received, a KRB-ERROR included
// (the engine decodes it). When no KDC of the realm answered, its error
// must wrap ErrKDCUnreachable (transport.ErrKDCUnreachable) so that
// errors.Is(err, krb.ErrKDCUnreachable) keeps working for the caller, and
// never an authentication error; ctx's error when ctx ended. tcpOnly asks
// for TCP (after KRB_ERR_RESPONSE_TOO_BIG). The error is returned to the
// caller, wrapped with " while getting initial credentials".
type Transport interface {
	Exchange(ctx context.Context, realm string, req []byte, tcpOnly bool) ([]byte, error)
}

// Option configures a login.
type Option func(*options)

type options struct {
	cfg          *Config
	password     *string
	keytab       *keytab.Keytab
	keytabErr    error // WithKeytabFile: the keytab could not be read
	responder    responder.Responder
	prompter     prompter.Prompter
	lifetime     time.Duration
	renewLife    time.Duration
	forwardable  *bool
	proxiable    *bool
	service      string
	canonicalize bool
	enterprise   bool
	pacRequest   *bool
	enctypes     []int32
	transport    Transport
	trace        func(format string, args ...any)
	mechanisms   []preauth.Mechanism
	now          func() time.Time
	armor        *Armor
	fastRequired bool
	deferred     bool
	anonymous    bool
	paOptions    map[string][]string
	startIn      time.Duration
	addresses    *bool
	noChangePW   bool
	expireCB     ExpireFunc
	inCCache     *ccache.Cache
}

// WithConfig uses cfg instead of the krb5.conf files named by KRB5_CONFIG.
func WithConfig(cfg *Config) Option { return func(o *options) { o.cfg = cfg } }

// WithPassword logs in with a known password; no "password" question is
// asked.
func WithPassword(password string) Option {
	return func(o *options) { o.password = &password }
}

// WithKeytab logs in with keys from a keytab (kinit -k). The request's
// enctypes are reordered so that those the keytab holds come first, and the
// key of the highest kvno is used.
func WithKeytab(kt *keytab.Keytab) Option { return func(o *options) { o.keytab = kt } }

// WithKeytabFile logs in with keys from the keytab named (LoadKeytab's
// names), read as MIT's get_init_creds_keytab reads it: a keytab that
// cannot be read is not an error until a key is needed, so the failure
// (*KeytabError) comes from the mechanism that asked for the key
// ("Pre-authentication failed: Key table file 'F' not found") or, for a
// principal without preauthentication, from decrypting the reply.
func WithKeytabFile(name string) Option {
	return func(o *options) {
		kt, err := LoadKeytab(name)
		if err != nil {
			kt = keytab.New()
		}
		o.keytab, o.keytabErr = kt, err
	}
}

// WithResponder sets the application's Responder, called once per round
// that has questions.
func WithResponder(r responder.Responder) Option { return func(o *options) { o.responder = r } }

// WithPrompter sets the prompter that asks what the responder left
// unanswered. Without one, such a question fails with ErrNoAnswer.
func WithPrompter(p prompter.Prompter) Option { return func(o *options) { o.prompter = p } }

// WithLifetime requests a ticket lifetime (kinit -l); zero means krb5.conf's
// ticket_lifetime, else 24 hours.
func WithLifetime(d time.Duration) Option { return func(o *options) { o.lifetime = d } }

// WithRenewableLifetime requests a renewable ticket for d (kinit -r).
func WithRenewableLifetime(d time.Duration) Option { return func(o *options) { o.renewLife = d } }

// WithForwardable requests (or, with false, refuses) a forwardable ticket
// (kinit -f / -F), overriding krb5.conf's forwardable.
func WithForwardable(v bool) Option { return func(o *options) { o.forwardable = &v } }

// WithProxiable requests (or refuses) a proxiable ticket (kinit -p / -P).
func WithProxiable(v bool) Option { return func(o *options) { o.proxiable = &v } }

// WithService requests a ticket for service instead of krbtgt/REALM
// (kinit -S), for example "kadmin/changepw".
func WithService(service string) Option { return func(o *options) { o.service = service } }

// WithCanonicalize sets the canonicalize KDC option (kinit -C, RFC 6806):
// the KDC may return another client name, or refer the client to another
// realm.
func WithCanonicalize(v bool) Option { return func(o *options) { o.canonicalize = v } }

// WithEnterprise parses the client name as an enterprise name (kinit -E,
// RFC 6806 §5); it implies canonicalize.
func WithEnterprise(v bool) Option { return func(o *options) { o.enterprise = v } }

// WithPACRequest sends PA-PAC-REQUEST asking the KDC to include (true) or
// leave out (false) the PAC ([MS-KILE] 2.2.3); by default none is sent.
func WithPACRequest(include bool) Option { return func(o *options) { o.pacRequest = &include } }

// WithEnctypes sets the requested enctypes, in preference order, instead of
// krb5.conf's default_tkt_enctypes.
func WithEnctypes(etypes ...int32) Option { return func(o *options) { o.enctypes = etypes } }

// WithTransport replaces the KDC transport.
func WithTransport(t Transport) Option { return func(o *options) { o.transport = t } }

// WithTrace receives one line per engine step, in the spirit of MIT's
// KRB5_TRACE: PA types offered and chosen, errors, keys' enctypes; never a
// password, key or answer. Each line reaches f already formatted, as
// ("%s", line), with every control and format character escaped
// (internal/safetext): names, salts and e-text in it come from the network.
func WithTrace(f func(format string, args ...any)) Option {
	return func(o *options) {
		if f == nil {
			o.trace = nil
			return
		}
		o.trace = func(format string, args ...any) {
			f("%s", safetext.String(fmt.Sprintf(format, args...)))
		}
	}
}

// WithMechanisms replaces the mechanisms the login may use (the built-in
// ones plus those added with preauth.Register).
func WithMechanisms(m ...preauth.Mechanism) Option { return func(o *options) { o.mechanisms = m } }

// TransportFunc adapts a function to the Transport interface.
type TransportFunc func(ctx context.Context, realm string, req []byte, tcpOnly bool) ([]byte, error)

// Exchange calls f.
func (f TransportFunc) Exchange(ctx context.Context, realm string, req []byte, tcpOnly bool) ([]byte, error) {
	return f(ctx, realm, req, tcpOnly)
}

// WithArmor armors the login with FAST (RFC 6113) using a TGT of the
// client's realm (kinit -T): see ArmorFromCCache and ArmorFromCredentials.
// FAST is used from the first request when the armor's cache says the KDC
// supports it or WithFASTRequired is set; otherwise the login switches to
// FAST as soon as the KDC offers PA-FX-FAST.
func WithArmor(a *Armor) Option { return func(o *options) { o.armor = a } }

// WithFASTRequired makes the login fail rather than run unarmored: it needs
// WithArmor, and a KDC that does not answer with FAST is refused.
func WithFASTRequired() Option { return func(o *options) { o.fastRequired = true } }

// WithDeferredQuestions makes the login stop at each round that has
// questions and hand them to the caller as values (Login.Questions,
// Login.Continue) instead of calling a Responder. Nothing waits in between:
// the Login can be kept in a web session between two HTTP requests, or
// answered from a GUI's event loop, and resumed later.
func WithDeferredQuestions() Option { return func(o *options) { o.deferred = true } }

// WithPreauthOption passes an option to the preauthentication mechanisms,
// as kinit -X attribute=value and MIT's krb5_get_init_creds_opt_set_pa do:
// for example X509_user_identity=FILE:/path/cert.pem,/path/key.pem for
// PKINIT. An attribute may be given more than once.
func WithPreauthOption(name, value string) Option {
	return func(o *options) {
		if o.paOptions == nil {
			o.paOptions = make(map[string][]string)
		}
		o.paOptions[name] = append(o.paOptions[name], value)
	}
}

// WithAnonymous requests an anonymous ticket (kinit -n, RFC 8062): with a
// client of "" or "@REALM" the login is fully anonymous, as
// WELLKNOWN/ANONYMOUS (anonymous PKINIT); with a principal name the client
// authenticates but the ticket does not name it.
func WithAnonymous() Option { return func(o *options) { o.anonymous = true } }

// WithStartTime requests a postdated ticket that becomes valid after d
// (kinit -s): it is issued invalid, and Validate makes it usable once its
// start time has come. Its lifetime counts from the start time.
func WithStartTime(d time.Duration) Option { return func(o *options) { o.startIn = d } }

// WithAddresses puts the host's addresses in the request, binding the
// ticket to them (kinit -a), or leaves them out (kinit -A), overriding
// krb5.conf's noaddresses (MIT's default: no addresses).
func WithAddresses(v bool) Option { return func(o *options) { o.addresses = &v } }

// WithChangePasswordPrompt(false) makes a login with an expired password
// fail with ErrKeyExpired instead of asking for a new one (MIT's
// krb5_get_init_creds_opt_set_change_password_prompt). By default the
// password is changed when someone can be asked: a prompter, a responder
// (the "new_password" question), or the caller (WithDeferredQuestions).
func WithChangePasswordPrompt(v bool) Option { return func(o *options) { o.noChangePW = !v } }
