// Package encts is PA-ENC-TIMESTAMP, the encrypted timestamp mechanism of
// RFC 4120 §5.2.7.2: the client proves it knows its long-term key by
// encrypting the current time with it (key usage 1).
package encts

import (
	"context"
	"errors"
	"fmt"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/types"
)

// PATypeEncTimestamp is PA-ENC-TIMESTAMP.
const PATypeEncTimestamp = 2

// Mechanism is the encrypted timestamp mechanism.
var Mechanism preauth.Mechanism = mechanism{}

type mechanism struct{}

func (mechanism) Name() string { return "encrypted_timestamp" }

func (mechanism) PATypes() []preauth.PAType {
	return []preauth.PAType{{Type: PATypeEncTimestamp, Kind: preauth.Real}}
}

func (mechanism) NewRequest() preauth.Request { return request{} }

type request struct{}

// FillResponseSet says the mechanism needs the long-term key, which asks the
// "password" question when no password or keytab was given.
func (request) FillResponseSet(_ context.Context, cb preauth.Callbacks, _ *preauth.Input, rs *responder.ResponseSet) error {
	if !usable(cb) {
		return nil
	}
	cb.NeedASKey(rs)
	return nil
}

// ErrDisabled is returned when krb5.conf sets disable_encrypted_timestamp
// for the realm, as MIT's "Encrypted timestamp is disabled".
var ErrDisabled = errors.New("encrypted timestamp is disabled")

// usable says whether to send an encrypted timestamp: never inside FAST
// (RFC 6113 §5.4.2: encrypted challenge replaces it there), and not when
// the realm's disable_encrypted_timestamp is set, which keeps the password
// out of any exchange an eavesdropper could attack offline.
func usable(cb preauth.Callbacks) bool {
	return cb.ArmorKey() == nil && !preauth.ConfigBool(cb, "disable_encrypted_timestamp", false)
}

// Process encrypts PA-ENC-TS-ENC {patimestamp, pausec} with the AS key.
func (request) Process(ctx context.Context, cb preauth.Callbacks, in *preauth.Input) ([]types.PAData, error) {
	if in.Reply || cb.ArmorKey() != nil {
		return nil, nil
	}
	if !usable(cb) {
		return nil, ErrDisabled
	}
	key, err := cb.ASKey(ctx)
	if err != nil {
		return nil, err
	}
	now := cb.PreauthTime(true).UTC()
	plain, err := asn1.Marshal(types.PAEncTSEnc{
		PATimestamp: now.Truncate(1e9),
		PAUSec:      now.Nanosecond() / 1000,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding PA-ENC-TS-ENC: %w", err)
	}
	enc, err := crypto.GetEncryptedData(plain, key, keyusage.AS_REQ_PA_ENC_TIMESTAMP, 0)
	if err != nil {
		return nil, fmt.Errorf("encrypting the timestamp: %w", err)
	}
	b, err := asn1.Marshal(enc)
	if err != nil {
		return nil, fmt.Errorf("encoding PA-ENC-TIMESTAMP: %w", err)
	}
	// As MIT: once a timestamp is sent, a failure is final (no fallback to
	// another mechanism that would try the same wrong password).
	cb.DisableFallback()
	return []types.PAData{{PADataType: PATypeEncTimestamp, PADataValue: b}}, nil
}
