package main

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/gokinit/gokinit/krb"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// Get fetches url as the holder of creds, authenticating with SPNEGO
// (HTTP Negotiate, RFC 4559): the credentials go to gokrb5's client
// (Credentials.Gokrb5Client), which gets the service ticket for
// HTTP/<host of url> and answers the server's 401. An empty spn lets gokrb5
// derive that name from the URL.
func Get(ctx context.Context, cfg *krb.Config, creds *krb.Credentials, url, spn string) (status int, body string, err error) {
	if creds == nil {
		return 0, "", errors.New("no valid credentials")
	}
	cl, err := creds.Gokrb5Client(cfg)
	if err != nil {
		return 0, "", err
	}
	defer cl.Destroy()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := spnego.NewClient(cl, nil, spn).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}
