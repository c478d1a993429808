package responder

import (
	"encoding/json"
	"fmt"
)

// Flags of a PKINIT identity in the "pkinit" challenge
// (KRB5_RESPONDER_PKINIT_FLAGS_TOKEN_*), from the token's state.
const (
	PKINITUserPINCountLow = 1 << 0 // a wrong PIN was entered before
	PKINITUserPINFinalTry = 1 << 1 // the next wrong PIN locks the token
	PKINITUserPINLocked   = 1 << 2 // the token is locked
)

// PKINITChallenge is the challenge of the "pkinit" question: each identity
// that needs a PIN or pass phrase (for example
// "PKCS11:module_name=/usr/lib/softhsm/libsofthsm2.so:token=carolcard" or
// "PKCS12:/home/carol/carol.p12"), with its flags.
type PKINITChallenge map[string]int32

// ParsePKINITChallenge decodes the challenge JSON of the "pkinit" question.
func ParsePKINITChallenge(challenge string) (PKINITChallenge, error) {
	var c PKINITChallenge
	if err := json.Unmarshal([]byte(challenge), &c); err != nil {
		return nil, fmt.Errorf("responder: bad pkinit challenge: %w", err)
	}
	return c, nil
}

// PKINITChallengeOf returns the parsed challenge of the "pkinit" question in
// rs, or ok == false when the round did not ask it.
func PKINITChallengeOf(rs *ResponseSet) (c PKINITChallenge, ok bool, err error) {
	s, asked := rs.Challenge(QuestionPKINIT)
	if !asked {
		return nil, false, nil
	}
	c, err = ParsePKINITChallenge(s)
	return c, true, err
}

// Encode returns the challenge as MIT's JSON.
func (c PKINITChallenge) Encode() (string, error) {
	return marshalMIT(c)
}

// SetPKINITAnswer answers the "pkinit" question with a PIN or pass phrase per
// identity. Identities left out are asked through the prompter.
func SetPKINITAnswer(rs *ResponseSet, pins map[string]string) error {
	s, err := marshalMIT(pins)
	if err != nil {
		return err
	}
	return rs.SetAnswer(QuestionPKINIT, s)
}

// ParsePKINITAnswer decodes the answer JSON of the "pkinit" question. Its
// error never includes the answer, which holds PINs.
func ParsePKINITAnswer(answer string) (map[string]string, error) {
	bad := fmt.Errorf("responder: the pkinit answer is not a JSON object of identity to PIN")
	fields, ok := jsonObject(answer)
	if !ok {
		return nil, bad
	}
	pins := make(map[string]string, len(fields))
	for id, raw := range fields {
		// A PIN of any other type (null, a number) is refused, never
		// taken as an empty or printed PIN.
		if jsonKind(raw) != '"' || json.Unmarshal(raw, new(string)) != nil {
			return nil, bad
		}
		var pin string
		_ = json.Unmarshal(raw, &pin)
		pins[id] = pin
	}
	return pins, nil
}
