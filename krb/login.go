package krb

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/types"
)

// MaxRequests is the most AS-REQs one login sends, as MIT's
// MAX_IN_TKT_LOOPS.
const MaxRequests = 16

// maxRestarts bounds restarts of the exchange (PREAUTH_EXPIRED, client
// referrals) within the MaxRequests budget.
const maxRestarts = 3

// pauseKind says where a login waits for answers.
type pauseKind int

const (
	notPaused   pauseKind = iota
	pausedRound           // before the mechanisms process a round
	pausedReply           // before the AS-REP is decrypted (password needed)
)

// KDCRequest is one message for the KDC, produced by Login.Step.
type KDCRequest struct {
	Data    []byte  // encoded AS-REQ, or kpasswd request
	Realm   string  // the realm whose KDC (or kpasswd server) must receive it
	TCPOnly bool    // send over TCP (after KRB_ERR_RESPONSE_TOO_BIG)
	Service Service // who receives it: the KDC, or the kpasswd server
}

// Service says which of a realm's servers a request is for.
type Service int

const (
	// ServiceKDC is the realm's KDC (krb5.conf kdc, _kerberos SRV).
	ServiceKDC Service = iota
	// ServiceKpasswd is the realm's password-changing server (RFC 3244):
	// kpasswd_server, _kpasswd SRV, else admin_server on port 464, as MIT's
	// locate_kpasswd. A login sends one when it changes an expired password.
	ServiceKpasswd
)

// Stats counts the work a login did, for benchmarks and tests.
type Stats struct {
	Requests    int // AS-REQs produced (round trips to the KDC)
	StringToKey int // password-to-key derivations run
	Kpasswd     int // password change requests (round trips to kpasswd)
}

// Login is one get-initial-credentials exchange as a step machine (MIT's
// krb5_init_creds_step): feed it the KDC's replies and it returns the next
// request, until it has credentials or fails. It does no I/O itself, so a
// caller may drive it over any transport; GetInitialCreds drives it over
// krb5.conf's KDCs. A Login is not safe for concurrent use.
type Login struct {
	o          options
	clientName string // as given, for a login that starts over (password change)
	cfg        *Config
	client     Principal
	server     Principal
	mechs      []preauth.Mechanism

	// Per exchange; reset when the exchange restarts.
	reqs       map[int]preauth.Request // by place in mechs
	body       kdcReqBody
	bodyDER    []byte
	lastReq    []byte
	prevReq    []byte
	methodPA   types.PADataSequence
	cookie     []byte
	tried      map[int32]bool
	selected   int32
	allowed    int32
	noFall     bool
	asKey      *types.EncryptionKey
	keyByMod   bool // the AS key was set by a mechanism, not derived
	fast       *fastState
	etype      int32
	replyEtype int32 // the AS-REP's enctype while its padata is processed
	salt       string
	s2k        string

	// Per login.
	etypes     []int32
	from       time.Time // postdated start (WithStartTime), else zero
	till       time.Time
	rtill      time.Time
	password   *string
	fromPW     bool // the AS key in use came from a password
	keyCache   map[string]types.EncryptionKey
	rs         *responder.ResponseSet
	offset     time.Duration
	haveOffset bool
	offsetAuth bool            // the offset came from an armored (FAST) error
	prepErr    map[int32]error // FillResponseSet failures this round, by PA type

	// Cache configuration for mechanisms (MIT's pa_config_data), and the
	// preauth type the input cache allows (MIT's allowed_preauth_type).
	ccConfigIn  map[string]string
	ccConfigOut map[string]string
	inputPAType int32
	skipTraced  map[int32]bool
	tcpOnly     bool
	started     bool
	upgraded    bool // restarted once to use FAST after the KDC offered it
	noInfoPA    bool // the KDC refused PA-REQ-ENC-PA-REP and PA-AS-FRESHNESS
	restarts    int
	reqTime     time.Time // when the last request was made (MIT's request_time)
	transport   Transport

	// An expired password being changed (KDC_ERR_KEY_EXPIRED).
	chpw *pwChange

	// A round stopped for the caller's answers (WithDeferredQuestions).
	paused     pauseKind
	pausedLast *KDCError            // the KDC error that started the paused round
	pausedRep  *asRep               // the AS-REP waiting for the password
	pausedKey  *types.EncryptionKey // its FAST strengthen key

	stats Stats
	// mechCalls counts calls into preauthentication mechanisms
	// (FillResponseSet, Process, TryAgain): the engine's unit of work per
	// KDC message, bounded by the distinct PA types the KDC sent, never by
	// their repetitions. Cost-budget tests read it.
	mechCalls int

	creds *Credentials
	err   error
}

// NewLogin prepares a login for client, a principal name in MIT's text form
// ("alice", "alice@EXAMPLE.COM", "host/h.example.com").
func NewLogin(client string, opts ...Option) (*Login, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return newLogin(client, o)
}

func newLogin(client string, o options) (*Login, error) {
	l := &Login{o: o, clientName: client, keyCache: make(map[string]types.EncryptionKey)}
	if l.o.now == nil {
		l.o.now = time.Now
	}
	l.transport = l.o.transport
	l.cfg = l.o.cfg
	if l.cfg == nil {
		cfg, err := LoadConfig()
		if err != nil {
			return nil, err
		}
		l.cfg = cfg
	}
	if l.o.enterprise {
		l.o.canonicalize = true
	}
	p, err := l.parseClient(client)
	if err != nil {
		return nil, err
	}
	l.client = p
	if err := l.setServer(); err != nil {
		return nil, err
	}
	l.readInputCCache()
	l.mechs = l.o.mechanisms
	if l.mechs == nil {
		l.mechs = DefaultMechanisms()
	}
	if l.o.fastRequired && l.o.armor == nil {
		return nil, fmt.Errorf("%w: no armor ticket was given", ErrFASTRequired)
	}
	if l.o.armor != nil && l.o.armor.Realm != l.client.Realm {
		return nil, fmt.Errorf("the armor ticket is for realm %s, not %s", l.o.armor.Realm, l.client.Realm)
	}
	if l.o.enctypes == nil {
		// MIT's krb5_get_default_in_tkt_ktypes fails before any request.
		if _, err := l.cfg.DefaultTktEnctypes(); err != nil {
			return nil, err
		}
	}
	l.etypes = l.requestEnctypes()
	if len(l.etypes) == 0 {
		return nil, fmt.Errorf("%w: none of the configured enctypes is implemented", ErrConfigEnctypeNoSupport)
	}
	lifetime := l.o.lifetime
	if lifetime <= 0 {
		lifetime = l.cfg.LibDefaults.TicketLifetime
	}
	if lifetime <= 0 {
		lifetime = 24 * time.Hour
	}
	now := l.o.now()
	if l.o.startIn > 0 {
		// A postdated ticket's lifetime counts from its start (MIT's
		// krb5_get_init_creds start_time).
		now = now.Add(l.o.startIn)
		l.from = now.UTC().Truncate(time.Second)
	}
	l.till = now.Add(lifetime).UTC().Truncate(time.Second)
	renew := l.o.renewLife
	if renew == 0 {
		renew = l.cfg.LibDefaults.RenewLifetime
	}
	if renew > 0 {
		l.rtill = now.Add(renew).UTC().Truncate(time.Second)
	}
	return l, nil
}

// parseClient parses the client name; with WithAnonymous, "" and "@REALM"
// name the anonymous principal WELLKNOWN/ANONYMOUS of the realm (RFC 8062
// §3).
func (l *Login) parseClient(client string) (Principal, error) {
	if l.o.anonymous && (client == "" || strings.HasPrefix(client, "@")) {
		realm := strings.TrimPrefix(client, "@")
		if realm == "" {
			realm = l.cfg.LibDefaults.DefaultRealm
		}
		if realm == "" {
			return Principal{}, fmt.Errorf("anonymous login needs a realm and no default_realm is configured")
		}
		return AnonymousPrincipal(realm), nil
	}
	return ParsePrincipal(client, l.cfg.LibDefaults.DefaultRealm, l.o.enterprise)
}

func (l *Login) setServer() error {
	if l.o.service == "" {
		l.server = TGSPrincipal(l.client.Realm)
		return nil
	}
	s, err := ParsePrincipal(l.o.service, l.client.Realm, false)
	if err != nil {
		return fmt.Errorf("service name: %w", err)
	}
	if s.Name.NameType == nametype.KRB_NT_PRINCIPAL && len(s.Name.NameString) > 1 {
		s.Name.NameType = nametype.KRB_NT_SRV_INST
	}
	l.server = s
	return nil
}

// requestEnctypes returns the enctypes to request, in preference order:
// the option, else default_tkt_enctypes (else permitted_enctypes as
// written, else MIT's default: Config.DefaultTktEnctypes), limited to those
// gokrb5 implements; with a keytab, the keytab's enctypes first (as MIT's
// gic_keytab does).
func (l *Login) requestEnctypes() []int32 {
	list := l.o.enctypes
	if list == nil {
		list = l.cfg.LibDefaults.DefaultTktEnctypeIDs
	}
	var out []int32
	for _, e := range list {
		if _, err := crypto.GetEtype(e); err == nil && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if l.o.keytab != nil {
		var inKT, rest []int32
		for _, e := range out {
			if l.keytabHas(e) {
				inKT = append(inKT, e)
			} else {
				rest = append(rest, e)
			}
		}
		out = append(inKT, rest...)
	}
	return out
}

// Client returns the client principal being logged in.
func (l *Login) Client() Principal { return l.client }

// Stats returns the counts so far.
func (l *Login) Stats() Stats { return l.stats }

// Credentials returns the credentials once Step has reported completion.
func (l *Login) Credentials() *Credentials { return l.creds }

// Step advances the login. Call it first with a nil reply to get the first
// request; then pass each KDC reply. A request's Service says where it
// goes: the realm's KDC, or (while an expired password is changed) its
// kpasswd server. It returns the next request, or nil
// when the login is complete (see Credentials) or, with
// WithDeferredQuestions, waits for answers (see Questions): set them, then
// call Step with a nil reply to go on. After an error the login is over and
// Step keeps returning that error.
func (l *Login) Step(ctx context.Context, reply []byte) (*KDCRequest, error) {
	if l == nil || l.cfg == nil {
		return nil, ErrNotStarted
	}
	if l.err != nil {
		return nil, l.err
	}
	if l.creds != nil {
		return nil, nil
	}
	var out *KDCRequest
	var err error
	if l.chpw != nil {
		out, err = l.stepPasswordChange(ctx, reply)
	} else if l.paused != notPaused {
		if reply != nil {
			// A caller's mistake, not the login's end: it still waits.
			return nil, errors.New("krb: the login waits for answers (Questions), not for a KDC reply")
		}
		out, err = l.resume(ctx, reply)
	} else {
		out, err = l.step(ctx, reply)
	}
	if err != nil {
		l.err = err
		l.closeRequests()
		return nil, err
	}
	if out == nil && l.paused == notPaused {
		l.closeRequests()
	}
	return out, nil
}

// Questions returns the questions the login waits for (WithDeferredQuestions),
// or nil. Answer them on the returned set (SetAnswer, responder.SetPassword,
// responder.SetOTPAnswer...), then resume with Step(ctx, nil) or Continue.
// Questions left unanswered go to the prompter, if any.
func (l *Login) Questions() *responder.ResponseSet {
	if c := l.chpw; c != nil && l.err == nil {
		if c.sub != nil {
			return c.sub.Questions()
		}
		if c.paused {
			return c.rs
		}
		return nil
	}
	if l.paused == notPaused {
		return nil
	}
	return l.rs
}

// resume continues a paused round once the caller has set the answers.
func (l *Login) resume(ctx context.Context, reply []byte) (*KDCRequest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	kind := l.paused
	l.paused = notPaused
	if kind == pausedReply {
		rep, key := l.pausedRep, l.pausedKey
		l.pausedRep, l.pausedKey = nil, nil
		return nil, l.finishKey(ctx, rep, key)
	}
	last := l.pausedLast
	l.pausedLast = nil
	return l.processRound(ctx, last)
}

// Abort ends the login and releases the mechanisms' state.
func (l *Login) Abort() {
	if l.err == nil && l.creds == nil {
		l.err = errors.New("login aborted")
	}
	if l.chpw != nil && l.chpw.sub != nil {
		l.chpw.sub.Abort()
	}
	l.closeRequests()
}

func (l *Login) step(ctx context.Context, reply []byte) (*KDCRequest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !l.started {
		l.started = true
		if err := l.checkKeytabHasClient(); err != nil {
			return nil, err
		}
		return l.startExchange()
	}
	if len(reply) == 0 {
		return nil, fmt.Errorf("%w: empty reply", ErrBadReply)
	}
	switch reply[0] {
	case tagKRBError:
		e, err := decodeKRBError(reply)
		if err != nil {
			return nil, err
		}
		pa, _ := decodeMethodData(e.EData)
		// RESPONSE_TOO_BIG is the UDP transport's, never armored (RFC 6113
		// §5.4.3 armors only what the KDC's FAST code produces).
		if l.fast != nil && e.ErrorCode != ErrCodeResponseTooBig {
			if e, pa, err = l.unwrapError(e, pa); err != nil {
				return nil, err
			}
		}
		return l.handleError(ctx, e.ErrorCode, kdcError(e, l.client), pa)
	case tagASRep:
		rep, err := decodeASRep(reply)
		if err != nil {
			return nil, err
		}
		return nil, l.finish(ctx, rep)
	default:
		return nil, fmt.Errorf("%w: unexpected message (first byte 0x%02x)", ErrBadReply, reply[0])
	}
}

// startExchange begins (or restarts) the exchange with a request that
// carries no preauthentication, as MIT's client does; armored when armor
// was given and FAST is known to work, required, or was offered.
func (l *Login) startExchange() (*KDCRequest, error) {
	l.closeRequests()
	l.fast = nil
	if a := l.o.armor; a != nil && (a.FASTAvailable || l.o.fastRequired || l.upgraded) {
		f, err := newFASTState(a)
		if err != nil {
			return nil, fmt.Errorf("constructing FAST armor: %w", err)
		}
		l.fast = f
		l.trace("Using FAST armor from %s", a.Client)
	}
	l.reqs = make(map[int]preauth.Request)
	l.methodPA, l.cookie = nil, nil
	l.tried = make(map[int32]bool)
	l.selected, l.allowed, l.noFall = 0, 0, false
	l.asKey, l.keyByMod = nil, false
	l.ccConfigOut = nil // what a failed mechanism stored (MIT's clear_cc_config_out_data)
	l.etype, l.salt, l.s2k = l.etypes[0], l.defaultSalt(), ""
	if err := l.newBody(); err != nil {
		return nil, err
	}
	l.trace("Getting initial credentials for %s", l.client)
	return l.emit(nil)
}

func (l *Login) closeRequests() {
	for _, r := range l.reqs {
		if c, ok := r.(preauth.Closer); ok {
			c.Close()
		}
	}
	l.reqs = nil
}

// newBody encodes a fresh KDC-REQ-BODY with a new nonce: every request
// gets its own nonce, and mechanisms see the exact bytes that are sent.
func (l *Login) newBody() error {
	// Start from kdc_default_options (MIT's default: renewable-ok).
	opts := types.NewKrbFlags()
	copy(opts.Bytes, l.cfg.LibDefaults.KDCDefaultOptions.Bytes)
	if l.boolOpt(l.o.forwardable, l.cfg.LibDefaults.Forwardable) {
		types.SetFlag(&opts, flags.Forwardable)
	}
	if l.boolOpt(l.o.proxiable, l.cfg.LibDefaults.Proxiable) {
		types.SetFlag(&opts, flags.Proxiable)
	}
	if !l.rtill.IsZero() {
		types.SetFlag(&opts, flags.Renewable)
	}
	if l.canonicalize() {
		types.SetFlag(&opts, flags.Canonicalize)
	}
	if l.o.anonymous {
		// RFC 8062 §3: request-anonymous is bit 16 (gokrb5's constant,
		// 12, is the old draft's).
		types.SetFlag(&opts, kdcOptRequestAnonymous)
	}
	if !l.from.IsZero() {
		// As MIT's krb5_init_creds_init: ALLOW-POSTDATE with POSTDATED,
		// so the ticket is may-postdate too (klist's "D").
		types.SetFlag(&opts, flags.AllowPostDate)
		types.SetFlag(&opts, flags.PostDated)
	}
	var nb [4]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return err
	}
	var addrs []types.HostAddress
	if l.boolOpt(l.o.addresses, !l.cfg.LibDefaults.NoAddresses) {
		a, err := types.LocalHostAddresses()
		if err != nil {
			return fmt.Errorf("listing the host's addresses: %w", err)
		}
		addrs = a
	}
	l.body = kdcReqBody{
		KDCOptions: opts,
		CName:      l.client.Name,
		Realm:      l.client.Realm,
		SName:      l.server.Name,
		From:       l.from,
		Till:       l.till,
		RTime:      l.rtill,
		Nonce:      int(binary.BigEndian.Uint32(nb[:]) & 0x7fffffff),
		EType:      l.etypes,
		Addresses:  addrs,
	}
	b, err := asn1.Marshal(l.body)
	if err != nil {
		return fmt.Errorf("encoding KDC-REQ-BODY: %w", err)
	}
	l.bodyDER = b
	return nil
}

func (l *Login) boolOpt(o *bool, def bool) bool {
	if o != nil {
		return *o
	}
	return def
}

// emit wraps the mechanism's PA-DATA into the next AS-REQ, adding the
// FX-COOKIE the KDC last sent (RFC 6113 §5.2) and PA-PAC-REQUEST.
func (l *Login) emit(padata []types.PAData) (*KDCRequest, error) {
	if l.stats.Requests >= MaxRequests {
		return nil, ErrLoop
	}
	var all types.PADataSequence
	if l.cookie != nil {
		all = append(all, types.PAData{PADataType: paFXCookie, PADataValue: l.cookie})
	}
	all = append(all, padata...)
	if !l.noInfoPA {
		// Ask the KDC to prove it saw this exact request (RFC 6806 §11) and
		// for a freshness token (RFC 8070), as MIT's client does.
		all = append(all, types.PAData{PADataType: paASFreshness, PADataValue: []byte{}},
			types.PAData{PADataType: paReqEncPARep, PADataValue: []byte{}})
	}
	if l.o.pacRequest != nil {
		v, err := asn1.Marshal(struct {
			IncludePAC bool `asn1:"explicit,tag:0"`
		}{*l.o.pacRequest})
		if err != nil {
			return nil, err
		}
		all = append(all, types.PAData{PADataType: paPACRequest, PADataValue: v})
	}
	var req []byte
	var err error
	if l.fast != nil {
		req, err = l.fast.wrap(all, l.bodyDER)
	} else {
		req, err = encodeASReq(all, l.bodyDER)
	}
	if err != nil {
		return nil, err
	}
	l.prevReq, l.lastReq = l.lastReq, req
	l.reqTime = l.o.now()
	l.stats.Requests++
	l.trace("Sending AS-REQ %d to %s (%d bytes, preauth %v)", l.stats.Requests, l.client.Realm, len(req), paTypes(all))
	return &KDCRequest{Data: req, Realm: l.client.Realm, TCPOnly: l.tcpOnly}, nil
}

func paTypes(pas []types.PAData) []int32 {
	out := make([]int32, len(pas))
	for i, p := range pas {
		out[i] = p.PADataType
	}
	return out
}

// etypeName returns the longest (most explicit) name of an enctype.
func etypeName(e int32) string {
	best := ""
	for name, id := range etypeID.ETypesByName {
		if id == e && len(name) > len(best) {
			best = name
		}
	}
	if best == "" {
		return fmt.Sprint(e)
	}
	return best
}

// trace writes one trace line; WithTrace escapes it.
func (l *Login) trace(format string, args ...any) {
	if l.o.trace != nil {
		l.o.trace(format, args...)
	}
}
