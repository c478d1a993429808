// Command responder is the smallest program that answers a login's
// questions from its own source instead of asking a person: the "password"
// question from GOKINIT_PASSWORD (or the first line of the file named by
// GOKINIT_PASSWORD_FILE), the "otp" question from GOKINIT_OTP (and
// GOKINIT_OTP_PIN when the token wants a PIN). What it leaves unanswered
// goes to the terminal prompter, which reads a line from standard input
// when that is not a terminal.
//
//	GOKINIT_PASSWORD_FILE=/run/secrets/pw responder alice@EXAMPLE.COM
//	GOKINIT_OTP=123456 responder -T /tmp/armor.ccache carol@EXAMPLE.COM
//	echo "$PASSWORD" | responder alice@EXAMPLE.COM
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
)

func main() {
	armorCache := flag.String("T", "", "armor the login with FAST using the TGT in this cache, as kinit -T (the KDC offers OTP only under FAST)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: responder [-T armor_ccache] principal")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	opts := []krb.Option{krb.WithResponder(fromEnvironment), krb.WithPrompter(prompter.NewTerminal())}
	if *armorCache != "" {
		armor, err := armorFrom(*armorCache)
		if err != nil {
			fmt.Fprintln(os.Stderr, "responder:", err)
			os.Exit(1)
		}
		opts = append(opts, krb.WithArmor(armor))
	}
	creds, err := krb.GetInitialCreds(ctx, flag.Arg(0), opts...) // krb5.conf from KRB5_CONFIG
	if err != nil {
		fmt.Fprintln(os.Stderr, "responder:", err) // MIT's words: "Password incorrect while getting initial credentials"
		os.Exit(1)
	}
	fmt.Printf("Logged in as %s: ticket for %s, valid until %s\n",
		creds.Client, creds.Server, creds.EndTime.Local().Format(time.DateTime))
}

// fromEnvironment is the application's responder: it sees each round's
// questions and answers those it has an answer for.
var fromEnvironment = responder.Func(func(ctx context.Context, rs *responder.ResponseSet) error {
	if pw, ok, err := secret("GOKINIT_PASSWORD"); err != nil {
		return err
	} else if ok {
		if err := responder.SetPassword(rs, pw); err != nil {
			return err
		}
	}
	if otp, ok, err := secret("GOKINIT_OTP"); err != nil {
		return err
	} else if ok && rs.Asked(responder.QuestionOTP) {
		// The first token the KDC lists; responder.OTPChallengeOf shows them all.
		pin, _, err := secret("GOKINIT_OTP_PIN")
		if err != nil {
			return err
		}
		return responder.SetOTPAnswer(rs, responder.OTPAnswer{TokenInfo: 0, Value: otp, PIN: pin})
	}
	return nil
})

// armorFrom reads the armor TGT from a credential cache of any type
// (kinit -k writes one).
func armorFrom(name string) (*krb.Armor, error) {
	acc, err := ccache.Resolve(name)
	if err != nil {
		return nil, err
	}
	cc, err := acc.Read()
	if err != nil {
		return nil, err
	}
	return krb.ArmorFromCCache(cc, cc.DefaultPrincipal.Realm)
}

// secret returns the environment variable name, or else the first line of
// the file that name_FILE names.
func secret(name string) (string, bool, error) {
	if v, ok := os.LookupEnv(name); ok {
		return v, true, nil
	}
	path, ok := os.LookupEnv(name + "_FILE")
	if !ok {
		return "", false, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r"), true, nil
}
