// Package encchal is PA-ENCRYPTED-CHALLENGE (RFC 6113 §5.4.6), the
// password mechanism used inside FAST: the client encrypts a timestamp in a
// key combined from the FAST armor key and its long-term key, so that an
// eavesdropper without the armor cannot mount an offline attack, and the
// KDC answers with its own challenge, proving it knows the key too.
package encchal

import (
	"context"
	"errors"
	"fmt"

	"github.com/gokinit/gokinit/krb/prf"
	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
)

// PATypeEncryptedChallenge is PA-ENCRYPTED-CHALLENGE.
const PATypeEncryptedChallenge = 138

// Key usages (RFC 6113 §5.4.6).
const (
	usageClientChallenge = 54 // KEY_USAGE_ENC_CHALLENGE_CLIENT
	usageKDCChallenge    = 55 // KEY_USAGE_ENC_CHALLENGE_KDC
)

// ErrKDCChallenge means the KDC's encrypted challenge in the AS-REP did not
// decrypt: the reply does not come from a KDC that knows the client's key.
var ErrKDCChallenge = errors.New("KDC's encrypted challenge does not verify")

// Mechanism is the encrypted challenge mechanism.
var Mechanism preauth.Mechanism = mechanism{}

type mechanism struct{}

func (mechanism) Name() string { return "encrypted_challenge" }

func (mechanism) PATypes() []preauth.PAType {
	return []preauth.PAType{{Type: PATypeEncryptedChallenge, Kind: preauth.Real}}
}

func (mechanism) NewRequest() preauth.Request { return request{} }

type request struct{}

// FillResponseSet asks for the long-term key, only under FAST armor.
func (request) FillResponseSet(_ context.Context, cb preauth.Callbacks, _ *preauth.Input, rs *responder.ResponseSet) error {
	if cb.ArmorKey() != nil {
		cb.NeedASKey(rs)
	}
	return nil
}

// Process sends the client challenge, or, on the AS-REP, checks the KDC's.
func (request) Process(ctx context.Context, cb preauth.Callbacks, in *preauth.Input) ([]types.PAData, error) {
	armor := cb.ArmorKey()
	if armor == nil {
		return nil, nil // meaningful only inside FAST
	}
	longTerm, err := cb.ASKey(ctx)
	if err != nil {
		return nil, err
	}
	if in.Reply {
		form, err := verifyKDCChallenge(*armor, longTerm, in.PAData.PADataValue)
		if t, ok := cb.(tracer); ok && form != "" {
			t.Trace("Verified the KDC's encrypted challenge (%s)", form)
		}
		return nil, err
	}
	key, err := prf.CF2(*armor, longTerm, "clientchallengearmor", "challengelongterm")
	if err != nil {
		return nil, fmt.Errorf("challenge key: %w", err)
	}
	now := cb.PreauthTime(false).UTC()
	ts, err := asn1.Marshal(types.PAEncTSEnc{PATimestamp: now.Truncate(1e9), PAUSec: now.Nanosecond() / 1000})
	if err != nil {
		return nil, err
	}
	enc, err := crypto.GetEncryptedData(ts, key, usageClientChallenge, 0)
	if err != nil {
		return nil, err
	}
	b, err := asn1.Marshal(enc)
	if err != nil {
		return nil, err
	}
	// Once the challenge is sent a failure is final, as in MIT: the KDC
	// counts it against the account.
	cb.DisableFallback()
	return []types.PAData{{PADataType: PATypeEncryptedChallenge, PADataValue: b}}, nil
}

// tracer is the optional trace of the engine's callbacks.
type tracer interface {
	Trace(format string, args ...any)
}

// Forms of the KDC's challenge that verifyKDCChallenge accepts.
const (
	// FormRFC6113 is RFC 6113 §5.4.6's: KRB-FX-CF2(armor, long-term,
	// "kdcchallengearmor", "challengelongterm"), usage 55. MIT's KDC and
	// later Heimdal send it.
	FormRFC6113 = "RFC 6113 KDC challenge key"
	// FormClientKey is Heimdal 7.8's KDC (kdc/kerberos5.c
	// pa_enc_chal_validate, make_pa_enc_challange): the client's challenge
	// key, KRB-FX-CF2(armor, long-term, "clientchallengearmor",
	// "challengelongterm"), with the KDC's usage 55. It proves as much: only
	// a holder of the armor key and the long-term key can make it, and the
	// different key usage keeps our own usage-54 challenge from being
	// reflected back as the KDC's.
	FormClientKey = "Heimdal 7.8 form: client challenge key, KDC usage"
)

// verifyKDCChallenge decrypts the KDC's PA-ENCRYPTED-CHALLENGE (an
// EncryptedData holding PA-ENC-TS-ENC) with RFC 6113's KDC challenge key,
// else with Heimdal 7.8's (FormClientKey), and returns the form that
// verified. Like MIT, it checks that it decrypts to a PA-ENC-TS-ENC, not
// the time. Anything else is ErrKDCChallenge: MIT's kinit ignores a
// challenge that does not verify, we refuse it, since the reply would then
// come from someone who does not hold the client's key.
func verifyKDCChallenge(armor, longTerm types.EncryptionKey, value []byte) (form string, err error) {
	if len(value) == 0 {
		return "", nil
	}
	var enc types.EncryptedData
	if _, err := asn1.Unmarshal(value, &enc); err != nil {
		return "", fmt.Errorf("%w: %v", ErrKDCChallenge, err)
	}
	for _, f := range []struct{ form, pepper string }{
		{FormRFC6113, "kdcchallengearmor"},
		{FormClientKey, "clientchallengearmor"},
	} {
		key, err := prf.CF2(armor, longTerm, f.pepper, "challengelongterm")
		if err != nil {
			return "", err
		}
		if decryptsToTimestamp(enc, key) {
			return f.form, nil
		}
	}
	return "", ErrKDCChallenge
}

// decryptsToTimestamp reports whether enc decrypts under key with the
// KDC's challenge usage to a PA-ENC-TS-ENC.
func decryptsToTimestamp(enc types.EncryptedData, key types.EncryptionKey) (ok bool) {
	defer func() {
		if recover() != nil { // gokrb5 panics on short ciphertext
			ok = false
		}
	}()
	plain, err := crypto.DecryptEncPart(enc, key, usageKDCChallenge)
	if err != nil {
		return false
	}
	var ts types.PAEncTSEnc
	_, err = asn1.Unmarshal(plain, &ts)
	return err == nil
}
