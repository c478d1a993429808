package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gokinit/gokinit/internal/lineread"
	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
)

// The JSON responder protocol (kinit --responder=json) lets a front end in
// any language answer a login's questions. Each message is one JSON object
// on one line.
//
//	kinit → front end:  {"questions":[{"name":"password","challenge":""}]}
//	front end → kinit:  {"answers":{"password":"s3cret"}}
//	kinit → front end:  {"result":{"ok":true,"client":"alice@EX.COM",...}}
//
// Names and challenges are MIT's responder questions ("password", "otp",
// "pkinit") with their challenge strings as MIT defines them, and
// "new_password" when the password has expired (responder.QuestionNewPassword,
// a JSON challenge; the answer is the new password). An answer is a
// string, or for "otp" and "pkinit" the JSON object MIT defines, given
// either as an object or as a string holding it; an answer of any other
// type refuses the line and ends the login before anything reaches the
// KDC. Questions left out stay unanswered. The last line is always a result; kinit then exits 0 on
// success and 1 on failure.

type jsonQuestion struct {
	Name      string `json:"name"`
	Challenge string `json:"challenge"`
}

type jsonQuestions struct {
	Questions []jsonQuestion `json:"questions"`
}

type jsonAnswers struct {
	Answers map[string]json.RawMessage `json:"answers"`
}

type jsonResult struct {
	OK        bool   `json:"ok"`
	Client    string `json:"client,omitempty"`
	Server    string `json:"server,omitempty"`
	StartTime string `json:"starttime,omitempty"`
	EndTime   string `json:"endtime,omitempty"`
	RenewTill string `json:"renew_till,omitempty"`
	CCache    string `json:"ccache,omitempty"`
	Error     string `json:"error,omitempty"`
	// Kind names the failure for programs: preauth_failed, client_unknown,
	// kdc_unreachable, no_answer, interrupted, key_expired, client_revoked,
	// password_change (the kpasswd server refused the new password), other.
	Kind string `json:"kind,omitempty"`
	// Code is the KDC's error code, when the KDC refused.
	Code int32 `json:"code,omitempty"`
}

// jsonResponder is a responder.Responder speaking the protocol over a pipe.
type jsonResponder struct {
	in  *os.File
	out io.Writer
}

func newJSONResponder(in *os.File, out io.Writer) *jsonResponder {
	return &jsonResponder{in: in, out: out}
}

// Respond writes the questions and reads the answers line. Ctrl-C while it
// waits ends the wait at once (MIT's "Password read interrupted"); end of
// input is no answer ("Cannot read password"). An answer of the wrong JSON
// type (null, a number, an object for the password, a string that is not
// MIT's JSON for "otp" or "pkinit") refuses the whole line: nothing is
// answered and the login stops before anything is sent to the KDC.
func (j *jsonResponder) Respond(ctx context.Context, rs *responder.ResponseSet) error {
	var q jsonQuestions
	for _, name := range rs.Questions() {
		c, _ := rs.Challenge(name)
		q.Questions = append(q.Questions, jsonQuestion{Name: name, Challenge: c})
	}
	if err := j.write(q); err != nil {
		return err
	}
	line, err := lineread.ReadLine(ctx, j.in, lineread.Options{CatchInterrupt: true, Max: 1 << 20})
	if err != nil {
		return err
	}
	var a jsonAnswers
	if err := json.Unmarshal([]byte(line), &a); err != nil {
		// Never echo the line: it holds secrets.
		return errors.New(`responder protocol: the answers line is not a JSON object {"answers":{...}}`)
	}
	answers := make(map[string]string, len(a.Answers))
	for name, raw := range a.Answers {
		if !rs.Asked(name) {
			return fmt.Errorf("responder protocol: %q was not asked", name)
		}
		value, err := answerString(name, raw)
		if err != nil {
			return fmt.Errorf("responder protocol: answer to %q: %w", name, err)
		}
		answers[name] = value
	}
	// Set only once every answer is known to be well-typed.
	for name, value := range answers {
		if err := rs.SetAnswer(name, value); err != nil {
			return fmt.Errorf("responder protocol: %w", err)
		}
	}
	return nil
}

// answerString checks the answer's JSON type and returns it as the text
// MIT's responder takes: the password is a JSON string; "otp" and "pkinit"
// answers are MIT's JSON objects, given as objects or as strings holding
// them, checked by the parser the mechanism runs. The error never quotes
// the answer.
func answerString(question string, raw json.RawMessage) (string, error) {
	jsonAnswer := question == responder.QuestionOTP || question == responder.QuestionPKINIT
	var text string
	switch kind := firstByte(raw); {
	case kind == '"':
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", errors.New("not a valid JSON string")
		}
	case kind == '{' && jsonAnswer:
		text = string(raw)
	case jsonAnswer:
		return "", errors.New("must be a JSON object or a string holding one")
	default:
		// The password, a new password, any other question: a string.
		return "", errors.New("must be a JSON string")
	}
	switch question {
	case responder.QuestionOTP:
		if _, err := responder.ParseOTPAnswer(text); err != nil {
			return "", err
		}
	case responder.QuestionPKINIT:
		if _, err := responder.ParsePKINITAnswer(text); err != nil {
			return "", err
		}
	}
	return text, nil
}

func firstByte(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func (j *jsonResponder) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(j.out, "%s\n", b)
	return err
}

// result reports the outcome as the protocol's last line.
func (j *jsonResponder) result(creds *krb.Credentials, ccPath string, err error) {
	r := jsonResult{OK: err == nil}
	if err != nil {
		r.Error, r.Kind = err.Error(), errorKind(err)
		var kerr *krb.KDCError
		if errors.As(err, &kerr) {
			r.Code = kerr.Code
		}
	} else {
		r.Client, r.Server, r.CCache = creds.Client.String(), creds.Server.String(), ccPath
		r.StartTime, r.EndTime = creds.StartTime.Format(time.RFC3339), creds.EndTime.Format(time.RFC3339)
		if !creds.RenewTill.IsZero() {
			r.RenewTill = creds.RenewTill.Format(time.RFC3339)
		}
	}
	_ = j.write(struct {
		Result jsonResult `json:"result"`
	}{r})
}

func errorKind(err error) string {
	for _, k := range []struct {
		target error
		name   string
	}{
		{krb.ErrPreauthFailed, "preauth_failed"},
		{krb.ErrClientUnknown, "client_unknown"},
		{krb.ErrKDCUnreachable, "kdc_unreachable"},
		{krb.ErrNoAnswer, "no_answer"},
		{prompter.ErrNoInput, "no_answer"},
		{prompter.ErrInterrupted, "interrupted"},
		{krb.ErrKeyExpired, "key_expired"},
		{krb.ErrClientRevoked, "client_revoked"},
		{krb.ErrPasswordChange, "password_change"},
	} {
		if errors.Is(err, k.target) {
			return k.name
		}
	}
	return "other"
}
