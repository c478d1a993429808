package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/ccache"
)

// outCache is the cache kinit reads (-R, -v) and writes, chosen as MIT's
// kinit chooses it (k5_begin in kinit.c).
type outCache struct {
	cc *ccache.CCache
	// isNew: made by NewUnique for this login, removed if the login fails.
	isNew bool
	// switchTo: make it the collection's primary once written (MIT's
	// switch_to_cache).
	switchTo bool
}

// ccacheOptions are the cache layer's settings from krb5.conf.
func ccacheOptions(cfg *krb.Config) []ccache.Option {
	return []ccache.Option{ccache.WithKCMSocket(firstValue(cfg, "libdefaults", "kcm_socket"))}
}

// chooseCache picks the client principal and the output cache as MIT's
// kinit does: -c names the cache; else the default cache (KRB5CCNAME,
// default_ccache_name); the principal is the argument, host/HOSTNAME with
// -k, the named cache's principal, the default cache's principal (then that
// cache is used), else the login name. When the default cache's type has
// collections (DIR, KEYRING, KCM) and no cache was named, the collection's
// cache for that principal is used, else a new one if the default cache
// already holds someone's tickets, and it becomes the primary.
func chooseCache(s *settings, cfg *krb.Config, stderr io.Writer) (principal string, out *outCache, err error) {
	opts := ccacheOptions(cfg)
	out = &outCache{}
	var defcache *ccache.CCache
	var defPrinc *ccache.Principal
	if s.cacheSet && s.cacheName == "" {
		// MIT resolves the empty name, logs in, and fails to store:
		// never the default cache in its place. We fail before asking.
		if s.verbose {
			fmt.Fprintln(stderr, "Using specified cache: ")
		}
		//lint:ignore ST1005 MIT's message, verbatim
		return "", nil, fmt.Errorf("Failed to store credentials: %w while getting initial credentials", ccache.ErrNotFound)
	}
	if s.cacheName != "" {
		if out.cc, err = ccache.Resolve(s.cacheName, opts...); err != nil {
			return "", nil, fmt.Errorf("%w resolving ccache %s", err, s.cacheName)
		}
		if s.verbose {
			fmt.Fprintf(stderr, "Using specified cache: %s\n", s.cacheName)
		}
	} else {
		confName := firstValue(cfg, "libdefaults", "default_ccache_name")
		if _, set := os.LookupEnv("KRB5CCNAME"); !set && confName != "" {
			if _, err := ccache.ExpandPathTokens(confName); err != nil {
				// k5_expand_path_tokens failed inside krb5_cc_default_name.
				//lint:ignore ST1005 MIT's message, verbatim
				return "", nil, errors.New("Internal credentials cache error while getting default ccache")
			}
		}
		defName := ccache.DefaultName(confName)
		if defName == "" { // KRB5CCNAME set but empty: MIT uses it as is
			//lint:ignore ST1005 MIT's message, verbatim
			return "", nil, fmt.Errorf("Failed to store credentials: %w while getting initial credentials", ccache.ErrNotFound)
		}
		if defcache, err = ccache.Resolve(defName, opts...); err != nil {
			return "", nil, fmt.Errorf("%w while getting default ccache", err)
		}
		if p, err := defcache.Principal(); err == nil {
			defPrinc = &p
		}
	}

	switch {
	case s.principal != "" || s.anonymous:
		principal = s.principal
	case s.useKeytab && s.clientKeytab:
		// The client keytab's first principal (k5_kt_get_principal).
		kt, err := krb.LoadKeytab(krb.DefaultClientKeytab(cfg))
		if err == nil && len(kt.Entries) == 0 {
			err = krb.ErrKeytabEntryNotFound
		}
		if err != nil {
			return "", nil, fmt.Errorf("%v When determining client principal name from keytab", err)
		}
		e := kt.Entries[0].Principal
		principal = strings.Join(e.Components, "/") + "@" + e.Realm
	case s.useKeytab:
		h, err := os.Hostname()
		if err != nil {
			return "", nil, err
		}
		principal = "host/" + strings.ToLower(h)
	case out.cc != nil:
		if p, err := out.cc.Principal(); err == nil {
			principal = p.String()
		}
	case defPrinc != nil:
		out.cc, principal = defcache, defPrinc.String()
	}
	if principal == "" && !s.anonymous {
		u, err := user.Current()
		if err != nil {
			//lint:ignore ST1005 MIT kinit's message, verbatim
			return "", nil, fmt.Errorf("Unable to identify user: %w", err)
		}
		principal = u.Username
	}

	if out.cc == nil && ccache.SupportsSwitch(defcache.Type()) {
		coll := ccache.NewCollection(ccache.DefaultName(firstValue(cfg, "libdefaults", "default_ccache_name")), opts...)
		me, perr := clientPrincipal(principal, s, cfg)
		if perr == nil {
			if m, err := coll.Match(me); err == nil {
				out.cc, out.switchTo = m, true
				if s.verbose {
					fmt.Fprintf(stderr, "Using existing cache: %s\n", m.Residual())
				}
			} else if defPrinc != nil {
				// A new cache, so as not to overwrite the default cache's
				// tickets for someone else.
				if out.cc, err = coll.NewUnique(); err != nil {
					return "", nil, fmt.Errorf("%w while generating new ccache", err)
				}
				out.isNew, out.switchTo = true, true
				if s.verbose {
					fmt.Fprintf(stderr, "Using new cache: %s\n", out.cc.Residual())
				}
			}
		}
	}
	if out.cc == nil {
		out.cc = defcache
		if s.verbose {
			fmt.Fprintf(stderr, "Using default cache: %s\n", out.cc.Residual())
		}
	}
	return principal, out, nil
}

// clientPrincipal parses the client name as the login will.
func clientPrincipal(name string, s *settings, cfg *krb.Config) (ccache.Principal, error) {
	if s.anonymous && name == "" {
		return ccache.Principal{}, fmt.Errorf("anonymous")
	}
	p, err := krb.ParsePrincipal(name, cfg.LibDefaults.DefaultRealm, s.enterprise)
	if err != nil {
		return ccache.Principal{}, err
	}
	return ccache.Principal{NameType: p.Name.NameType, Realm: p.Realm, Components: p.Name.NameString}, nil
}

// store writes the credentials to the chosen cache and, for a cache chosen
// in a collection, makes it the primary.
func (o *outCache) store(creds *krb.Credentials) error {
	if err := o.cc.Write(creds.CCache()); err != nil {
		return err
	}
	if o.switchTo {
		return o.cc.Switch()
	}
	return nil
}

// abandon removes a cache made for a login that failed.
func (o *outCache) abandon() {
	if o != nil && o.isNew {
		o.cc.Destroy()
	}
}
