package krb_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/transport"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCancelledLoginReturnsWithin100ms is failure 4 as a class: wherever
// a login is when its context is cancelled (deriving a key at the largest
// iteration count a KDC may ask for, waiting for a silent DNS server,
// reading from a TCP KDC that never answers, waiting for a silent UDP
// KDC), it returns context.Canceled within 100 ms.
func TestCancelledLoginReturnsWithin100ms(t *testing.T) {
	type stage struct {
		name string
		// start returns the login's options and a channel closed once the
		// login is where the test wants it.
		start func(t *testing.T) ([]krb.Option, <-chan struct{})
	}
	stages := []stage{
		{"key derivation", func(t *testing.T) ([]krb.Option, <-chan struct{}) {
			asked := make(chan struct{})
			k := newFakeKDC(t, func(n int, _ []byte) ([]byte, error) {
				if n == 0 {
					defer close(asked)
					return krbError(t, krb.ErrCodePreauthRequired, methodData(t, types.PAData{PADataType: paEncTS},
						etypeInfo2(t, types.ETypeInfo2Entry{EType: etypeID.AES256_CTS_HMAC_SHA1_96, Salt: "s",
							S2KParams: []byte{0x00, 0xff, 0xff, 0xff}}))), nil
				}
				return nil, errors.New("not reached")
			})
			return []krb.Option{krb.WithConfig(fakeConfig(t)), krb.WithTransport(krb.TransportFunc(k.exchange))}, asked
		}},
		{"DNS SRV lookup", func(t *testing.T) ([]krb.Option, <-chan struct{}) {
			dns, asked := silentUDP(t)
			cfg, err := krb.ParseConfig("[libdefaults]\n default_realm = " + fakeRealm + "\n dns_lookup_kdc = true\n")
			require.NoError(t, err)
			c := transport.New(cfg.Config)
			var d net.Dialer
			c.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "udp", dns)
			}}
			return []krb.Option{krb.WithConfig(cfg), krb.WithTransport(c)}, asked
		}},
		{"TCP read", func(t *testing.T) ([]krb.Option, <-chan struct{}) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { ln.Close() })
			asked := make(chan struct{})
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, 4096)
				if _, err := c.Read(buf); err == nil {
					close(asked)
				}
				time.Sleep(10 * time.Second) // never answers
			}()
			cfg, err := krb.ParseConfig(fmt.Sprintf("[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n[realms]\n %s = {\n  kdc = tcp/%s\n }\n", fakeRealm, fakeRealm, ln.Addr()))
			require.NoError(t, err)
			return []krb.Option{krb.WithConfig(cfg)}, asked
		}},
		{"UDP wait", func(t *testing.T) ([]krb.Option, <-chan struct{}) {
			kdc, asked := silentUDP(t)
			cfg, err := krb.ParseConfig(fmt.Sprintf("[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n[realms]\n %s = {\n  kdc = %s\n }\n", fakeRealm, fakeRealm, kdc))
			require.NoError(t, err)
			return []krb.Option{krb.WithConfig(cfg)}, asked
		}},
	}
	for _, s := range stages {
		t.Run(s.name, func(t *testing.T) {
			opts, there := s.start(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := krb.GetInitialCreds(ctx, fakeClient, append(opts, krb.WithPassword(fakePW))...)
				done <- err
			}()
			select {
			case <-there:
			case err := <-done:
				t.Fatalf("the login ended before the stage: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("the login never reached the stage")
			}
			time.Sleep(20 * time.Millisecond) // well inside the stage
			cancel()
			at := time.Now()
			select {
			case err := <-done:
				took := time.Since(at)
				require.ErrorIs(t, err, context.Canceled)
				assert.Less(t, took, 100*time.Millisecond)
				t.Logf("returned %v after cancel", took)
			case <-time.After(10 * time.Second):
				t.Fatal("the login did not return after cancel")
			}
		})
	}
}

// silentUDP is a UDP server that reads and never answers (a silent DNS
// server or KDC); the channel is closed at the first datagram.
func silentUDP(t *testing.T) (string, <-chan struct{}) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	got := make(chan struct{})
	go func() {
		buf := make([]byte, 65536)
		first := true
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			if first {
				close(got)
				first = false
			}
		}
	}()
	return pc.LocalAddr().String(), got
}
