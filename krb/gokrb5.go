package krb

import (
	"errors"
	"fmt"

	gokrb5client "github.com/jcmturner/gokrb5/v8/client"
	gokrb5creds "github.com/jcmturner/gokrb5/v8/credentials"
)

// Gokrb5Client hands the credentials to gokrb5's client, so that gokrb5's
// TGS, SPNEGO (spnego.NewClient) and GSS-API code can use a ticket this
// package obtained: the credentials become the client's session for their
// realm, as if loaded from a credential cache with client.NewFromCCache.
//
// The credentials must hold a TGT (a login without WithService). The client
// has no password or keytab: it cannot log in again when the TGT expires, so
// build a new client from fresh credentials instead.
func (c *Credentials) Gokrb5Client(cfg *Config) (*gokrb5client.Client, error) {
	if cfg == nil || cfg.Config == nil {
		return nil, errors.New("krb: Gokrb5Client needs a configuration")
	}
	if n := c.Server.Name.NameString; len(n) != 2 || n[0] != "krbtgt" {
		return nil, fmt.Errorf("krb: the credentials are a ticket for %s, not a TGT; gokrb5's client needs a TGT", c.Server)
	}
	b, err := c.CCache().Marshal()
	if err != nil {
		return nil, fmt.Errorf("krb: encoding the credentials for gokrb5: %w", err)
	}
	var cc gokrb5creds.CCache
	if err := cc.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("krb: gokrb5 could not read the credentials: %w", err)
	}
	cl, err := gokrb5client.NewFromCCache(&cc, cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("krb: gokrb5 client: %w", err)
	}
	return cl, nil
}
