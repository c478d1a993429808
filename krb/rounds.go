package krb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

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

// handleError acts on a KRB-ERROR as MIT 1.20's init_creds_step_reply does.
func (l *Login) handleError(ctx context.Context, code int32, kerr *KDCError, pa types.PADataSequence) (*KDCRequest, error) {
	l.trace("Received error from KDC: %d/%s", code, ErrorCodeText(code))
	pa = uniquePA(pa)
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
		return &KDCRequest{Data: l.lastReq, Realm: l.client.Realm, TCPOnly: true}, nil

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
		l.recordOffset(kerr.STime)
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

	case ErrCodeKeyExpired:
		if l.mayChangePassword() {
			return l.startPasswordChange(ctx, kerr)
		}
		return nil, kerr

	case ErrCodeWrongRealm, ErrCodeClientUnknown:
		if l.canonicalize() && kerr.CRealm != "" && kerr.CRealm != l.client.Realm && l.restarts < maxRestarts {
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
	if l.selected != 0 && (len(pa) > 0 || len(kerr.EData) > 0) {
		if m, req := l.request(l.selected); m != nil {
			if ta, ok := req.(preauth.TryAgainer); ok {
				if err := l.newBody(); err != nil {
					return nil, err
				}
				in := &preauth.Input{All: pa, ReqBody: l.bodyDER, PrevRequest: l.lastReq, ErrorCode: code, EData: kerr.EData}
				in.PAData.PADataType = l.selected
				if v, ok := preauth.Find(pa, l.selected); ok {
					in.PAData.PADataValue = v
				}
				l.mechCalls++
				out, err := ta.TryAgain(ctx, l.callbacks(nil), in)
				if err == nil && len(out) > 0 {
					l.trace("Preauth mechanism %s retrying after error %d", m.Name(), code)
					return l.emit(out)
				}
				if err == nil {
					err = errors.New("no PA-DATA to retry with")
				}
				// As MIT's k5_preauth_tryagain: the mechanism is not tried
				// again; another offered one may be. If none succeeds, the
				// KDC's error is reported, with the mechanism's reason
				// behind it (errors.As finds both).
				l.trace("Preauth mechanism %s could not retry after error %d: %v", m.Name(), code, err)
				saved := &kdcErrorWith{kerr: kerr, err: &preauth.Error{Mechanism: m.Name(), PAType: l.selected, Phase: "tryagain", Err: err}}
				l.tried[l.selected] = true
				l.selected, l.allowed = 0, 0
				if len(l.methodPA) > 0 && !l.noFall {
					out, rerr := l.round(ctx, nil)
					if rerr == nil {
						return out, nil
					}
					l.trace("No other mechanism succeeded: %v", rerr)
				}
				return nil, saved
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
func (l *Login) round(ctx context.Context, last *KDCError) (*KDCRequest, error) {
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
	l.prepErr = nil
	for _, pa := range l.methodPA {
		m, req := l.usable(pa.PADataType)
		if m == nil {
			continue
		}
		// Each mechanism asks into a set of its own, copied into the round's
		// set: it cannot ask the engine's questions (the password), as MIT's
		// ask_responder_question refuses, nor read the other questions.
		own := &responder.ResponseSet{}
		l.mechCalls++
		err := req.FillResponseSet(ctx, cb, input(pa), own)
		for _, q := range own.Questions() {
			if preauth.ReservedQuestion(q) {
				l.trace("Refused preauth mechanism %s's %q question", m.Name(), q)
				if err == nil {
					err = fmt.Errorf("%w (asked %q)", preauth.ErrReserved, q)
				}
				continue
			}
			c, _ := own.Challenge(q)
			rs.Ask(q, c)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			l.trace("Preauth mechanism %s could not prepare questions for type %d: %v", m.Name(), pa.PADataType, err)
			if l.prepErr == nil {
				l.prepErr = make(map[int32]error)
			}
			l.prepErr[pa.PADataType] = &preauth.Error{Mechanism: m.Name(), PAType: pa.PADataType, Phase: "prepare", Err: err}
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
func (l *Login) processRound(ctx context.Context, last *KDCError) (*KDCRequest, error) {
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
			if perr, failed := l.prepErr[pa.PADataType]; failed {
				// It could not prepare: MIT would stop the login here; we
				// let another mechanism try, and report this if none does.
				if firstErr == nil && kind == preauth.Real {
					firstErr = perr
				}
				continue
			}
			l.mechCalls++
			out, err := req.Process(ctx, cb, input(pa))
			if err != nil {
				if errors.Is(err, prompter.ErrInterrupted) {
					// As MIT: no other mechanism runs after Ctrl-C at a
					// prompt, and the interrupt is reported as such.
					return nil, err
				}
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				l.trace("Preauth mechanism %s (%d) failed: %v", m.Name(), pa.PADataType, err)
				if firstErr == nil {
					firstErr = &preauth.Error{Mechanism: m.Name(), PAType: pa.PADataType, Phase: "process", Err: err}
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
		return nil, &preauthFailedError{firstErr}
	case last != nil && last.Code == ErrCodePreauthFailed:
		return nil, l.failure(last)
	case last != nil && last.Code == ErrCodeMorePreauthRequired:
		return nil, last
	}
	if l.inputPAType != 0 {
		if _, offered := preauth.Find(l.methodPA, l.inputPAType); !offered {
			return nil, fmt.Errorf("%w: the input credential cache allows only preauth type %d, which the KDC did not offer (it offered %v)", ErrNoMechanism, l.inputPAType, paTypes(l.methodPA))
		}
	}
	if _, ok := preauth.Find(l.methodPA, paFXFast); ok && l.fast == nil {
		// MIT's KDC offers OTP and encrypted challenge only inside FAST:
		// unarmored, it offers nothing but PA-FX-FAST.
		return nil, fmt.Errorf("%w: the KDC offers preauthentication for %s only inside FAST; give armor (kinit -T, krb.WithArmor)", ErrFASTRequired, l.client)
	}
	return nil, fmt.Errorf("%w: the KDC offered %v", ErrNoMechanism, paTypes(l.methodPA))
}

// request returns the mechanism claiming PA type t and its per-login state,
// creating the state on first use. State is kept by the mechanism's place
// in the list: a mechanism value need not be comparable.
func (l *Login) request(t int32) (preauth.Mechanism, preauth.Request) {
	i := l.mechIndex(t)
	if i < 0 {
		return nil, nil
	}
	m := l.mechs[i]
	r, ok := l.reqs[i]
	if !ok {
		r = m.NewRequest()
		l.reqs[i] = r
	}
	return m, r
}

// mechIndex is the place in l.mechs of the first mechanism claiming t, or -1.
func (l *Login) mechIndex(t int32) int {
	for i, m := range l.mechs {
		for _, pt := range m.PATypes() {
			if pt.Type == t {
				return i
			}
		}
	}
	return -1
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
	if l.kindOf(m, t) == preauth.Real && l.inputPAType != 0 && l.inputPAType != t {
		// MIT's pa_type_allowed: the input cache says which type to use.
		if !l.skipTraced[t] {
			if l.skipTraced == nil {
				l.skipTraced = make(map[int32]bool)
			}
			l.skipTraced[t] = true
			l.trace("Skipping preauth type %d (%s): the input credential cache allows only type %d", t, m.Name(), l.inputPAType)
		}
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

// uniquePA keeps the first element of each PA type, in the KDC's order.
// A PA type means one thing per message (RFC 4120 §5.2.7): later
// duplicates are dropped here, once, so that no mechanism handles a type
// twice and no work grows with the product of the offer's length and the
// number of its duplicates (an unauthenticated KDC_ERR_PREAUTH_REQUIRED
// listing PA-PK-AS-REQ 300,000 times costs one pass, not 300,000).
func uniquePA(pas types.PADataSequence) types.PADataSequence {
	seen := make(map[int32]struct{}, min(len(pas), 64))
	out := pas[:0:0]
	for _, p := range pas {
		if _, dup := seen[p.PADataType]; dup {
			continue
		}
		seen[p.PADataType] = struct{}{}
		out = append(out, p)
	}
	return out
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
	// An error that came inside FAST is authenticated by the armor key
	// (MIT's AUTH_OFFSET); mechanisms may refuse an unauthenticated one.
	l.offsetAuth = l.fast != nil
}

// selectedIndex is the place of the selected mechanism, or -1.
func (l *Login) selectedIndex() int {
	if l.selected == 0 {
		return -1
	}
	return l.mechIndex(l.selected)
}
