// Package preauth is the contract between the login engine (package krb)
// and client preauthentication mechanisms, after MIT krb5's clpreauth
// plugin interface (krb5/clpreauth_plugin.h).
//
// A Mechanism claims PA types (RFC 4120 §5.2.7, RFC 6113 §2). For every login
// (and again after each restart of the exchange) the engine asks it for a
// fresh Request, which holds the mechanism's per-login state. Each round the
// engine:
//
//  1. calls FillResponseSet on every Request whose type the KDC offered, so
//     that it can ask named questions (package responder) or say it needs
//     the long-term key (Callbacks.NeedASKey);
//  2. hands the round's questions once to the application's Responder;
//  3. calls Process on the offered types in preference order; the first
//     real mechanism that returns PA-DATA is selected, and its PA-DATA goes
//     into the next AS-REQ;
//  4. lets Process ask, through the prompter, whatever the responder left
//     unanswered (Callbacks.Prompter).
//
// A mechanism sees only its Callbacks, never the engine's state.
package preauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Kind says what a claimed PA type is to the engine.
type Kind int

const (
	// Real types can authenticate the client; the engine selects one per
	// login and falls back to the next one on KDC_ERR_PREAUTH_FAILED.
	Real Kind = iota + 1
	// Info types carry information for a real type of the same mechanism
	// (PKINIT's PA-PKINIT-KX, PA-AS-FRESHNESS): they are processed, never
	// selected.
	Info
)

// PAType is one PA type a mechanism claims.
type PAType struct {
	Type int32
	Kind Kind
}

// Mechanism is a client preauthentication mechanism. Implementations must
// be safe for concurrent use: all per-login state lives in the Request that
// NewRequest returns.
type Mechanism interface {
	// Name is a short name for traces and errors, such as "encrypted_timestamp".
	Name() string
	// PATypes lists the PA types the mechanism handles.
	PATypes() []PAType
	// NewRequest returns fresh per-login state (MIT's request_init). It is
	// called at the start of a login and on every restart of the exchange.
	NewRequest() Request
}

// Request is one mechanism's state for one login attempt.
type Request interface {
	// FillResponseSet runs before the responder for every offered type the
	// mechanism claims (MIT's prep_questions). It decodes in.PAData and asks
	// its questions in rs, or calls cb.NeedASKey when it will need the
	// long-term key. It must not have side effects beyond its own state.
	FillResponseSet(ctx context.Context, cb Callbacks, in *Input, rs *responder.ResponseSet) error

	// Process turns the KDC's PA-DATA for one type into the PA-DATA to send
	// (MIT's process). It returns no PA-DATA and no error when it has
	// nothing to send for this type. With in.Reply set it processes the
	// AS-REP's PA-DATA instead (PKINIT sets the reply key there) and its
	// output is ignored.
	Process(ctx context.Context, cb Callbacks, in *Input) ([]types.PAData, error)
}

// TryAgainer is implemented by requests that can recover from a KDC error
// carrying PA-DATA for their type, such as PKINIT's TD-DH-PARAMETERS
// (MIT's tryagain). The engine calls it when the selected mechanism's
// request drew a KDC error other than the ones the engine handles itself.
type TryAgainer interface {
	TryAgain(ctx context.Context, cb Callbacks, in *Input) ([]types.PAData, error)
}

// Closer is implemented by requests that hold resources (a smart-card
// session). Close is called on success, on failure and before a restart
// (MIT's request_fini).
type Closer interface {
	Close()
}

// Input is what the engine gives a mechanism for one PA type.
type Input struct {
	// PAData is the KDC's element for the type being handled.
	PAData types.PAData
	// All is every PA-DATA element of the KDC message (METHOD-DATA of a
	// KRB-ERROR, or the AS-REP's padata).
	All types.PADataSequence
	// ReqBody is the DER encoding of the KDC-REQ-BODY that the PA-DATA will
	// be sent with (SPAKE's transcript and PKINIT's paChecksum are over it).
	ReqBody []byte
	// PrevRequest is the DER encoding of the previous AS-REQ, nil in the
	// first round.
	PrevRequest []byte
	// Reply is set when PAData comes from the AS-REP.
	Reply bool
	// ErrorCode is the KDC error code when called from TryAgain.
	ErrorCode int32
	// EData is the KRB-ERROR's e-data when called from TryAgain: METHOD-DATA
	// or TYPED-DATA such as PKINIT's TD-DH-PARAMETERS (RFC 4556 §3.2.2).
	EData []byte
}

// Callbacks are what the engine offers a mechanism (MIT's
// krb5_clpreauth_callbacks). They are valid only during the call they were
// passed to.
type Callbacks interface {
	// Client returns the client principal name and realm of the request.
	Client() (types.PrincipalName, string)
	// Enctype returns the encryption type of the AS key: the one the KDC's
	// ETYPE-INFO2 chose among the requested ones, else the first requested.
	Enctype() int32
	// NeedASKey records, from FillResponseSet, that the mechanism will need
	// the long-term key. The engine asks the "password" question in rs
	// unless a password or keytab was given.
	NeedASKey(rs *responder.ResponseSet)
	// ASKey returns the long-term key (the "AS key") for Enctype, deriving
	// it once from the password (with the KDC's salt and string-to-key
	// parameters) or reading it from the keytab. The password comes from the
	// login's options, the responder's "password" answer, or the prompter,
	// in that order.
	ASKey(ctx context.Context) (types.EncryptionKey, error)
	// SetASKey replaces the key that will decrypt the AS-REP (OTP uses the
	// armor key, PKINIT the key agreed with the KDC).
	SetASKey(key types.EncryptionKey)
	// ArmorKey returns the FAST armor key, or nil when the request is not
	// armored (RFC 6113 §5.4.1).
	ArmorKey() *types.EncryptionKey
	// PreauthTime returns the time to put in preauth data: the local clock,
	// corrected by the KDC's offset when kdc_timesync allows.
	PreauthTime() time.Time
	// Answer returns the responder's answer to one of the round's questions.
	Answer(question string) (string, bool)
	// Prompter returns the login's prompter, nil when there is none; use
	// prompter.Fallback to ask through it.
	Prompter() prompter.Prompter
	// PreauthOption returns the values the application gave for a
	// mechanism option (kinit -X NAME=VALUE, krb.WithPreauthOption), such
	// as "X509_user_identity".
	PreauthOption(name string) []string
	// Config returns the values of a krb5.conf relation for the client's
	// realm: from its [realms] section, else from [libdefaults] (for
	// example "disable_encrypted_timestamp", "spake_preauth_groups").
	Config(name string) []string
	// DisableFallback stops the engine from trying another mechanism after
	// this one fails (a mechanism that has committed to a second factor).
	DisableFallback()
}

// Sentinels a mechanism wraps so that callers of the engine can match its
// failures with errors.Is; package krb exports the same values.
var (
	// ErrPreauthFailed: the secret was wrong or unusable (krb.ErrPreauthFailed).
	ErrPreauthFailed = errors.New("preauthentication failed")
	// ErrFASTRequired: the mechanism runs only inside FAST, and the login is
	// not armored (krb.ErrFASTRequired).
	ErrFASTRequired = errors.New("FAST is required")
)

// Error says why a mechanism failed. The engine reports it in place of a
// generic failure when no other mechanism succeeds.
type Error struct {
	Mechanism string
	Err       error
}

func (e *Error) Error() string { return e.Mechanism + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

var (
	registryMu sync.RWMutex
	registry   []Mechanism
)

// Register makes a mechanism available to every login, after the built-in
// ones, as database/sql's Register does for drivers. It panics if a
// mechanism with the same name is registered twice, or if m is nil.
func Register(m Mechanism) {
	if m == nil {
		panic("preauth: Register of a nil mechanism")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, r := range registry {
		if r.Name() == m.Name() {
			panic(fmt.Sprintf("preauth: mechanism %q registered twice", m.Name()))
		}
	}
	registry = append(registry, m)
}

// Registered returns the mechanisms added with Register, in order.
func Registered() []Mechanism {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return slices.Clone(registry)
}

// Find returns the value of the first element of type t in pas.
func Find(pas types.PADataSequence, t int32) ([]byte, bool) {
	for _, pa := range pas {
		if pa.PADataType == t {
			return pa.PADataValue, true
		}
	}
	return nil, false
}

// ConfigBool reads a boolean krb5.conf relation as MIT's profile does
// (true/yes/on/1, false/no/off/0), or def when unset or not a boolean.
func ConfigBool(cb Callbacks, name string, def bool) bool {
	v := cb.Config(name)
	if len(v) == 0 {
		return def
	}
	switch strings.ToLower(v[0]) {
	case "y", "yes", "true", "t", "1", "on":
		return true
	case "n", "no", "false", "nil", "0", "off":
		return false
	}
	return def
}
