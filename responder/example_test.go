package responder_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gokinit/gokinit/responder"
)

// A responder answers the round's questions by name: here the password
// from the application's own form, and nothing else. The set never prints
// the answers.
func ExampleFunc() {
	ask := responder.Func(func(ctx context.Context, rs *responder.ResponseSet) error {
		if rs.Asked(responder.QuestionPassword) {
			return responder.SetPassword(rs, "from-my-login-form")
		}
		return nil
	})

	// What the engine does in a round where the KDC offered encrypted
	// timestamp: ask, call the responder, read the answer.
	var rs responder.ResponseSet
	rs.Ask(responder.QuestionPassword, "")
	if err := ask.Respond(context.Background(), &rs); err != nil {
		log.Fatal(err)
	}
	_, answered := rs.Answer(responder.QuestionPassword)
	fmt.Println(rs.String(), "answered:", answered)
	// Output:
	// responder.ResponseSet["password"] answered: true
}
