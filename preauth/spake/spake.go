// Package spake is PA-SPAKE, the SPAKE pre-authentication mechanism of
// RFC 9588, as MIT krb5's client runs it. The client proves it knows its
// long-term key through a SPAKE2 exchange over an elliptic-curve group, so
// an eavesdropper, or a fake KDC, learns nothing that allows an offline
// dictionary attack on the password, even without FAST.
//
// The exchange (RFC 9588 §4):
//
//  1. The KDC offers PA-SPAKE in its PREAUTH_REQUIRED error, empty or with
//     an optimistic challenge (the optimization of §4).
//  2. Given an empty offer, or a challenge in a group the client does not
//     allow, the client sends a support message listing its groups, from
//     krb5.conf's spake_preauth_groups (MIT's default: edwards25519). The
//     KDC answers MORE_PREAUTH_DATA_REQUIRED with a challenge in one of
//     them, or PREAUTH_FAILED when it allows none, and the engine falls
//     back to the next mechanism.
//  3. To a challenge {group, T, factors} the client answers with its
//     public element S and the SF-NONE second factor (§8) encrypted in
//     K'[1], and makes K'[0] the reply key. Both keys come from w (derived
//     from the long-term key, §5), the shared element K, the transcript
//     hash of the messages (§6) and the request body (§7).
//
// All four registered groups are implemented: edwards25519 (with
// filippo.io/edwards25519) and P-256, P-384 and P-521 (with
// filippo.io/nistec). Second factors other than SF-NONE are not, as in MIT
// krb5 1.20.
package spake

import (
	"context"
	"fmt"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
)

// PATypeSPAKE is PA-SPAKE (RFC 9588, Assigned Constants).
const PATypeSPAKE = 151

// keyUsageSPAKE is KEY_USAGE_SPAKE (RFC 9588, Assigned Constants), for the encrypted
// second factor.
const keyUsageSPAKE = 65

// configGroups is the krb5.conf relation listing the allowed groups.
const configGroups = "spake_preauth_groups"

// Mechanism is the SPAKE mechanism.
var Mechanism preauth.Mechanism = mechanism{}

type mechanism struct{}

func (mechanism) Name() string { return "spake" }

func (mechanism) PATypes() []preauth.PAType {
	return []preauth.PAType{{Type: PATypeSPAKE, Kind: preauth.Real}}
}

func (mechanism) NewRequest() preauth.Request { return &request{} }

// request is one login's SPAKE state: what the client sent and hashed so
// far. The private scalar y lives only inside Process and is not kept:
// nothing later needs it, since no second factor follows SF-NONE. (Its
// byte encoding is cleared after use; copies inside the curve libraries'
// scalar types are not, so this is hygiene, not a guarantee.)
type request struct {
	support   []byte // the DER support message sent, nil when none was
	group     *group // the group of the challenge answered
	thash     []byte // the transcript hash after the response (§6)
	responded bool   // a response was sent: the login is committed
}

// FillResponseSet asks for the long-term key when the KDC's message is a
// challenge the client will answer (MIT's spake_prep_questions). A support
// message needs no key; SPAKE asks no question of its own.
func (r *request) FillResponseSet(_ context.Context, cb preauth.Callbacks, in *preauth.Input, rs *responder.ResponseSet) error {
	if len(in.PAData.PADataValue) == 0 || r.responded {
		return nil
	}
	m, err := decodeMessage(in.PAData.PADataValue)
	if err != nil || m.challenge == nil {
		return nil
	}
	allowed, err := allowedGroups(cb)
	if err != nil || !contains(allowed, findGroup(m.challenge.Group)) || !m.challenge.hasFactor(sfNone) {
		return nil
	}
	cb.NeedASKey(rs)
	return nil
}

// Process answers the KDC's PA-SPAKE: a support message for an empty
// offer or a challenge in a group the client does not allow, else a
// response. An error makes the engine try the next offered mechanism
// while no response has been sent.
func (r *request) Process(ctx context.Context, cb preauth.Callbacks, in *preauth.Input) ([]types.PAData, error) {
	if in.Reply {
		return nil, nil // MIT's KDC puts no PA-SPAKE in the AS-REP
	}
	allowed, err := allowedGroups(cb)
	if err != nil {
		return nil, err
	}
	if len(in.PAData.PADataValue) == 0 {
		if r.support != nil {
			return nil, fmt.Errorf("%w: an empty offer after the support message", ErrUnexpected)
		}
		return r.sendSupport(allowed)
	}
	m, err := decodeMessage(in.PAData.PADataValue)
	if err != nil {
		return nil, err
	}
	switch {
	case m.challenge != nil:
		return r.processChallenge(ctx, cb, in, m.challenge, allowed)
	case m.encdata != nil:
		return nil, fmt.Errorf("%w: an encdata message (only the SF-NONE second factor is supported)", ErrUnexpected)
	case m.support != nil:
		return nil, fmt.Errorf("%w: a support message from the KDC", ErrUnexpected)
	default:
		return nil, fmt.Errorf("%w: a response message from the KDC", ErrUnexpected)
	}
}

// sendSupport returns the support message (RFC 9588 §4) and keeps it for
// the transcript.
func (r *request) sendSupport(allowed []*group) ([]types.PAData, error) {
	ids := make([]int32, len(allowed))
	for i, g := range allowed {
		ids[i] = g.id
	}
	msg, err := encodeMessage(support{Groups: ids})
	if err != nil {
		return nil, err
	}
	r.support = msg
	return []types.PAData{{PADataType: PATypeSPAKE, PADataValue: msg}}, nil
}

// processChallenge answers a challenge (RFC 9588 §4): S = y·G + w·N,
// K = y·(T − w·M), the transcript, K'[0] as the new reply key and the
// SF-NONE factor encrypted in K'[1].
func (r *request) processChallenge(ctx context.Context, cb preauth.Callbacks, in *preauth.Input, ch *challenge, allowed []*group) ([]types.PAData, error) {
	if r.responded {
		return nil, fmt.Errorf("%w: a second challenge", ErrUnexpected)
	}
	g := findGroup(ch.Group)
	if !contains(allowed, g) {
		if r.support != nil {
			return nil, fmt.Errorf("%w (group %d)", ErrGroupRejected, ch.Group)
		}
		// An optimistic challenge in a group we do not allow: say which
		// groups we do, and the KDC challenges again (RFC 9588 §4, optimizations).
		return r.sendSupport(allowed)
	}
	if !ch.hasFactor(sfNone) {
		return nil, ErrNoFactor
	}
	// Refuse a bad T before the password is asked for.
	if err := g.curve().check(ch.PubKey); err != nil {
		return nil, err
	}
	if len(in.ReqBody) == 0 {
		return nil, fmt.Errorf("spake: no request body to bind the keys to")
	}
	ikey, err := cb.ASKey(ctx)
	if err != nil {
		return nil, err
	}
	w, err := deriveW(ikey, g)
	if err != nil {
		return nil, err
	}
	defer clear(w)
	s, k, err := exchange(g, w, ch.PubKey)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	thash := updateTranscript(g, nil, r.support, in.PAData.PADataValue)
	thash = updateTranscript(g, thash, s)
	keys := keyInputs{group: g, ikey: ikey, w: w, k: k, thash: thash, body: in.ReqBody}
	k0, err := deriveKey(keys, 0)
	if err != nil {
		return nil, err
	}
	k1, err := deriveKey(keys, 1)
	if err != nil {
		return nil, err
	}
	defer clear(k1.KeyValue)
	factor, err := encodeFactorNone()
	if err != nil {
		return nil, err
	}
	enc, err := crypto.GetEncryptedData(factor, k1, keyUsageSPAKE, 0)
	if err != nil {
		return nil, fmt.Errorf("spake: encrypting the second factor: %w", err)
	}
	msg, err := encodeMessage(response{PubKey: s, Factor: enc})
	if err != nil {
		return nil, err
	}
	r.group, r.thash, r.responded = g, thash, true
	cb.SetASKey(k0)
	// As MIT: once a response is sent a failure is final, a wrong
	// password must not be tried again through another mechanism.
	cb.DisableFallback()
	return []types.PAData{{PADataType: PATypeSPAKE, PADataValue: msg}}, nil
}

// exchange is the client's half of SPAKE2 in group g: a fresh private
// scalar y, the public element S = y·G + w·N and the shared element
// K = y·(T − w·M). The bytes of y are cleared before returning (best
// effort: the curve libraries keep their own copies).
func exchange(g *group, w, t []byte) (s, k []byte, err error) {
	y, err := g.curve().randomScalar()
	if err != nil {
		return nil, nil, err
	}
	defer clear(y)
	if s, err = g.curve().public(w, y, false); err != nil {
		return nil, nil, err
	}
	if k, err = g.curve().shared(w, y, t, true); err != nil {
		return nil, nil, err
	}
	return s, k, nil
}

// allowedGroups returns the groups spake_preauth_groups allows, in the
// client's order of preference (MIT's default: edwards25519 alone).
func allowedGroups(cb preauth.Callbacks) ([]*group, error) {
	value := defaultGroups
	if v := cb.Config(configGroups); len(v) > 0 {
		value = v[0]
	}
	gs := parseGroups(value)
	if len(gs) == 0 {
		return nil, fmt.Errorf("%w (%s = %q)", ErrNoGroups, configGroups, value)
	}
	return gs, nil
}
