package transport

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/jcmturner/gokrb5/v8/config"
)

type countingResolver struct{ calls int }

func (r *countingResolver) LookupSRV(context.Context, string, string, string) (string, []*net.SRV, error) {
	r.calls++
	return "", []*net.SRV{{Target: "kdc.example.test", Port: 88}}, nil
}

func TestNoDNSSkipsSRV(t *testing.T) {
	res := &countingResolver{}
	c := New(config.New())
	c.Resolver = res
	c.NoDNS = true
	_, err := c.KDCs(context.Background(), "EXAMPLE.TEST")
	if !errors.Is(err, ErrNoKDC) || !errors.Is(err, ErrKDCUnreachable) {
		t.Fatalf("err = %v, want ErrNoKDC", err)
	}
	if res.calls != 0 {
		t.Fatalf("SRV looked up %d times with dns_lookup_kdc = false", res.calls)
	}
	c.NoDNS = false
	servers, err := c.KDCs(context.Background(), "EXAMPLE.TEST")
	if err != nil || len(servers) == 0 || res.calls == 0 {
		t.Fatalf("with DNS allowed: servers %v, err %v, lookups %d", servers, err, res.calls)
	}
}
