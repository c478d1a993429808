// Command demo starts a throwaway MIT Kerberos realm on loopback, creates
// a user that must preauthenticate, and logs in through a Responder that
// shows each round's questions and answers the password one, as a GUI or
// web login would. It needs MIT's KDC (scripts/demo installs it).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/gokinit/gokinit/responder"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	if ok, reason := krbtest.Available(); !ok {
		return fmt.Errorf("%s", reason)
	}
	realm, err := krbtest.Start()
	if err != nil {
		return err
	}
	defer realm.Close()
	const user, password = "demo", "correct horse battery staple"
	if err := realm.AddPrincipal(user, password, krbtest.RequiresPreauth()); err != nil {
		return err
	}
	fmt.Fprintf(w, "Started realm %s with its KDC on %s (files in %s)\n", realm.Name, realm.KDCAddr, realm.Dir)

	cfg, err := krb.LoadConfig(realm.ConfigPath)
	if err != nil {
		return err
	}
	// The application's responder: it sees every question of a round at
	// once, with MIT's names and challenges, and answers what it can.
	answer := responder.Func(func(ctx context.Context, rs *responder.ResponseSet) error {
		for _, q := range rs.Questions() {
			c, _ := rs.Challenge(q)
			fmt.Fprintf(w, "Responder asked %q (challenge %q)\n", q, c)
		}
		return responder.SetPassword(rs, password)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	login, err := krb.NewLogin(user, krb.WithConfig(cfg), krb.WithResponder(answer))
	if err != nil {
		return err
	}
	creds, err := login.Run(ctx)
	if err != nil {
		return err
	}
	cc := filepath.Join(realm.Dir, "demo.ccache")
	if err := creds.WriteCCache(cc); err != nil {
		return err
	}
	st := login.Stats()
	fmt.Fprintf(w, "Logged in as %s\n  ticket for %s\n  valid %s to %s\n  %d round trips, %d string-to-key run(s)\n",
		creds.Client, creds.Server, creds.StartTime.Local().Format(time.DateTime),
		creds.EndTime.Local().Format(time.DateTime), st.Requests, st.StringToKey)
	// Show that MIT's own tools read the cache we wrote.
	if klist, err := exec.LookPath("klist"); err == nil {
		out, err := exec.Command(klist, "-c", "FILE:"+cc).CombinedOutput()
		if err != nil {
			return fmt.Errorf("MIT klist could not read our cache: %v\n%s", err, out)
		}
		fmt.Fprintf(w, "MIT klist reads the credential cache:\n%s", out)
	}
	return nil
}
