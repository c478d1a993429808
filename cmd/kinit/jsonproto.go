package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gokinit/gokinit/krb"
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
// either as an object or as a string holding it. Questions left out stay
// unanswered. The last line is always a result; kinit then exits 0 on
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
	// kdc_unreachable, no_answer, key_expired, client_revoked,
	// password_change (the kpasswd server refused the new password), other.
	Kind string `json:"kind,omitempty"`
	// Code is the KDC's error code, when the KDC refused.
	Code int32 `json:"code,omitempty"`
}

// jsonResponder is a responder.Responder speaking the protocol over a pipe.
type jsonResponder struct {
	in  *bufio.Reader
	out io.Writer
}

func newJSONResponder(in io.Reader, out io.Writer) *jsonResponder {
	return &jsonResponder{in: bufio.NewReader(in), out: out}
}

func (j *jsonResponder) Respond(_ context.Context, rs *responder.ResponseSet) error {
	var q jsonQuestions
	for _, name := range rs.Questions() {
		c, _ := rs.Challenge(name)
		q.Questions = append(q.Questions, jsonQuestion{Name: name, Challenge: c})
	}
	if err := j.write(q); err != nil {
		return err
	}
	line, err := j.in.ReadBytes('\n')
	if err != nil && (len(line) == 0 || !errors.Is(err, io.EOF)) {
		return fmt.Errorf("responder protocol: no answers on standard input: %w", err)
	}
	var a jsonAnswers
	if err := json.Unmarshal(line, &a); err != nil {
		// Never echo the line: it holds secrets.
		return errors.New(`responder protocol: the answers line is not a JSON object {"answers":{...}}`)
	}
	for name, raw := range a.Answers {
		value, err := answerString(raw)
		if err != nil {
			return fmt.Errorf("responder protocol: answer to %q: %w", name, err)
		}
		if err := rs.SetAnswer(name, value); err != nil {
			return fmt.Errorf("responder protocol: %w", err)
		}
	}
	return nil
}

// answerString accepts a JSON string, or an object that it re-encodes, as
// MIT's answers to "otp" and "pkinit" are JSON text.
func answerString(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", errors.New("must be a string or a JSON object")
	}
	b, err := json.Marshal(obj)
	return string(b), err
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
