// Command service is a long-running Kerberos client: it logs in from a
// keytab, keeps its TGT fresh (a new login at 80% of the ticket's lifetime,
// exponential backoff with jitter while no KDC answers, a stop on
// authentication failures), and calls an HTTP endpoint protected by SPNEGO
// with gokrb5's client.
//
//	service -keytab /etc/batch.keytab -principal batch -url http://app.example.com/api
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gokinit/gokinit/krb"
)

func main() {
	configPath := flag.String("config", "", "krb5.conf to use (default: KRB5_CONFIG, else /etc/krb5.conf)")
	keytabPath := flag.String("keytab", "", "the service's keytab (required)")
	principal := flag.String("principal", "", "the principal to log in as (required)")
	url := flag.String("url", "", "an HTTP endpoint to call with SPNEGO (optional)")
	spn := flag.String("spn", "", "the endpoint's service principal (default: HTTP/ and the URL's host)")
	every := flag.Duration("every", time.Minute, "how often to call the endpoint")
	flag.Parse()
	if *keytabPath == "" || *principal == "" {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *configPath, *keytabPath, *principal, *url, *spn, *every); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, configPath, keytabPath, principal, url, spn string, every time.Duration) error {
	var paths []string
	if configPath != "" {
		paths = append(paths, configPath)
	}
	cfg, err := krb.LoadConfig(paths...)
	if err != nil {
		return err
	}
	kt, err := krb.LoadKeytab(keytabPath)
	if err != nil {
		return err
	}
	k := &Keeper{Login: KeytabLogin(cfg, principal, kt), Logf: log.Printf}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- k.Run(ctx) }()
	if _, err := k.Wait(ctx); err != nil {
		return err
	}
	if url == "" {
		return <-stopped // just keep the ticket fresh
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		status, body, err := Get(ctx, cfg, k.Credentials(), url, spn)
		if err != nil {
			log.Printf("GET %s: %v", url, err)
		} else {
			log.Printf("GET %s: %d %q", url, status, body)
		}
		select {
		case err := <-stopped:
			return err
		case <-tick.C:
		}
	}
}
