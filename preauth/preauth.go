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
//     the long-term key (Callbacks.NeedASKey). Each mechanism asks into a
//     set of its own, which the engine copies into the round's set; the
//     engine's own questions ("password", "new_password") are refused there
//     with ErrReserved, as MIT's ask_responder_question refuses them;
//  2. hands the round's questions once to the application's Responder;
//  3. calls Process on the offered types in preference order; the first
//     real mechanism that returns PA-DATA is selected, and its PA-DATA goes
//     into the next AS-REQ;
//  4. lets Process ask, through the prompter, whatever the responder left
//     unanswered (Callbacks.Prompter).
//
// A mechanism sees only its Callbacks, never the engine's state, and never
// the password: it gets the long-term key through Callbacks.ASKey.
// Callbacks.Answer does not answer the engine's questions, and the
// prompter it gets refuses password prompts (GuardPrompter). Package
// preauthtest is a test double for Callbacks that keeps these rules.
//
// Third-party mechanisms call Register; one that claims a built-in
// mechanism's PA type must say so with Replacing, else it would silently
// never run. krb.WithMechanisms sets an explicit list and order for one
// login (krb.BuiltinMechanisms, krb.DefaultMechanisms).
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
	// the long-term key. The engine asks the "password" question itself
	// unless a password or keytab was given (MIT's need_as_key): a
	// mechanism never asks it, and never sees its answer.
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
	// corrected by the KDC's offset when kdc_timesync allows (MIT's
	// get_preauth_time). An offset learnt from an unauthenticated
	// KRB-ERROR (outside FAST) is applied only when allowUnauth is true:
	// encrypted timestamp says yes, encrypted challenge says no, as in MIT.
	PreauthTime(allowUnauth bool) time.Time
	// Answer returns the responder's answer to one of the round's
	// questions. The engine's own questions (ReservedQuestion: "password",
	// "new_password") have no answer here, as MIT's get_responder_answer
	// refuses the password question: a mechanism gets the key (ASKey),
	// never the password.
	Answer(question string) (string, bool)
	// Prompter returns the login's prompter, nil when there is none; use
	// prompter.Fallback to ask through it. It asks only the mechanism's own
	// questions: a prompt of type TypePassword, TypeNewPassword or
	// TypeNewPasswordAgain, or one worded as the engine's password prompt,
	// fails with ErrReserved without reaching the person (GuardPrompter).
	Prompter() prompter.Prompter
	// GetCCConfig returns a value the mechanism stored in an earlier
	// login's credential cache with SetCCConfig, read from the login's
	// input cache (MIT's get_cc_config, the "pa_config_data" entry).
	GetCCConfig(key string) (string, bool)
	// SetCCConfig stores a value for the next login, written into the
	// credential cache with the credentials (MIT's set_cc_config).
	SetCCConfig(key, value string)
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

// Error says which mechanism failed and why: the engine wraps a
// mechanism's failure (from FillResponseSet, Process or TryAgain) in an
// *Error, and reports the first one when no mechanism succeeds, as MIT's
// process_pa_data keeps the first real mechanism's error. Phase is
// "prepare" (FillResponseSet), "process" or "tryagain".
type Error struct {
	Mechanism string
	PAType    int32
	Phase     string
	Err       error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrReserved is returned when a mechanism asks or prompts for one of the
// engine's own secrets: the password, or a new password. MIT's
// ask_responder_question refuses the password question likewise (EINVAL).
var ErrReserved = errors.New("preauth: the password is the engine's question, not a mechanism's")

// Questions that belong to the engine: only it asks them and reads their
// answers (responder.QuestionPassword and responder.QuestionNewPassword).
func ReservedQuestion(question string) bool {
	return question == responder.QuestionPassword || question == responder.QuestionNewPassword
}

// GuardPrompter wraps a login's prompter for a mechanism: prompts of the
// password types (TypePassword, TypeNewPassword, TypeNewPasswordAgain), or
// whose text is one of reservedTexts (the engine's "Password for
// alice@REALM"), fail with ErrReserved and nothing is asked. It returns nil
// for a nil prompter, so prompter.Fallback still reports no prompter.
func GuardPrompter(p prompter.Prompter, reservedTexts ...string) prompter.Prompter {
	if p == nil {
		return nil
	}
	return guarded{p: p, texts: reservedTexts}
}

type guarded struct {
	p     prompter.Prompter
	texts []string
}

func (g guarded) Prompt(ctx context.Context, name, banner string, prompts []prompter.Prompt) ([]string, error) {
	for _, pr := range prompts {
		switch pr.Type {
		case prompter.TypePassword, prompter.TypeNewPassword, prompter.TypeNewPasswordAgain:
			return nil, fmt.Errorf("%w: prompt %q has a password type", ErrReserved, pr.Text)
		}
		for _, t := range g.texts {
			if strings.EqualFold(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(pr.Text), ":")), t) {
				return nil, fmt.Errorf("%w: prompt %q is the engine's password prompt", ErrReserved, pr.Text)
			}
		}
	}
	return g.p.Prompt(ctx, name, banner, prompts)
}

// builtinClaims are the names and PA types of the mechanisms built into
// the engine (package krb's BuiltinMechanisms, in that order; a test there
// keeps the two lists equal). They are listed here so that Register can
// refuse a mechanism that would silently lose to one of them, whatever the
// order in which packages are initialized.
var builtinClaims = []struct {
	name  string
	types []int32
}{
	{"encrypted_timestamp", []int32{2}},
	{"encrypted_challenge", []int32{138}},
	{"otp", []int32{141}},
	{"pkinit", []int32{16, 17, 147, 150}},
	{"spake", []int32{151}},
}

// Builtin describes a built-in mechanism: its name and the PA types it
// claims.
type Builtin struct {
	Name    string
	PATypes []int32
}

// Builtins lists the built-in mechanisms, in the engine's order.
func Builtins() []Builtin {
	out := make([]Builtin, len(builtinClaims))
	for i, b := range builtinClaims {
		out[i] = Builtin{Name: b.name, PATypes: slices.Clone(b.types)}
	}
	return out
}

var (
	registryMu sync.RWMutex
	registry   []registered
)

type registered struct {
	m        Mechanism
	replaces []string // built-in mechanisms it takes the place of
}

// RegisterOption changes what Register does.
type RegisterOption func(*registered)

// Replacing registers the mechanism in place of the built-in mechanism
// named builtin (such as "encrypted_timestamp"): default logins no longer
// use the built-in one, and the new mechanism takes its place in the
// order. Without it, Register refuses a mechanism that claims a built-in's
// PA type.
func Replacing(builtin string) RegisterOption {
	return func(r *registered) { r.replaces = append(r.replaces, builtin) }
}

// Register makes a mechanism available to every login, after the built-in
// ones, as database/sql's Register does for drivers. It panics, at
// registration rather than by losing silently at login time, if m is nil,
// if its name is taken (by a built-in mechanism or an earlier
// registration), if it claims a PA type that an earlier registration
// claims, or if it claims a built-in mechanism's PA type without
// Replacing that mechanism. Replacing a built-in that does not exist, or
// one already replaced, panics too.
func Register(m Mechanism, opts ...RegisterOption) {
	if m == nil {
		panic("preauth: Register of a nil mechanism")
	}
	r := registered{m: m}
	for _, o := range opts {
		o(&r)
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if err := checkRegistration(r); err != nil {
		panic("preauth: " + err.Error())
	}
	registry = append(registry, r)
}

func checkRegistration(r registered) error {
	name := r.m.Name()
	for _, rep := range r.replaces {
		if !slices.ContainsFunc(builtinClaims, func(b struct {
			name  string
			types []int32
		}) bool {
			return b.name == rep
		}) {
			return fmt.Errorf("mechanism %q replaces %q, which is not a built-in mechanism", name, rep)
		}
		for _, o := range registry {
			if slices.Contains(o.replaces, rep) {
				return fmt.Errorf("mechanism %q replaces %q, which %q already replaces", name, rep, o.m.Name())
			}
		}
	}
	for _, b := range builtinClaims {
		replaced := slices.Contains(r.replaces, b.name)
		if b.name == name && !replaced {
			return fmt.Errorf("mechanism name %q is a built-in mechanism's", name)
		}
		for _, pt := range r.m.PATypes() {
			if slices.Contains(b.types, pt.Type) && !replaced {
				return fmt.Errorf("mechanism %q claims PA type %d of built-in mechanism %q, which would always win; use Replacing(%q) to replace it", name, pt.Type, b.name, b.name)
			}
		}
	}
	for _, o := range registry {
		if o.m.Name() == name {
			return fmt.Errorf("mechanism %q registered twice", name)
		}
		for _, pt := range r.m.PATypes() {
			for _, ot := range o.m.PATypes() {
				if pt.Type == ot.Type {
					return fmt.Errorf("mechanism %q claims PA type %d, which mechanism %q registered first", name, pt.Type, o.m.Name())
				}
			}
		}
	}
	return nil
}

// Registered returns the mechanisms added with Register, in order
// (replacements included).
func Registered() []Mechanism {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]Mechanism, len(registry))
	for i, r := range registry {
		out[i] = r.m
	}
	return out
}

// Replacement returns the mechanism registered in place of the built-in
// mechanism named builtin, if any.
func Replacement(builtin string) (Mechanism, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	for _, r := range registry {
		if slices.Contains(r.replaces, builtin) {
			return r.m, true
		}
	}
	return nil, false
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
