// Command weblogin is a Kerberos login page: the user name first, then each
// round's questions (password, one-time password, smart card PIN) drawn as
// a form, then the ticket or the error. Between requests the login waits in
// a server-side session as a value (krb.WithDeferredQuestions); no
// goroutine waits for the browser.
//
//	weblogin -config /etc/krb5.conf -listen 127.0.0.1:8080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/ccache"
)

func main() {
	configPath := flag.String("config", "", "krb5.conf to use (default: KRB5_CONFIG, else /etc/krb5.conf)")
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	armorPath := flag.String("armor", "", "credential cache holding a TGT (e.g. the host's, from kinit -k) to armor logins with FAST; OTP needs it")
	ttl := flag.Duration("ttl", 5*time.Minute, "how long an idle login session lives")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := func(url, realm string) { log.Printf("serving the login page on %s (realm %s)", url, realm) }
	if err := run(ctx, *configPath, *listen, *armorPath, *ttl, started); err != nil {
		fmt.Fprintln(os.Stderr, "weblogin:", err)
		os.Exit(1)
	}
}

// run serves the login page until ctx ends.
func run(ctx context.Context, configPath, listen, armorPath string, ttl time.Duration, started func(url, realm string)) error {
	var paths []string
	if configPath != "" {
		paths = append(paths, configPath)
	}
	cfg, err := krb.LoadConfig(paths...)
	if err != nil {
		return err
	}
	opts := []Option{WithSessionTTL(ttl), WithLogf(log.Printf)}
	if armorPath != "" {
		cc, err := ccache.ReadFile(armorPath)
		if err != nil {
			return err
		}
		armor, err := krb.ArmorFromCCache(cc, cfg.LibDefaults.DefaultRealm)
		if err != nil {
			return err
		}
		opts = append(opts, WithLoginOptions(krb.WithArmor(armor)))
	}
	s := NewServer(cfg, opts...)
	defer s.Close()
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	started("http://"+l.Addr().String()+"/", cfg.LibDefaults.DefaultRealm)
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
