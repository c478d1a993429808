package responder

import (
	"encoding/json"
	"fmt"
)

// NewPasswordChallenge is the challenge of the "new_password" question, as
// JSON:
//
//	{"banner":"Password expired.  You must change it now."}
//	{"banner":"Password change rejected: Password is too short.  Please try again.\n","result_code":4,"result_text":"Password is too short."}
//
// Banner is what MIT's krb5_get_init_creds_password shows its prompter
// above "Enter new password" / "Enter it again": first "Password expired.
// You must change it now.", then why the previous new password was refused
// followed by ".  Please try again.". ResultCode and ResultText are the
// kpasswd server's answer to the previous attempt (RFC 3244 §2: 4 is
// KRB5_KPASSWD_SOFTERROR, a policy rejection), absent on the first
// attempt. TriesLeft counts the attempts left, this one included (MIT
// allows three).
type NewPasswordChallenge struct {
	Banner     string `json:"banner"`
	ResultCode int    `json:"result_code,omitempty"`
	ResultText string `json:"result_text,omitempty"`
	TriesLeft  int    `json:"tries_left,omitempty"`
}

// Encode returns the challenge's JSON text.
func (c NewPasswordChallenge) Encode() string {
	b, _ := json.Marshal(c) // strings and ints: cannot fail
	return string(b)
}

// ParseNewPasswordChallenge decodes the challenge of the "new_password"
// question.
func ParseNewPasswordChallenge(s string) (NewPasswordChallenge, error) {
	var c NewPasswordChallenge
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("responder: new_password challenge: %w", err)
	}
	return c, nil
}

// SetNewPassword answers the "new_password" question. Like SetPassword it
// does nothing and returns nil when the round did not ask it. Checking that
// the person typed the new password twice alike is the caller's part (the
// engine's prompter fallback asks twice and compares, as MIT does).
func SetNewPassword(rs *ResponseSet, password string) error {
	if !rs.Asked(QuestionNewPassword) {
		return nil
	}
	return rs.SetAnswer(QuestionNewPassword, password)
}
