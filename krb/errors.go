package krb

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gokinit/gokinit/internal/safetext"
	"github.com/gokinit/gokinit/krb/transport"
	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/types"
)

// KDC error codes the engine acts on (RFC 4120 §7.5.9, RFC 6113 §5.4.3).
const (
	ErrCodeNameExpired           = 1
	ErrCodeClientUnknown         = 6
	ErrCodeServerUnknown         = 7
	ErrCodePolicy                = 12
	ErrCodeBadOption             = 13
	ErrCodeEtypeNoSupport        = 14
	ErrCodeClientRevoked         = 18
	ErrCodeKeyExpired            = 23
	ErrCodePreauthFailed         = 24
	ErrCodePreauthRequired       = 25
	ErrCodeSvcUnavailable        = 29
	ErrCodeBadIntegrity          = 31
	ErrCodeClockSkew             = 37
	ErrCodeModified              = 41
	ErrCodeResponseTooBig        = 52
	ErrCodeGeneric               = 60
	ErrCodeWrongRealm            = 68
	ErrCodePreauthExpired        = 90
	ErrCodeMorePreauthRequired   = 91
	ErrCodeUnknownCriticalFASTOp = 93
)

// Sentinel errors, for errors.Is. A *KDCError matches the sentinel of its
// code; the engine's own failures wrap the matching sentinel.
var (
	// ErrPreauthFailed: the KDC rejected the preauthentication (a wrong
	// password, OTP or PIN), or the reply key did not decrypt the reply.
	ErrPreauthFailed = preauth.ErrPreauthFailed
	// ErrClientUnknown: the client principal is not in the KDC's database.
	ErrClientUnknown = errors.New("client not found in Kerberos database")
	// ErrServerUnknown: the requested service principal does not exist.
	ErrServerUnknown = errors.New("server not found in Kerberos database")
	// ErrClientRevoked: the principal is locked or disabled.
	ErrClientRevoked = errors.New("client's credentials have been revoked")
	// ErrKeyExpired: the password has expired and must be changed.
	ErrKeyExpired = errors.New("password has expired")
	// ErrClockSkew: the clocks of client and KDC differ too much.
	ErrClockSkew = errors.New("clock skew too great")
	// ErrPolicy: the KDC's policy rejects the request.
	ErrPolicy = errors.New("KDC policy rejects request")
	// ErrEtypeNoSupport: no requested encryption type is usable.
	ErrEtypeNoSupport = errors.New("KDC has no support for encryption type")
	// ErrKDCUnreachable: no KDC of the realm answered. It never means the
	// credentials are wrong: the caller may try again later.
	ErrKDCUnreachable = transport.ErrKDCUnreachable
	// ErrNoAnswer: a question had neither a responder answer nor a prompter.
	ErrNoAnswer = responder.ErrNoAnswer
	// ErrBadReply: a KDC message could not be decoded, or the reply does not
	// match the request (nonce, names, enctype). The login is abandoned.
	ErrBadReply = errors.New("bad reply from KDC")
	// ErrLoop: the login needed more than MaxRequests requests.
	//lint:ignore ST1005 MIT's message (KRB5_GET_IN_TKT_LOOP), capitalized as MIT's
	ErrLoop = errors.New("Looping detected inside krb5_get_in_tkt")

	// ErrNoMechanism: none of the preauthentication mechanisms the KDC
	// offered is available or willing to run.
	ErrNoMechanism = errors.New("no usable preauthentication mechanism")
	// ErrNoKey: a keytab holds no key of an enctype usable for the login.
	ErrNoKey = errors.New("no suitable key in keytab")
	// ErrMalformedPrincipal is MIT's KRB5_PARSE_MALFORMED: a principal
	// name that does not parse (ParsePrincipal).
	//lint:ignore ST1005 MIT's message, verbatim
	ErrMalformedPrincipal = errors.New("Malformed representation of principal")
	// ErrNotStarted: Step on a Login not made by NewLogin (a zero or nil
	// Login).
	ErrNotStarted = errors.New("krb: the login was not made by NewLogin")
	// ErrNoCredentials: Renew, Validate or WriteCCache given nil credentials.
	ErrNoCredentials = errors.New("krb: no credentials")
)

// KDCError is a KRB-ERROR received from the KDC (RFC 4120 §5.9.1), kept
// whole so that callers can inspect the code, e-text and e-data.
type KDCError struct {
	Code   int32
	EText  string
	EData  []byte
	Realm  string // realm of the KDC that answered
	CRealm string // client realm the KDC names, for client referrals
	CName  types.PrincipalName
	STime  time.Time // the KDC's clock
	// Client is the client principal of the request, for messages.
	Client string
}

// Error returns MIT krb5's message for the code, with the client principal
// where MIT names it. The KDC's e-text is never part of it: it is whatever
// the host answering on port 88 chose to write, so a KRB_ERR_GENERIC reads
// "Generic error (see e-text)", as MIT's does; the e-text is in EText, to
// be shown only through safetext-style escaping. Names are escaped here
// (internal/safetext).
func (e *KDCError) Error() string {
	msg := ErrorCodeText(e.Code)
	if e.Code == ErrCodeClientUnknown && e.Client != "" {
		msg = fmt.Sprintf("Client '%s' not found in Kerberos database", safetext.String(e.Client))
	}
	return msg
}

// Is matches the sentinel for the code.
func (e *KDCError) Is(target error) bool {
	switch e.Code {
	case ErrCodePreauthFailed:
		return target == ErrPreauthFailed
	case ErrCodeClientUnknown:
		return target == ErrClientUnknown
	case ErrCodeServerUnknown:
		return target == ErrServerUnknown
	case ErrCodeClientRevoked:
		return target == ErrClientRevoked
	case ErrCodeKeyExpired:
		return target == ErrKeyExpired
	case ErrCodeClockSkew:
		return target == ErrClockSkew
	case ErrCodePolicy:
		return target == ErrPolicy
	case ErrCodeEtypeNoSupport:
		return target == ErrEtypeNoSupport
	}
	return false
}

// passwordIncorrect is what a wrong password becomes: MIT's kinit says
// "Password incorrect" for a preauth failure or an undecryptable reply when
// the key came from a password.
type passwordIncorrect struct{ err error }

func (p *passwordIncorrect) Error() string { return "Password incorrect" }
func (p *passwordIncorrect) Unwrap() error { return p.err }
func (p *passwordIncorrect) Is(target error) bool {
	return target == ErrPreauthFailed
}

// The context MIT's kinit gives a failure, after the cause's message.
const whileGettingInitialCreds = " while getting initial credentials"

// contextError is how a failure leaves the library's entry points
// (GetInitialCreds, Run, Continue, Renew, Validate): the message ends with
// its context (" while getting initial credentials") exactly once, whatever
// the cause already said (a class: no message wraps the same context
// twice), and every character a KDC could have chosen is escaped
// (internal/safetext), so that the message is safe on a terminal.
// errors.Is and errors.As see the cause.
type contextError struct {
	err     error
	context string
}

func (e *contextError) Error() string {
	msg := e.err.Error()
	if !strings.HasSuffix(msg, e.context) {
		msg += e.context
	}
	return safetext.String(msg)
}

func (e *contextError) Unwrap() error { return e.err }

// withContext gives err its context once: an error that already carries
// the same context is returned as it is.
func withContext(err error, context string) error {
	if err == nil {
		return nil
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if c, ok := e.(*contextError); ok && c.context == context {
			return err
		}
	}
	return &contextError{err, context}
}

// ErrorCodeText returns MIT krb5's text for a Kerberos error code.
func ErrorCodeText(code int32) string {
	if s, ok := errorText[code]; ok {
		return s
	}
	return fmt.Sprintf("KDC returned error code %d", code)
}

// errorText holds MIT krb5's messages (lib/krb5/error_tables/krb5_err.et).
var errorText = map[int32]string{
	1:  "Client's entry in database has expired",
	2:  "Server's entry in database has expired",
	3:  "Requested protocol version not supported",
	4:  "Client's key is encrypted in an old master key",
	5:  "Server's key is encrypted in an old master key",
	6:  "Client not found in Kerberos database",
	7:  "Server not found in Kerberos database",
	8:  "Principal has multiple entries in Kerberos database",
	9:  "Client or server has a null key",
	10: "Ticket is ineligible for postdating",
	11: "Requested effective lifetime is negative or too short",
	12: "KDC policy rejects request",
	13: "KDC can't fulfill requested option",
	14: "KDC has no support for encryption type",
	15: "KDC has no support for checksum type",
	16: "KDC has no support for padata type",
	17: "KDC has no support for transited type",
	18: "Client's credentials have been revoked",
	19: "Credentials for server have been revoked",
	20: "TGT has been revoked",
	21: "Client not yet valid - try again later",
	22: "Server not yet valid - try again later",
	23: "Password has expired",
	24: "Preauthentication failed",
	25: "Additional pre-authentication required",
	26: "Requested server and ticket don't match",
	29: "A service is not available that is required to process the request",
	31: "Decrypt integrity check failed",
	32: "Ticket expired",
	33: "Ticket not yet valid",
	34: "Request is a replay",
	37: "Clock skew too great",
	41: "Message stream modified",
	52: "Response too big for UDP, retry with TCP",
	60: "Generic error (see e-text)",
	62: "Client not trusted",
	63: "KDC not trusted",
	64: "Invalid signature",
	65: "Key parameters not accepted",
	66: "Certificate mismatch",
	68: "Wrong realm",
	70: "Can't verify certificate",
	71: "Invalid certificate",
	72: "Revoked certificate",
	73: "Revocation status unknown",
	74: "Revocation status unavailable",
	75: "Client name mismatch",
	76: "KDC name mismatch",
	77: "Inconsistent key purpose",
	78: "Digest in certificate not accepted",
	79: "Checksum must be included",
	80: "Digest in signed-data not accepted",
	81: "Public key encryption not supported",
	90: "Preauthentication expired",
	91: "More preauthentication data is required",
	93: "An unsupported critical FAST option was requested",
}

// preauthFailedError is MIT's KRB5_PREAUTH_FAILED wrapping the first
// error of a real mechanism when none could answer the KDC's request for
// preauthentication (preauth2.c process_pa_data): "Pre-authentication
// failed: Cannot read password". It unwraps to that first error.
type preauthFailedError struct{ err error }

func (e *preauthFailedError) Error() string { return "Pre-authentication failed: " + e.err.Error() }
func (e *preauthFailedError) Unwrap() error { return e.err }
