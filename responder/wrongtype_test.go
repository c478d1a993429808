package responder

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parse is the parser a mechanism runs on each question's answer.
var parse = map[string]func(string) error{
	QuestionOTP:    func(a string) error { _, err := ParseOTPAnswer(a); return err },
	QuestionPKINIT: func(a string) error { _, err := ParsePKINITAnswer(a); return err },
}

// TestWrongTypedAnswersRefused: the class of answers of the wrong JSON
// type (null, a bare value, an array, an object where a string belongs, a
// member of the wrong type) is refused by the parser the mechanism runs on
// every question with a JSON answer, so it never reaches the KDC (the
// mechanism asks the prompter instead, as MIT's does), and the refusal
// never quotes the answer.
func TestWrongTypedAnswersRefused(t *testing.T) {
	refused := map[string][]string{
		QuestionOTP: {
			`null`, `""`, `"123456"`, `123456`, `true`, `[]`, `[{"tokeninfo":0,"value":"123456"}]`,
			`{}`, `{"value":"123456"}`, `{"tokeninfo":null,"value":"123456"}`, `{"tokeninfo":"0","value":"123456"}`,
			`{"tokeninfo":0,"value":null}`, `{"tokeninfo":0,"value":123456}`, `{"tokeninfo":0,"value":{"x":"123456"}}`,
			`{"tokeninfo":0,"value":["123456"]}`, `{"tokeninfo":0,"value":"123456","pin":null}`, `{"tokeninfo":0,"pin":1234}`,
			`{"tokeninfo":0.5,"value":"123456"}`, `{"tokeninfo":-1,"value":"123456"}`, `{"tokeninfo":0,"value":"123456"`,
		},
		QuestionPKINIT: {
			`null`, `"1234"`, `1234`, `[]`, `["1234"]`, `{"FILE:/a.pem":null}`, `{"FILE:/a.pem":1234}`,
			`{"FILE:/a.pem":{"pin":"1234"}}`, `{"FILE:/a.pem":["1234"]}`, `{"FILE:/a.pem":true}`, `{"FILE:/a.pem":"1234"`,
		},
	}
	for q, answers := range refused {
		for _, a := range answers {
			err := parse[q](a)
			require.Error(t, err, "%s answer %s", q, a)
			assert.NotContains(t, err.Error(), "1234", "%s answer %s", q, a)
		}
	}
	accepted := map[string][]string{
		QuestionOTP:    {`{"tokeninfo":0,"value":"123456"}`, `{"tokeninfo":1,"value":"123456","pin":"1234"}`, `{"tokeninfo":0}`},
		QuestionPKINIT: {`{}`, `{"FILE:/a.pem":"1234"}`, `{"PKCS11:token=x":"","FILE:/b":"pw"}`},
	}
	for q, answers := range accepted {
		for _, a := range answers {
			assert.NoError(t, parse[q](a), "%s answer %s", q, a)
		}
	}
}
