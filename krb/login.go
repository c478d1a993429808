package krb

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gokinit/gokinit/krb/prf"
	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
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

// Request is one message for the KDC, produced by Login.Step.
type Request struct {
	Data    []byte // encoded AS-REQ
	Realm   string // the realm whose KDC must receive it
	TCPOnly bool   // send over TCP (after KRB_ERR_RESPONSE_TOO_BIG)
}

// Stats counts the work a login did, for benchmarks and tests.
type Stats struct {
	Requests    int // AS-REQs produced (round trips to the KDC)
	StringToKey int // password-to-key derivations run
}

// Login is one get-initial-credentials exchange as a step machine (MIT's
// krb5_init_creds_step): feed it the KDC's replies and it returns the next
// request, until it has credentials or fails. It does no I/O itself, so a
// caller may drive it over any transport; GetInitialCreds drives it over
// krb5.conf's KDCs. A Login is not safe for concurrent use.
type Login struct {
	o      options
	cfg    *Config
	client Principal
	server Principal
	mechs  []preauth.Mechanism

	// Per exchange; reset when the exchange restarts.
	reqs     map[preauth.Mechanism]preauth.Request
	body     kdcReqBody
	bodyDER  []byte
	lastReq  []byte
	prevReq  []byte
	methodPA types.PADataSequence
	cookie   []byte
	tried    map[int32]bool
	selected int32
	allowed  int32
	noFall   bool
	asKey    *types.EncryptionKey
	keyByMod bool // the AS key was set by a mechanism, not derived
	fast     *fastState
	etype    int32
	salt     string
	s2k      string

	// Per login.
	etypes     []int32
	till       time.Time
	rtill      time.Time
	password   *string
	fromPW     bool // the AS key in use came from a password
	keyCache   map[string]types.EncryptionKey
	rs         *responder.ResponseSet
	offset     time.Duration
	haveOffset bool
	tcpOnly    bool
	started    bool
	upgraded   bool // restarted once to use FAST after the KDC offered it
	noInfoPA   bool // the KDC refused PA-REQ-ENC-PA-REP and PA-AS-FRESHNESS
	restarts   int
	transport  Transport

	// A round stopped for the caller's answers (WithDeferredQuestions).
	paused     pauseKind
	pausedLast *KDCError            // the KDC error that started the paused round
	pausedRep  *asRep               // the AS-REP waiting for the password
	pausedKey  *types.EncryptionKey // its FAST strengthen key

	stats Stats
	creds *Credentials
	err   error
}

// NewLogin prepares a login for client, a principal name in MIT's text form
// ("alice", "alice@EXAMPLE.COM", "host/h.example.com").
func NewLogin(client string, opts ...Option) (*Login, error) {
	l := &Login{keyCache: make(map[string]types.EncryptionKey)}
	for _, opt := range opts {
		opt(&l.o)
	}
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
	l.mechs = l.o.mechanisms
	if l.mechs == nil {
		l.mechs = append(slices.Clone(builtinMechanisms), preauth.Registered()...)
	}
	if l.o.fastRequired && l.o.armor == nil {
		return nil, fmt.Errorf("%w: no armor ticket was given", ErrFASTRequired)
	}
	if l.o.armor != nil && l.o.armor.Realm != l.client.Realm {
		return nil, fmt.Errorf("the armor ticket is for realm %s, not %s", l.o.armor.Realm, l.client.Realm)
	}
	l.etypes = l.requestEnctypes()
	if len(l.etypes) == 0 {
		return nil, fmt.Errorf("%w: no supported enctype is configured", ErrEtypeNoSupport)
	}
	lifetime := l.o.lifetime
	if lifetime <= 0 {
		lifetime = l.cfg.LibDefaults.TicketLifetime
	}
	if lifetime <= 0 {
		lifetime = 24 * time.Hour
	}
	now := l.o.now()
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
// the option, else default_tkt_enctypes that permitted_enctypes allows (both
// default to MIT's list), limited to those gokrb5 implements;
// with a keytab, the keytab's enctypes first (as MIT's gic_keytab does).
func (l *Login) requestEnctypes() []int32 {
	list := l.o.enctypes
	if list == nil {
		list = slices.DeleteFunc(slices.Clone(l.cfg.LibDefaults.DefaultTktEnctypeIDs), func(e int32) bool {
			return !slices.Contains(l.cfg.LibDefaults.PermittedEnctypeIDs, e)
		})
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
// request; then pass each KDC reply. It returns the next request, or nil
// when the login is complete (see Credentials) or, with
// WithDeferredQuestions, waits for answers (see Questions): set them, then
// call Step with a nil reply to go on. After an error the login is over and
// Step keeps returning that error.
func (l *Login) Step(ctx context.Context, reply []byte) (*Request, error) {
	if l.err != nil {
		return nil, l.err
	}
	if l.creds != nil {
		return nil, nil
	}
	var out *Request
	var err error
	if l.paused != notPaused {
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
	if l.paused == notPaused {
		return nil
	}
	return l.rs
}

// resume continues a paused round once the caller has set the answers.
func (l *Login) resume(ctx context.Context, reply []byte) (*Request, error) {
	if reply != nil {
		return nil, errors.New("krb: the login waits for answers, not for a KDC reply")
	}
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
	l.closeRequests()
}

func (l *Login) step(ctx context.Context, reply []byte) (*Request, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !l.started {
		l.started = true
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
		if l.fast != nil {
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

// kdcError keeps a KRB-ERROR whole for the caller.
func kdcError(e *messages.KRBError, client Principal) *KDCError {
	return &KDCError{
		Code: e.ErrorCode, EText: e.EText, EData: e.EData, Realm: e.Realm,
		CRealm: e.CRealm, CName: e.CName, Client: client.String(),
		STime: e.STime.Add(time.Duration(e.Susec) * time.Microsecond),
	}
}

// unwrapError replaces an armored KRB-ERROR by the one inside its
// PA-FX-ERROR, and its padata by the armored padata (RFC 6113 §5.4.3).
// An unarmored error is refused: it could come from an attacker stripping
// FAST.
func (l *Login) unwrapError(outer *messages.KRBError, pa types.PADataSequence) (*messages.KRBError, types.PADataSequence, error) {
	resp, err := l.fast.unwrap(pa, l.body.Nonce)
	if errors.Is(err, ErrUnarmoredReply) {
		err = fmt.Errorf("%w: the KDC answered an armored request with an unarmored error (%s)", ErrUnarmoredReply, ErrorCodeText(outer.ErrorCode))
		if l.o.fastRequired {
			err = fmt.Errorf("%w: %w", ErrFASTRequired, err)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	v, ok := preauth.Find(resp.PAData, paFXError)
	if !ok {
		return nil, nil, fmt.Errorf("%w: armored error without PA-FX-ERROR", ErrBadReply)
	}
	inner, err := decodeFXError(v)
	if err != nil {
		return nil, nil, err
	}
	rest := slices.DeleteFunc(slices.Clone(resp.PAData), func(p types.PAData) bool { return p.PADataType == paFXError })
	return inner, rest, nil
}

// startExchange begins (or restarts) the exchange with a request that
// carries no preauthentication, as MIT's client does; armored when armor
// was given and FAST is known to work, required, or was offered.
func (l *Login) startExchange() (*Request, error) {
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
	l.reqs = make(map[preauth.Mechanism]preauth.Request)
	l.methodPA, l.cookie = nil, nil
	l.tried = make(map[int32]bool)
	l.selected, l.allowed, l.noFall = 0, 0, false
	l.asKey, l.keyByMod = nil, false
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
	if l.o.canonicalize || l.cfg.LibDefaults.Canonicalize {
		types.SetFlag(&opts, flags.Canonicalize)
	}
	if l.o.anonymous {
		// RFC 8062 §3: request-anonymous is bit 16 (gokrb5's constant,
		// 12, is the old draft's).
		types.SetFlag(&opts, kdcOptRequestAnonymous)
	}
	var nb [4]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return err
	}
	l.body = kdcReqBody{
		KDCOptions: opts,
		CName:      l.client.Name,
		Realm:      l.client.Realm,
		SName:      l.server.Name,
		Till:       l.till,
		RTime:      l.rtill,
		Nonce:      int(binary.BigEndian.Uint32(nb[:]) & 0x7fffffff),
		EType:      l.etypes,
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
func (l *Login) emit(padata []types.PAData) (*Request, error) {
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
	l.stats.Requests++
	l.trace("Sending AS-REQ %d to %s (%d bytes, preauth %v)", l.stats.Requests, l.client.Realm, len(req), paTypes(all))
	return &Request{Data: req, Realm: l.client.Realm, TCPOnly: l.tcpOnly}, nil
}

// handleError acts on a KRB-ERROR as MIT 1.20's init_creds_step_reply does.
func (l *Login) handleError(ctx context.Context, code int32, kerr *KDCError, pa types.PADataSequence) (*Request, error) {
	l.trace("Received error from KDC: %d/%s", code, ErrorCodeText(code))
	if c, ok := preauth.Find(pa, paFXCookie); ok {
		l.cookie = c
	}
	if l.fast == nil && l.o.armor != nil && !l.upgraded {
		if _, ok := preauth.Find(pa, paFXFast); ok {
			// The KDC offers FAST and we hold armor: start again armored
			// (MIT's k5_upgrade_to_fast_p).
			l.upgraded = true
			l.trace("Upgrading to FAST")
			return l.startExchange()
		}
	}
	if l.fast == nil && l.o.fastRequired {
		return nil, fmt.Errorf("%w: the KDC does not offer FAST", ErrFASTRequired)
	}
	switch code {
	case ErrCodeResponseTooBig:
		if l.tcpOnly {
			return nil, kerr
		}
		l.tcpOnly = true
		l.trace("Response too big for UDP, retrying with TCP")
		return &Request{Data: l.lastReq, Realm: l.client.Realm, TCPOnly: true}, nil

	case ErrCodePreauthRequired:
		l.recordOffset(kerr.STime)
		l.methodPA = l.sortPA(pa)
		clear(l.tried)
		l.selected, l.allowed = 0, 0
		l.readEtypeInfo(l.methodPA)
		return l.round(ctx, kerr)

	case ErrCodeMorePreauthRequired:
		if l.selected == 0 {
			return nil, kerr
		}
		// Only the mechanism in progress may continue (multi-round SPAKE).
		l.allowed = l.selected
		l.methodPA = pa
		return l.round(ctx, kerr)

	case ErrCodePreauthFailed:
		if l.selected == 0 && !l.noInfoPA {
			// A KDC older than MIT 1.7 rejects our informational padata;
			// retry without it, as MIT does.
			l.noInfoPA = true
			return l.startExchange()
		}
		if l.selected == 0 || l.noFall {
			return nil, l.failure(kerr)
		}
		l.trace("Preauth type %d failed; trying the next offered mechanism", l.selected)
		l.tried[l.selected] = true
		l.selected, l.allowed = 0, 0
		if len(pa) > 0 {
			l.methodPA = l.sortPA(pa)
			l.readEtypeInfo(l.methodPA)
		}
		return l.round(ctx, kerr)

	case ErrCodePreauthExpired:
		if l.restarts >= maxRestarts {
			return nil, kerr
		}
		l.restarts++
		l.trace("Preauthentication expired; restarting the exchange")
		return l.startExchange()

	case ErrCodeWrongRealm, ErrCodeClientUnknown:
		if (l.o.canonicalize || l.o.enterprise) && kerr.CRealm != "" && kerr.CRealm != l.client.Realm && l.restarts < maxRestarts {
			l.restarts++
			l.trace("Following client referral to realm %s", kerr.CRealm)
			l.client.Realm = kerr.CRealm
			if l.o.service == "" {
				l.server = TGSPrincipal(kerr.CRealm)
			}
			return l.startExchange()
		}
		return nil, kerr
	}

	// Another error with PA-DATA for the mechanism in use: let it adjust.
	if l.selected != 0 && len(pa) > 0 {
		if m, req := l.request(l.selected); m != nil {
			if ta, ok := req.(preauth.TryAgainer); ok {
				if err := l.newBody(); err != nil {
					return nil, err
				}
				in := &preauth.Input{All: pa, ReqBody: l.bodyDER, PrevRequest: l.lastReq, ErrorCode: code}
				in.PAData.PADataType = l.selected
				if v, ok := preauth.Find(pa, l.selected); ok {
					in.PAData.PADataValue = v
				}
				out, err := ta.TryAgain(ctx, l.callbacks(nil), in)
				if err == nil && len(out) > 0 {
					l.trace("Preauth mechanism %s retrying after error %d", m.Name(), code)
					return l.emit(out)
				}
			}
		}
	}
	return nil, kerr
}

// failure returns the error to report for a preauth failure: MIT's
// "Password incorrect" when the key came from a password.
func (l *Login) failure(kerr *KDCError) error {
	if kerr.Code == ErrCodePreauthFailed && l.fromPW {
		return &passwordIncorrect{kerr}
	}
	return kerr
}

// round runs one preauthentication round over l.methodPA: every mechanism
// asks its questions, the responder answers once, then mechanisms process
// their types, informational ones first, until a real one produces PA-DATA.
func (l *Login) round(ctx context.Context, last *KDCError) (*Request, error) {
	if err := l.newBody(); err != nil {
		return nil, err
	}
	l.trace("Processing preauth types: %v", paTypes(l.methodPA))
	rs := &responder.ResponseSet{}
	l.rs = rs
	cb := l.callbacks(rs)
	input := func(pa types.PAData) *preauth.Input {
		return &preauth.Input{PAData: pa, All: l.methodPA, ReqBody: l.bodyDER, PrevRequest: l.lastReq}
	}
	for _, pa := range l.methodPA {
		if m, req := l.usable(pa.PADataType); m != nil {
			if err := req.FillResponseSet(ctx, cb, input(pa), rs); err != nil {
				l.trace("Preauth mechanism %s could not prepare questions for type %d: %v", m.Name(), pa.PADataType, err)
			}
		}
	}
	if !rs.Empty() {
		if l.o.deferred {
			l.trace("Waiting for answers to %v", rs.Questions())
			l.paused, l.pausedLast = pausedRound, last
			return nil, nil
		}
		if l.o.responder != nil {
			l.trace("Asking the responder: %v", rs.Questions())
			if err := l.o.responder.Respond(ctx, rs); err != nil {
				return nil, err
			}
		}
	}
	return l.processRound(ctx, last)
}

// processRound is the second half of a round: mechanisms process their
// types, informational ones first, until a real one produces PA-DATA.
func (l *Login) processRound(ctx context.Context, last *KDCError) (*Request, error) {
	if a, ok := l.rs.Answer(responder.QuestionPassword); ok && l.password == nil {
		// Keep the answer even if no mechanism uses it this round (SPAKE
		// first sends its support message): the password is asked once.
		l.password = &a
	}
	cb := l.callbacks(l.rs)
	input := func(pa types.PAData) *preauth.Input {
		return &preauth.Input{PAData: pa, All: l.methodPA, ReqBody: l.bodyDER, PrevRequest: l.lastReq}
	}
	var firstErr error
	for _, kind := range []preauth.Kind{preauth.Info, preauth.Real} {
		for _, pa := range l.methodPA {
			m, req := l.usable(pa.PADataType)
			if m == nil || l.kindOf(m, pa.PADataType) != kind {
				continue
			}
			out, err := req.Process(ctx, cb, input(pa))
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				l.trace("Preauth mechanism %s (%d) failed: %v", m.Name(), pa.PADataType, err)
				if firstErr == nil {
					firstErr = err
				}
				if kind == preauth.Real {
					l.tried[pa.PADataType] = true
				}
				continue
			}
			if kind == preauth.Real && len(out) > 0 {
				l.selected = pa.PADataType
				l.trace("Preauth mechanism %s (%d) produced %v", m.Name(), pa.PADataType, paTypes(out))
				return l.emit(out)
			}
		}
	}
	switch {
	case firstErr != nil:
		return nil, firstErr
	case last != nil && last.Code == ErrCodePreauthFailed:
		return nil, l.failure(last)
	case last != nil && last.Code == ErrCodeMorePreauthRequired:
		return nil, last
	}
	if _, ok := preauth.Find(l.methodPA, paFXFast); ok && l.fast == nil {
		// MIT's KDC offers OTP and encrypted challenge only inside FAST:
		// unarmored, it offers nothing but PA-FX-FAST.
		return nil, fmt.Errorf("%w: the KDC offers preauthentication for %s only inside FAST; give armor (kinit -T, krb.WithArmor)", ErrFASTRequired, l.client)
	}
	return nil, fmt.Errorf("%w: the KDC offered %v", ErrNoMechanism, paTypes(l.methodPA))
}

// request returns the mechanism claiming PA type t and its per-login state,
// creating the state on first use.
func (l *Login) request(t int32) (preauth.Mechanism, preauth.Request) {
	for _, m := range l.mechs {
		for _, pt := range m.PATypes() {
			if pt.Type == t {
				r, ok := l.reqs[m]
				if !ok {
					r = m.NewRequest()
					l.reqs[m] = r
				}
				return m, r
			}
		}
	}
	return nil, nil
}

// usable is request, limited to types not failed and allowed this round.
func (l *Login) usable(t int32) (preauth.Mechanism, preauth.Request) {
	m, r := l.request(t)
	if m == nil {
		return nil, nil
	}
	if l.kindOf(m, t) == preauth.Real && (l.tried[t] || (l.allowed != 0 && l.allowed != t)) {
		return nil, nil
	}
	return m, r
}

func (l *Login) kindOf(m preauth.Mechanism, t int32) preauth.Kind {
	for _, pt := range m.PATypes() {
		if pt.Type == t {
			return pt.Kind
		}
	}
	return 0
}

// sortPA orders the KDC's offer by preferred_preauth_types (MIT's default
// 17, 16, 15, 14), keeping the KDC's order for the rest.
func (l *Login) sortPA(pa types.PADataSequence) types.PADataSequence {
	pref := l.cfg.LibDefaults.PreferredPreauthTypes
	out := make(types.PADataSequence, 0, len(pa))
	for _, p := range pref {
		for _, e := range pa {
			if int(e.PADataType) == p {
				out = append(out, e)
			}
		}
	}
	for _, e := range pa {
		if !slices.Contains(pref, int(e.PADataType)) {
			out = append(out, e)
		}
	}
	return out
}

// recordOffset notes the KDC's clock from a KRB-ERROR (MIT's
// note_req_timestamp); it is used only when kdc_timesync is on.
func (l *Login) recordOffset(stime time.Time) {
	if stime.IsZero() {
		return
	}
	l.offset = stime.Sub(l.o.now())
	l.haveOffset = true
}

// readEtypeInfo picks the enctype, salt and string-to-key parameters for
// the AS key from ETYPE-INFO2 (else ETYPE-INFO, else PW-SALT): the entry
// for the first enctype of our request that the KDC lists, not simply the
// KDC's first entry (RFC 4120 §3.1.3).
func (l *Login) readEtypeInfo(pa types.PADataSequence) {
	if v, ok := preauth.Find(pa, paETypeInfo2); ok {
		info, err := decodeETypeInfo2(v)
		if err != nil {
			l.trace("Ignoring undecodable ETYPE-INFO2: %v", err)
			return
		}
		for _, e := range l.etypes {
			for _, ent := range info {
				if ent.EType == e {
					l.setEtype(ent.EType, ent.Salt, ent.Salt != "", ent.S2KParams)
					return
				}
			}
		}
		return
	}
	if v, ok := preauth.Find(pa, paETypeInfo); ok {
		info, err := decodeETypeInfo(v)
		if err != nil {
			return
		}
		for _, e := range l.etypes {
			for _, ent := range info {
				if ent.EType == e {
					l.setEtype(ent.EType, string(ent.Salt), ent.Salt != nil, nil)
					return
				}
			}
		}
		return
	}
	if v, ok := preauth.Find(pa, paPWSalt); ok {
		l.setEtype(l.etype, string(v), true, nil)
	}
}

func (l *Login) setEtype(etype int32, salt string, haveSalt bool, params []byte) {
	if !haveSalt {
		salt = l.defaultSalt()
	}
	s2k := hex.EncodeToString(params)
	if (etype != l.etype || salt != l.salt || s2k != l.s2k) && !l.keyByMod {
		l.asKey = nil // derived for other parameters
	}
	l.etype, l.salt, l.s2k = etype, salt, s2k
	l.trace("Selected etype info: etype %s, salt %q, params %q", etypeName(etype), salt, l.s2k)
}

// defaultSalt is the realm followed by the name components (RFC 4120 §4).
func (l *Login) defaultSalt() string {
	return l.client.Realm + strings.Join(l.client.Name.NameString, "")
}

// asKeyFor returns the long-term key for the current enctype, deriving it
// from the password at most once per enctype, salt and parameters.
func (l *Login) asKeyFor(ctx context.Context) (types.EncryptionKey, error) {
	if l.asKey != nil && (l.keyByMod || l.asKey.KeyType == l.etype) {
		return *l.asKey, nil
	}
	if l.o.keytab != nil {
		key, err := l.keytabKey(l.etype)
		if err != nil {
			return types.EncryptionKey{}, err
		}
		l.asKey, l.fromPW = &key, false
		return key, nil
	}
	pw, err := l.getPassword(ctx)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	id := fmt.Sprintf("%d\x00%s\x00%s", l.etype, l.salt, l.s2k)
	key, ok := l.keyCache[id]
	if !ok {
		et, err := crypto.GetEtype(l.etype)
		if err != nil {
			return types.EncryptionKey{}, fmt.Errorf("%w: %d", ErrEtypeNoSupport, l.etype)
		}
		params := l.s2k
		if params == "" {
			params = et.GetDefaultStringToKeyParams()
		} else if err := checkS2KParams(l.etype, params); err != nil {
			return types.EncryptionKey{}, err
		}
		kb, err := et.StringToKey(pw, l.salt, params)
		if err != nil {
			return types.EncryptionKey{}, fmt.Errorf("string-to-key for %s: %w", etypeName(l.etype), err)
		}
		l.stats.StringToKey++
		key = types.EncryptionKey{KeyType: l.etype, KeyValue: kb}
		l.keyCache[id] = key
	}
	l.asKey, l.fromPW = &key, true
	return key, nil
}

// getPassword returns the password from the options, an earlier round, the
// responder's answer, or the prompter, in that order.
func (l *Login) getPassword(ctx context.Context) (string, error) {
	if l.o.password != nil {
		return *l.o.password, nil
	}
	if l.password != nil {
		return *l.password, nil
	}
	if a, ok := l.rs.Answer(responder.QuestionPassword); ok {
		l.password = &a
		return a, nil
	}
	replies, err := prompter.Fallback(ctx, l.o.prompter, responder.QuestionPassword, "",
		[]prompter.Prompt{prompter.PasswordPrompt(l.client.String())})
	if err != nil {
		return "", err
	}
	l.password = &replies[0]
	return replies[0], nil
}

func (l *Login) haveSecret() bool {
	return l.o.password != nil || l.o.keytab != nil || l.password != nil
}

// finish verifies the AS-REP and builds the credentials.
func (l *Login) finish(ctx context.Context, rep *asRep) error {
	var strengthen *types.EncryptionKey
	if l.fast != nil {
		resp, err := l.fast.unwrap(rep.PAData, l.body.Nonce)
		if errors.Is(err, ErrUnarmoredReply) {
			err = fmt.Errorf("%w: the KDC answered an armored request with an unarmored AS-REP", ErrUnarmoredReply)
		}
		if err != nil {
			return err
		}
		client, err := l.fast.verifyFinished(resp, rep.Ticket.Bytes)
		if err != nil {
			return err
		}
		// The armored client name and padata replace the unprotected ones.
		rep.CName, rep.CRealm, rep.PAData = client.Name, client.Realm, resp.PAData
		if resp.StrengthenKey.KeyType != 0 {
			strengthen = &resp.StrengthenKey
		}
	}
	l.trace("Received AS-REP (preauth %v)", paTypes(rep.PAData))
	cb := l.callbacks(l.rs)
	for _, pa := range rep.PAData {
		// The selected mechanism sees the reply's padata for any of its
		// types (PKINIT sends PA-PK-AS-REQ, the KDC answers PA-PK-AS-REP);
		// other real mechanisms do not.
		m, req := l.request(pa.PADataType)
		if m == nil || (l.kindOf(m, pa.PADataType) == preauth.Real && m != l.selectedMechanism()) {
			continue
		}
		in := &preauth.Input{PAData: pa, All: rep.PAData, ReqBody: l.bodyDER, PrevRequest: l.lastReq, Reply: true}
		if _, err := req.Process(ctx, cb, in); err != nil {
			return err
		}
	}
	if !slices.Contains(l.etypes, rep.EncPart.EType) {
		return fmt.Errorf("%w: reply encrypted with enctype %d, which was not requested", ErrBadReply, rep.EncPart.EType)
	}
	if !l.keyByMod {
		if rep.EncPart.EType != l.etype || l.selected == 0 {
			l.etype, l.salt, l.s2k = rep.EncPart.EType, l.defaultSalt(), ""
			l.readEtypeInfo(rep.PAData)
			if l.etype != rep.EncPart.EType {
				l.etype, l.salt, l.s2k = rep.EncPart.EType, l.defaultSalt(), ""
			}
		}
		if !l.haveSecret() {
			// No preauthentication was needed: the key is needed only now,
			// and the responder gets its one chance at the password here.
			rs := &responder.ResponseSet{}
			rs.Ask(responder.QuestionPassword, "")
			l.rs = rs
			if l.o.deferred {
				l.trace("Waiting for answers to %v", rs.Questions())
				l.paused, l.pausedRep, l.pausedKey = pausedReply, rep, strengthen
				return nil
			}
			if l.o.responder != nil {
				l.trace("Asking the responder: %v", rs.Questions())
				if err := l.o.responder.Respond(ctx, rs); err != nil {
					return err
				}
			}
		}
	}
	return l.finishKey(ctx, rep, strengthen)
}

// finishKey decrypts the AS-REP with the reply key, verifies it and builds
// the credentials.
func (l *Login) finishKey(ctx context.Context, rep *asRep, strengthen *types.EncryptionKey) error {
	key, err := l.asKeyFor(ctx)
	if err != nil {
		return err
	}
	if strengthen != nil {
		// RFC 6113 §5.4.3: the reply key is strengthened by the KDC's key.
		if key, err = prf.CF2(*strengthen, key, "strengthenkey", "replykey"); err != nil {
			return fmt.Errorf("%w: strengthen key: %v", ErrBadReply, err)
		}
	}
	plain, err := crypto.DecryptEncPart(rep.EncPart, key, keyusage.AS_REP_ENCPART)
	if err != nil {
		if l.fromPW {
			return &passwordIncorrect{fmt.Errorf("%w: the reply did not decrypt", ErrPreauthFailed)}
		}
		return fmt.Errorf("%w: the reply did not decrypt with the key (%s)", ErrPreauthFailed, ErrorCodeText(ErrCodeBadIntegrity))
	}
	enc, err := decodeEncASRepPart(plain)
	if err != nil {
		return err
	}
	if err := l.verify(rep, enc); err != nil {
		return err
	}
	fastAvail := false
	if types.IsFlagSet(&enc.Flags, ticketFlagEncPARep) {
		if err := reqEncPARepValid(enc.EncPAData, l.lastReq, key); err != nil {
			return err
		}
		_, fastAvail = preauth.Find(enc.EncPAData, paFXFast)
	}
	l.creds = newCredentials(rep, enc)
	l.creds.FASTAvailable = fastAvail
	if l.cfg.LibDefaults.KDCTimeSync != 0 {
		// MIT's kdc_timesync: remember the KDC's clock (from authtime) in the cache.
		l.creds.KDCOffset = enc.AuthTime.Sub(l.o.now()).Truncate(time.Second)
	}
	l.trace("AS-REP verified: %s, ticket for %s, ends %s", l.creds.Client, l.creds.Server, l.creds.EndTime.Local().Format(time.DateTime))
	return nil
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

func (l *Login) trace(format string, args ...any) {
	if l.o.trace != nil {
		l.o.trace(format, args...)
	}
}

// selectedMechanism is the mechanism whose PA type was selected, or nil.
func (l *Login) selectedMechanism() preauth.Mechanism {
	if l.selected == 0 {
		return nil
	}
	m, _ := l.request(l.selected)
	return m
}

// maxPBKDF2Iterations is MIT's bound on the iteration count a KDC may ask
// for (s2k_pbkdf2.c): an unauthenticated reply must not make the client
// spin for hours.
const maxPBKDF2Iterations = 0xffffff

// checkS2KParams validates string-to-key parameters from the KDC: for the
// PBKDF2 enctypes (RFC 3962 §4, RFC 8009 §4) a 4-byte iteration count
// between 1 and maxPBKDF2Iterations; other enctypes take none.
func checkS2KParams(etype int32, params string) error {
	b, err := hex.DecodeString(params)
	bad := fmt.Errorf("%w: invalid key generation parameters from KDC for %s", ErrBadReply, etypeName(etype))
	if err != nil {
		return bad
	}
	switch etype {
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96,
		etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192:
		if len(b) != 4 {
			return bad
		}
		if n := binary.BigEndian.Uint32(b); n == 0 || n > maxPBKDF2Iterations {
			return bad
		}
		return nil
	}
	return bad
}
