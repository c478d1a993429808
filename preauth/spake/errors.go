package spake

import (
	"errors"
	"fmt"
)

// Errors of the SPAKE mechanism, for errors.Is. None of them carries a
// key, a scalar or a password.
var (
	// ErrMalformed: a PA-SPAKE message from the KDC does not decode.
	ErrMalformed = errors.New("spake: malformed PA-SPAKE message")
	// ErrUnexpected: the KDC sent a PA-SPAKE message the client cannot
	// accept at this point of the exchange (RFC 9588 §4), such as a second
	// challenge, or a support or response message.
	ErrUnexpected = errors.New("spake: unexpected PA-SPAKE message")
	// ErrNoGroups: spake_preauth_groups names no group this client
	// implements, so SPAKE is not used.
	ErrNoGroups = errors.New("spake: no SPAKE preauth groups configured")
	// ErrGroupRejected: the KDC insists on a group the client does not
	// allow, after the client has told it which groups it allows.
	ErrGroupRejected = errors.New("spake: the KDC chose a group the client does not allow")
	// ErrNoFactor: the KDC's challenge offers no second-factor type the
	// client supports (only SF-NONE is, RFC 9588 §8).
	ErrNoFactor = errors.New("spake: no supported second factor offered")
	// ErrInvalidElement: a group element is unusable; a *ElementError
	// gives the group and the reason, one of the errors below.
	ErrInvalidElement = errors.New("spake: invalid group element")

	// ErrElementLength: the element does not have the group's length.
	ErrElementLength = errors.New("wrong length")
	// ErrNotOnCurve: the bytes encode no point of the curve.
	ErrNotOnCurve = errors.New("not a point on the curve")
	// ErrNonCanonical: the point is valid but not in its one canonical
	// encoding (a field element not reduced, a sign bit on x = 0, or a
	// form other than compressed for the NIST curves).
	ErrNonCanonical = errors.New("non-canonical encoding")
	// ErrIdentity: the element is the identity (neutral) element.
	ErrIdentity = errors.New("the identity element")
	// ErrSmallOrder: the element lies in the small subgroup of the curve's
	// cofactor (edwards25519), so it carries nothing secret.
	ErrSmallOrder = errors.New("an element of small order")
)

// ElementError reports a group element the client refuses: the KDC's
// public element T, or the shared element K computed from it (RFC 9588 §10,
// Security Considerations: peers validate each other's elements).
type ElementError struct {
	Group string // group name, such as "edwards25519"
	What  string // "the KDC's public element" or "the shared element"
	Err   error  // the reason, such as ErrNotOnCurve
}

func (e *ElementError) Error() string {
	return fmt.Sprintf("spake: %s (%s) is invalid: %v", e.What, e.Group, e.Err)
}

func (e *ElementError) Unwrap() error { return e.Err }

// Is makes every ElementError match ErrInvalidElement.
func (e *ElementError) Is(target error) bool { return target == ErrInvalidElement }

// What an ElementError is about.
const (
	whatPublic = "the KDC's public element"
	whatShared = "the shared element"
)
