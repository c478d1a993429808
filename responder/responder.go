// Package responder carries the named questions that preauthentication
// mechanisms ask during a login, and the answers an application gives them.
//
// It follows MIT krb5's responder (krb5_responder_fn, krb5 1.11+): every
// mechanism that the KDC offers in a round adds its questions to one
// ResponseSet, the application's Responder sees the whole set once per round,
// and each mechanism then reads the answer to its own question. Questions and
// challenges use MIT's names and JSON so that a front end written for MIT's
// responder works unchanged: "password", "otp" and "pkinit".
package responder

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Question names, as MIT krb5 defines them in krb5.h.
const (
	// QuestionPassword asks for the principal's password. Its challenge is the
	// empty string and its answer is the password itself
	// (KRB5_RESPONDER_QUESTION_PASSWORD).
	QuestionPassword = "password"
	// QuestionOTP asks for a one-time password; see OTPChallenge and
	// OTPAnswer (KRB5_RESPONDER_QUESTION_OTP).
	QuestionOTP = "otp"
	// QuestionPKINIT asks for the PIN or pass phrase of PKINIT identities;
	// see PKINITChallenge (KRB5_RESPONDER_QUESTION_PKINIT).
	QuestionPKINIT = "pkinit"
	// QuestionNewPassword asks for a new password after the KDC said the
	// password has expired (KDC_ERR_KEY_EXPIRED). MIT has no responder
	// question for this (its krb5_get_init_creds_password asks through the
	// prompter only); the name and challenge are this library's. The
	// challenge is a JSON object, see NewPasswordChallenge; the answer is
	// the new password itself. Like "password", only the engine asks it.
	QuestionNewPassword = "new_password"
)

// ErrNotAsked is returned by SetAnswer for a question that is not in the set.
var ErrNotAsked = errors.New("responder: question was not asked")

// ErrNoAnswer means a mechanism needed an answer that neither the responder
// nor a prompter supplied. Errors that wrap it name the question.
var ErrNoAnswer = errors.New("no answer")

// NoAnswer returns an error wrapping ErrNoAnswer that names question.
func NoAnswer(question string) error {
	return fmt.Errorf("%w to the %q question (no responder answer and no prompter)", ErrNoAnswer, question)
}

// ResponseSet holds one round's questions, each with its challenge, and the
// answers set by a Responder. The zero value is an empty set ready to use.
//
// Answers are secrets: the set never prints them, and String lists only the
// question names.
type ResponseSet struct {
	order      []string
	challenges map[string]string
	answers    map[string]string
}

// Ask adds a question with its challenge. Mechanisms call it from
// FillResponseSet. Asking a question twice keeps the first position and the
// last challenge.
func (rs *ResponseSet) Ask(question, challenge string) {
	if rs.challenges == nil {
		rs.challenges = make(map[string]string)
	}
	if _, ok := rs.challenges[question]; !ok {
		rs.order = append(rs.order, question)
	}
	rs.challenges[question] = challenge
}

// Questions returns the question names in the order they were asked.
func (rs *ResponseSet) Questions() []string {
	if rs == nil {
		return nil
	}
	return slices.Clone(rs.order)
}

// Empty reports whether no question was asked.
func (rs *ResponseSet) Empty() bool { return rs == nil || len(rs.order) == 0 }

// Asked reports whether question is in the set.
func (rs *ResponseSet) Asked(question string) bool {
	if rs == nil {
		return false
	}
	_, ok := rs.challenges[question]
	return ok
}

// Challenge returns the challenge of question, and whether it was asked.
func (rs *ResponseSet) Challenge(question string) (string, bool) {
	if rs == nil {
		return "", false
	}
	c, ok := rs.challenges[question]
	return c, ok
}

// SetAnswer records the answer to a question that was asked; answering a
// question that was not asked is an error wrapping ErrNotAsked, as in MIT's
// krb5_responder_set_answer (EINVAL).
func (rs *ResponseSet) SetAnswer(question, answer string) error {
	if !rs.Asked(question) {
		return fmt.Errorf("%w: %q", ErrNotAsked, question)
	}
	if rs.answers == nil {
		rs.answers = make(map[string]string)
	}
	rs.answers[question] = answer
	return nil
}

// Answer returns the answer set for question, and whether one was set.
func (rs *ResponseSet) Answer(question string) (string, bool) {
	if rs == nil {
		return "", false
	}
	a, ok := rs.answers[question]
	return a, ok
}

// Unanswered returns the questions that have no answer yet, in order.
func (rs *ResponseSet) Unanswered() []string {
	var out []string
	for _, q := range rs.Questions() {
		if _, ok := rs.answers[q]; !ok {
			out = append(out, q)
		}
	}
	return out
}

// String lists the questions, never the answers.
func (rs *ResponseSet) String() string {
	return fmt.Sprintf("responder.ResponseSet%q", rs.Questions())
}

// Responder answers the questions of one round. The engine calls Respond at
// most once per round, and only when the round has questions; whatever it
// leaves unanswered is asked through the login's prompter, if there is one.
//
// Respond should answer the questions it knows (with SetAnswer, or the typed
// helpers SetPassword, SetOTPAnswer, SetPKINITAnswer) and leave the others.
// Returning an error aborts the login with that error. It is MIT's
// krb5_responder_fn.
type Responder interface {
	Respond(ctx context.Context, rs *ResponseSet) error
}

// Func adapts an ordinary function to the Responder interface, as
// http.HandlerFunc does for http.Handler.
type Func func(ctx context.Context, rs *ResponseSet) error

// Respond calls f(ctx, rs).
func (f Func) Respond(ctx context.Context, rs *ResponseSet) error { return f(ctx, rs) }

// SetPassword answers the password question. It does nothing and returns nil
// when the round did not ask for the password, so a responder can call it
// unconditionally.
func SetPassword(rs *ResponseSet, password string) error {
	if !rs.Asked(QuestionPassword) {
		return nil
	}
	return rs.SetAnswer(QuestionPassword, password)
}
