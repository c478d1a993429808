package transport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// req stands for an encoded AS-REQ; its content is opaque to the transport.
var req = []byte("\x6a\x81\x90 fake AS-REQ carrying SECRET-PA-DATA")

func doExchange(t *testing.T, c *Client, tcpOnly bool) ([]byte, time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	reply, err := c.Exchange(ctx, "EXAMPLE.COM", req, tcpOnly)
	return reply, time.Since(start), err
}

func TestExchangeUDP(t *testing.T) {
	k := startKDC(t, "kdc1", answer, answer)
	c, tl := newTestClient(t, []string{k.addr()})

	reply, _, err := doExchange(t, c, false)
	require.NoError(t, err)
	assert.Equal(t, k.reply(), reply)
	assert.EqualValues(t, 1, k.udpReqs.Load())
	assert.EqualValues(t, 0, k.tcpReqs.Load())
	assert.Equal(t, [][]byte{req}, k.requests(), "the KDC gets the request unchanged")

	tr := tl.all()
	assert.Contains(t, tr, fmt.Sprintf("Sending request (%d bytes) to EXAMPLE.COM", len(req)))
	assert.Contains(t, tr, "Sending initial UDP request to dgram "+k.addr())
	assert.Contains(t, tr, "Received answer (15 bytes) from dgram "+k.addr())
}

func TestExchangeTCP(t *testing.T) {
	k := startKDC(t, "kdc1", answer, answer)
	c, tl := newTestClient(t, []string{k.addr()})

	reply, _, err := doExchange(t, c, true)
	require.NoError(t, err)
	assert.Equal(t, k.reply(), reply)
	assert.EqualValues(t, 0, k.udpReqs.Load())
	assert.EqualValues(t, 1, k.tcpReqs.Load())
	assert.Equal(t, [][]byte{req}, k.requests(), "the 4-byte length prefix is stripped by the KDC")

	tr := tl.all()
	assert.Contains(t, tr, fmt.Sprintf("Sending request (%d bytes) to EXAMPLE.COM (tcp only)", len(req)))
	assert.Contains(t, tr, "Initiating TCP connection to stream "+k.addr())
	assert.Contains(t, tr, "Sending TCP request to stream "+k.addr())
	assert.Contains(t, tr, "Received answer (15 bytes) from stream "+k.addr())
	assert.Contains(t, tr, "Terminating TCP connection to stream "+k.addr())
}

func TestExchangeTCPOnlySkipsUDPEntries(t *testing.T) {
	k1 := startKDC(t, "udp-only", answer, answer)
	k2 := startKDC(t, "kdc2", answer, answer)
	c, _ := newTestClient(t, []string{"udp/" + k1.addr(), k2.addr()})

	reply, _, err := doExchange(t, c, true)
	require.NoError(t, err)
	assert.Equal(t, k2.reply(), reply)
	assert.EqualValues(t, 0, k1.udpReqs.Load()+k1.tcpReqs.Load())
}

func TestUDPPreferenceLimit(t *testing.T) {
	big := bytes.Repeat([]byte{'x'}, 2000)
	tests := []struct {
		name        string
		libdefaults []string
		req         []byte
		udp, tcp    behaviour
		wantUDP     int32
		wantTCP     int32
	}{
		{"default limit, small request: UDP", nil, req, answer, answer, 1, 0},
		{"default limit, 2000-byte request: TCP", nil, big, answer, answer, 0, 1},
		{"limit 1: TCP first", []string{"udp_preference_limit = 1"}, req, answer, answer, 0, 1},
		{"limit 1: UDP still tried when TCP fails", []string{"udp_preference_limit = 1"}, req, answer, closeConn, 1, 1},
		{"limit 2000: 2000 bytes over UDP", []string{"udp_preference_limit = 2000"}, big, answer, answer, 1, 0},
		{"UDP fails: TCP after it", nil, req, empty, answer, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := startKDC(t, "kdc1", tt.udp, tt.tcp)
			c, _ := newTestClient(t, []string{k.addr()}, tt.libdefaults...)
			reply, err := c.Exchange(context.Background(), "EXAMPLE.COM", tt.req, false)
			require.NoError(t, err)
			assert.Equal(t, k.reply(), reply)
			assert.Equal(t, tt.wantUDP, k.udpReqs.Load(), "UDP requests")
			assert.Equal(t, tt.wantTCP, k.tcpReqs.Load(), "TCP requests")
		})
	}
}

func TestUDPPreferenceLimitValues(t *testing.T) {
	c := New(nil)
	assert.Equal(t, DefaultUDPPreferenceLimit, c.udpPreferenceLimit(), "no config: MIT default")
	c = New(testConfig(t, "EXAMPLE.COM", nil))
	assert.Equal(t, 1465, c.udpPreferenceLimit())
	c.Config.LibDefaults.UDPPreferenceLimit = -5
	assert.Equal(t, 1465, c.udpPreferenceLimit())
	c.Config.LibDefaults.UDPPreferenceLimit = 100000
	assert.Equal(t, 32700, c.udpPreferenceLimit())
	assert.Equal(t, noUDP, c.strategy(10, true))
	assert.Equal(t, udpFirst, c.strategy(32700, false))
	assert.Equal(t, udpLast, c.strategy(32701, false))
}

func TestResponseTooBigRetriesOverTCP(t *testing.T) {
	k := startKDC(t, "kdc1", tooBig, answer)
	c, tl := newTestClient(t, []string{k.addr()})

	reply, _, err := doExchange(t, c, false)
	require.NoError(t, err)
	assert.Equal(t, k.reply(), reply, "the TCP reply, not the KRB-ERROR")
	assert.EqualValues(t, 1, k.udpReqs.Load())
	assert.EqualValues(t, 1, k.tcpReqs.Load())
	assert.Equal(t, [][]byte{req, req}, k.requests(), "the same request, resent")
	assert.Contains(t, tl.all(), "Received KRB_ERR_RESPONSE_TOO_BIG from dgram "+k.addr()+"; retrying over TCP")
	assert.Contains(t, tl.all(), "Received answer (15 bytes) from stream "+k.addr())
}

func TestResponseTooBigOverTCPIsTheCallersReply(t *testing.T) {
	k := startKDC(t, "kdc1", answer, tooBig)
	c, _ := newTestClient(t, []string{k.addr()})
	reply, _, err := doExchange(t, c, true)
	require.NoError(t, err)
	code, ok := krbErrorCode(reply)
	assert.True(t, ok)
	assert.EqualValues(t, codeResponseTooBig, code)
}

func TestDeadFirstKDCIsSkippedAtOnce(t *testing.T) {
	dead := deadAddr(t)
	k := startKDC(t, "kdc2", answer, answer)
	c, tl := newTestClient(t, []string{dead, k.addr()}) // default 1 s wait

	reply, took, err := doExchange(t, c, false)
	require.NoError(t, err)
	assert.Equal(t, k.reply(), reply)
	assert.Less(t, took, 800*time.Millisecond, "a refused KDC must not cost the 1 s per-KDC wait")
	assert.Contains(t, tl.all(), "UDP error receiving from dgram "+dead)
	t.Logf("took %v", took)
}

func TestDeadFirstKDCOverTCP(t *testing.T) {
	dead := deadAddr(t)
	k := startKDC(t, "kdc2", answer, answer)
	c, _ := newTestClient(t, []string{dead, k.addr()})

	reply, took, err := doExchange(t, c, true)
	require.NoError(t, err)
	assert.Equal(t, k.reply(), reply)
	assert.Less(t, took, 800*time.Millisecond)
}

func TestSilentFirstKDCThenNext(t *testing.T) {
	k1 := startKDC(t, "silent", silent, silent)
	k2 := startKDC(t, "kdc2", answer, answer)
	c, _ := newTestClient(t, []string{k1.addr(), k2.addr()}) // MIT's 1 s

	reply, took, err := doExchange(t, c, false)
	require.NoError(t, err)
	assert.Equal(t, k2.reply(), reply)
	assert.GreaterOrEqual(t, took, 950*time.Millisecond, "the silent KDC gets its 1 s")
	assert.Less(t, took, 1900*time.Millisecond)
	assert.EqualValues(t, 1, k1.udpReqs.Load())
	t.Logf("took %v", took)
}

func TestLateAnswerFromEarlierKDCWins(t *testing.T) {
	k1 := startKDC(t, "slow", slowAnswer, closeConn) // answers UDP after 150 ms
	k2 := startKDC(t, "silent", silent, closeConn)
	c, _ := newTestClient(t, []string{k1.addr(), k2.addr()})
	c.PerKDCWait = 50 * time.Millisecond

	reply, took, err := doExchange(t, c, false)
	require.NoError(t, err)
	assert.Equal(t, k1.reply(), reply, "the first KDC stays in the race after its wait")
	assert.EqualValues(t, 1, k2.udpReqs.Load(), "the second KDC was contacted meanwhile")
	assert.Less(t, took, time.Second)
}

func TestUDPIsResentOnLaterPasses(t *testing.T) {
	k := startKDC(t, "lossy", answerSecond, closeConn)
	c, tl := newTestClient(t, []string{k.addr()})
	c.PerKDCWait = 20 * time.Millisecond

	reply, _, err := doExchange(t, c, false)
	require.NoError(t, err)
	assert.Equal(t, k.reply(), reply)
	assert.EqualValues(t, 2, k.udpReqs.Load())
	assert.Contains(t, tl.all(), "Sending retry UDP request to dgram "+k.addr())
}

func TestSilentKDCGivesUpAfterThreePasses(t *testing.T) {
	k := startKDC(t, "silent", silent, closeConn)
	c, _ := newTestClient(t, []string{k.addr()})
	c.PerKDCWait = 20 * time.Millisecond

	_, took, err := doExchange(t, c, false)
	require.ErrorIs(t, err, ErrKDCUnreachable)
	assert.EqualValues(t, maxPass, k.udpReqs.Load(), "one send per pass")
	assert.Contains(t, err.Error(), "udp "+k.addr()+": no answer (timed out)")
	assert.Contains(t, err.Error(), "tcp "+k.addr()+": connection closed without a reply: EOF")
	// 20 ms per send and per failed TCP, then waits of 40, 80 and 160 ms.
	assert.Less(t, took, 2*time.Second)
	t.Logf("took %v: %v", took, err)
}

func TestOverallTimeout(t *testing.T) {
	k := startKDC(t, "silent", silent, silent)
	c, _ := newTestClient(t, []string{k.addr()})
	c.Timeout = 300 * time.Millisecond

	_, took, err := doExchange(t, c, false)
	require.ErrorIs(t, err, ErrKDCUnreachable)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "our own bound is not the caller's deadline")
	assert.GreaterOrEqual(t, took, 300*time.Millisecond)
	assert.Less(t, took, 1500*time.Millisecond)
	assert.Contains(t, err.Error(), "no answer (timed out)")
}

func TestEstablishedTCPIsWaitedFor(t *testing.T) {
	k1 := startKDCDelay(t, "slow", slowAnswer, slowAnswer, 300*time.Millisecond)
	k2 := startKDC(t, "kdc2", answer, answer)
	c, _ := newTestClient(t, []string{k1.addr(), k2.addr()})
	c.PerKDCWait = 50 * time.Millisecond

	reply, _, err := doExchange(t, c, true)
	require.NoError(t, err)
	assert.Equal(t, k1.reply(), reply, "a connected KDC is given TCPReplyTimeout, not PerKDCWait")
	assert.EqualValues(t, 0, k2.tcpReqs.Load())
}

func TestTCPReplyTimeout(t *testing.T) {
	k1 := startKDC(t, "silent", silent, silent)
	k2 := startKDC(t, "kdc2", answer, answer)
	c, _ := newTestClient(t, []string{k1.addr(), k2.addr()})
	c.TCPReplyTimeout = 100 * time.Millisecond

	reply, took, err := doExchange(t, c, true)
	require.NoError(t, err)
	assert.Equal(t, k2.reply(), reply)
	assert.Less(t, took, 3*time.Second, "not DefaultTCPReplyTimeout")
}

func TestAllDead(t *testing.T) {
	dead1, dead2 := deadAddr(t), deadAddr(t)
	c, _ := newTestClient(t, []string{dead1, dead2})

	_, took, err := doExchange(t, c, false)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrKDCUnreachable)
	assert.NotErrorIs(t, err, ErrNoKDC)
	var ue *UnreachableError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "EXAMPLE.COM", ue.Realm)
	var kdcs []string
	for _, a := range ue.Attempts {
		kdcs = append(kdcs, a.KDC)
	}
	assert.Equal(t, []string{"udp " + dead1, "udp " + dead2, "tcp " + dead1, "tcp " + dead2}, kdcs,
		"UDP to each KDC first, then the deferred TCP")
	msg := err.Error()
	assert.Contains(t, msg, "cannot contact any KDC for realm EXAMPLE.COM")
	assert.Contains(t, msg, "udp "+dead1+": receive: connection refused")
	assert.Contains(t, msg, "tcp "+dead2+": connect: connection refused")
	assert.Less(t, took, 800*time.Millisecond)
	t.Logf("took %v: %v", took, err)
}

func TestBadTCPFrames(t *testing.T) {
	tests := []struct {
		name  string
		b     behaviour
		check func(t *testing.T, err error)
	}{
		{"truncated", truncated, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
			assert.Contains(t, err.Error(), "short read: 10 of 100 reply bytes")
		}},
		{"high bit prefix", highBitPrefix, func(t *testing.T, err error) {
			var tl *ReplyTooLargeError
			require.ErrorAs(t, err, &tl)
			assert.EqualValues(t, 0x80000000, tl.Length)
			assert.Contains(t, err.Error(), "high bit reserved by RFC 4120 §7.2.2 is set")
		}},
		{"oversized prefix", oversizedPrefix, func(t *testing.T, err error) {
			var tl *ReplyTooLargeError
			require.ErrorAs(t, err, &tl)
			assert.EqualValues(t, 5<<20, tl.Length)
			assert.Contains(t, err.Error(), "declares 5242880 bytes: over the 4194304-byte limit")
		}},
		{"closed", closeConn, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, io.EOF)
			assert.Contains(t, err.Error(), "connection closed without a reply")
		}},
		{"empty frame", empty, func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "empty reply")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/alone", func(t *testing.T) {
			k := startKDC(t, "bad", answer, tt.b)
			c, _ := newTestClient(t, []string{k.addr()})
			_, _, err := doExchange(t, c, true)
			require.ErrorIs(t, err, ErrKDCUnreachable)
			assert.Contains(t, err.Error(), "tcp "+k.addr()+": ")
			tt.check(t, err)
			t.Log(err)
		})
		t.Run(tt.name+"/next KDC tried", func(t *testing.T) {
			k1 := startKDC(t, "bad", answer, tt.b)
			k2 := startKDC(t, "kdc2", answer, answer)
			c, _ := newTestClient(t, []string{k1.addr(), k2.addr()})
			reply, took, err := doExchange(t, c, true)
			require.NoError(t, err)
			assert.Equal(t, k2.reply(), reply)
			assert.Less(t, took, 2*time.Second, "a bad frame fails the KDC at once, not after TCPReplyTimeout")
		})
	}
}

func TestGarbageIsTheCallersToJudge(t *testing.T) {
	for _, b := range []behaviour{garbage, garbageKRBErr} {
		k := startKDC(t, "kdc1", b, b)
		c, _ := newTestClient(t, []string{k.addr()})
		for _, tcpOnly := range []bool{false, true} {
			reply, _, err := doExchange(t, c, tcpOnly)
			require.NoError(t, err)
			assert.Equal(t, k.response(b), reply)
		}
	}
}

func TestSvcUnavailableTriesNextKDC(t *testing.T) {
	k1 := startKDC(t, "busy", svcUnavailable, svcUnavailable)
	k2 := startKDC(t, "kdc2", answer, answer)
	c, tl := newTestClient(t, []string{k1.addr(), k2.addr()})

	reply, took, err := doExchange(t, c, false)
	require.NoError(t, err)
	assert.Equal(t, k2.reply(), reply)
	assert.Less(t, took, 800*time.Millisecond)
	assert.Contains(t, tl.all(), "Received KDC_ERR_SVC_UNAVAILABLE from dgram "+k1.addr())
}

func TestAllSvcUnavailable(t *testing.T) {
	k := startKDC(t, "busy", svcUnavailable, svcUnavailable)
	c, _ := newTestClient(t, []string{k.addr()})

	_, _, err := doExchange(t, c, false)
	assert.ErrorIs(t, err, ErrKDCUnreachable)
	assert.ErrorIs(t, err, ErrServiceUnavailable)
	assert.EqualValues(t, 1, k.udpReqs.Load())
	assert.EqualValues(t, 1, k.tcpReqs.Load())
}

func TestContextCancelledMidWait(t *testing.T) {
	k := startKDC(t, "silent", silent, silent)
	c, _ := newTestClient(t, []string{k.addr()})

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Exchange(ctx, "EXAMPLE.COM", req, false)
	took := time.Since(start)
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrKDCUnreachable)
	assert.Contains(t, err.Error(), "EXAMPLE.COM")
	assert.Less(t, took, 700*time.Millisecond)
	t.Logf("took %v", took)
}

func TestContextDeadlineDuringTCP(t *testing.T) {
	k := startKDC(t, "silent", silent, silent)
	c, _ := newTestClient(t, []string{k.addr()})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Exchange(ctx, "EXAMPLE.COM", req, true)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 700*time.Millisecond)
}

func TestContextAlreadyCancelled(t *testing.T) {
	k := startKDC(t, "kdc1", answer, answer)
	c, _ := newTestClient(t, []string{k.addr()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Exchange(ctx, "EXAMPLE.COM", req, false)
	require.ErrorIs(t, err, context.Canceled)
}

func TestUnresolvableKDCIsSkipped(t *testing.T) {
	k := startKDC(t, "kdc2", answer, answer)
	c, _ := newTestClient(t, []string{"nowhere.invalid:88", "kdc2.test:" + itoa(k.port)})
	c.Resolver = &fakeResolver{hosts: map[string][]netip.Addr{"kdc2.test": {netip.MustParseAddr("127.0.0.1")}}}
	tl := &traceLog{t: t}
	c.Trace = tl.trace

	reply, _, err := doExchange(t, c, false)
	require.NoError(t, err)
	assert.Equal(t, k.reply(), reply)
	assert.Contains(t, tl.all(), "Resolving hostname nowhere.invalid")

	c.Config = testConfig(t, "EXAMPLE.COM", []string{"nowhere.invalid:88"})
	_, _, err = doExchange(t, c, false)
	require.ErrorIs(t, err, ErrKDCUnreachable)
	assert.Contains(t, err.Error(), "nowhere.invalid:88: cannot resolve: lookup nowhere.invalid")
}

func TestIPv6Loopback(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skip("no IPv6 loopback:", err)
	} else {
		ln.Close()
	}
	k := startKDCOn(t, "::1", "kdc6", answer, answer, 0)
	c, tl := newTestClient(t, []string{"[::1]:" + itoa(k.port)})
	for _, tcpOnly := range []bool{false, true} {
		reply, _, err := doExchange(t, c, tcpOnly)
		require.NoError(t, err)
		assert.Equal(t, k.reply(), reply)
	}
	assert.Contains(t, tl.all(), "Sending initial UDP request to dgram [::1]:"+itoa(k.port))
	assert.Contains(t, tl.all(), "Received answer (15 bytes) from stream [::1]:"+itoa(k.port))
}

func TestNoSecretInTraceOrError(t *testing.T) {
	dead := deadAddr(t)
	k := startKDC(t, "kdc1", tooBig, answer)
	c, tl := newTestClient(t, []string{dead, k.addr()})
	_, _, err := doExchange(t, c, false)
	require.NoError(t, err)

	c.Config = testConfig(t, "EXAMPLE.COM", []string{dead})
	_, _, err = doExchange(t, c, false)
	require.Error(t, err)

	for _, text := range []string{tl.all(), err.Error()} {
		assert.NotContains(t, text, "SECRET")
		assert.NotContains(t, strings.ToLower(text), "736543524554") // hex of "SECRET", any case
		assert.NotContains(t, text, "reply from")
	}
}

func TestConcurrentExchanges(t *testing.T) {
	k := startKDC(t, "kdc1", answer, answer)
	c := New(testConfig(t, "EXAMPLE.COM", []string{k.addr()}))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply, err := c.Exchange(context.Background(), "EXAMPLE.COM", req, i%2 == 0)
			assert.NoError(t, err)
			assert.Equal(t, k.reply(), reply)
		}()
	}
	wg.Wait()
}

func TestExchangeInputErrors(t *testing.T) {
	c := New(testConfig(t, "EXAMPLE.COM", []string{"127.0.0.1:1"}))
	_, err := c.Exchange(context.Background(), "EXAMPLE.COM", nil, false)
	assert.ErrorContains(t, err, "empty request")

	_, err = c.Exchange(context.Background(), "", req, true)
	assert.ErrorIs(t, err, ErrKDCUnreachable, "empty realm means default_realm")

	c.Config = testConfig(t, "EXAMPLE.COM", []string{"kdc:notaport"})
	_, err = c.Exchange(context.Background(), "EXAMPLE.COM", req, false)
	assert.ErrorContains(t, err, `bad port "notaport"`)
	assert.NotErrorIs(t, err, ErrKDCUnreachable, "a broken krb5.conf is not a network failure")
}

func TestKRBErrorCode(t *testing.T) {
	code, ok := krbErrorCode(krbErrorBytes(t, codeSvcUnavailable))
	assert.True(t, ok)
	assert.EqualValues(t, codeSvcUnavailable, code)

	for _, b := range [][]byte{nil, {}, {0x7e}, {0x7e, 0x80}, []byte("reply"), {0x6b, 0x03, 0x02, 0x01, 0x05}} {
		_, ok := krbErrorCode(b)
		assert.False(t, ok, "%x", b)
	}
	valid := krbErrorBytes(t, codeResponseTooBig)
	for i := range valid {
		krbErrorCode(valid[:i]) // must not panic
	}
}
