package ccache

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/types"
)

// klist runs MIT's klist on the FILE cache at path with extra flags, in the C
// locale and UTC so that its dates are predictable, and with an empty
// krb5.conf so that the machine's configuration does not matter. Without
// klist the test is skipped, or fails when KRBTEST_REQUIRE=1.
func klist(t *testing.T, path string, flags ...string) string {
	t.Helper()
	bin, err := exec.LookPath("klist")
	if err != nil {
		krbtest.SkipOrFail(t, fmt.Sprintf("MIT klist not installed: %v", err))
	}
	conf := filepath.Join(t.TempDir(), "krb5.conf")
	noErr(t, os.WriteFile(conf, nil, 0o600))
	cmd := exec.Command(bin, append(flags, "-c", "FILE:"+path)...)
	cmd.Env = []string{"TZ=UTC", "LC_ALL=C", "KRB5_CONFIG=" + conf, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("klist %v: %v\n%s", flags, err, out)
	}
	return string(out)
}

// klistTime formats t as klist prints it in the C locale.
func klistTime(t time.Time) string { return t.UTC().Format("01/02/06 15:04:05") }

func contains(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("klist output lacks %q:\n%s", w, out)
		}
	}
}

func interopCache(t *testing.T) *Cache {
	c := sampleCache(t)
	c.Credentials[0].Addresses[1].Data = net.ParseIP("2001:db8::1")
	return c
}

func TestKlistReadsOurCache(t *testing.T) {
	c := interopCache(t)
	path := filepath.Join(t.TempDir(), "cc")
	noErr(t, WriteFile(path, c))
	tgt, u2u := c.Credentials[0], c.Credentials[1]

	out := klist(t, path)
	contains(t, out,
		"Ticket cache: FILE:"+path+"\n",
		"Default principal: alice@EXAMPLE.COM\n",
		klistTime(tgt.StartTime)+"  "+klistTime(tgt.EndTime)+"  krbtgt/EXAMPLE.COM@EXAMPLE.COM\n",
		"\trenew until "+klistTime(tgt.RenewTill)+"\n",
		// Without a starttime klist shows the authtime.
		klistTime(u2u.AuthTime)+"  "+klistTime(u2u.EndTime)+"  HTTP/www.example.com@EXAMPLE.COM\n",
	)
	check(t, !strings.Contains(out, "config"), "config entries hidden without -C")

	out = klist(t, path, "-f")
	contains(t, out,
		"\trenew until "+klistTime(tgt.RenewTill)+", Flags: FRIA\n",
		"HTTP/www.example.com@EXAMPLE.COM\n\tFlags: fO\n",
	)

	out = klist(t, path, "-C")
	contains(t, out,
		"config: fast_avail(krbtgt/EXAMPLE.COM@EXAMPLE.COM) = yes\n",
		"config: pa_type(krbtgt/EXAMPLE.COM@EXAMPLE.COM) = 2\n",
	)

	out = klist(t, path, "-e", "-a", "-d")
	contains(t, out,
		"Etype (skey, tkt): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96",
		"AD types: 1, -129",
		"Addresses: 192.0.2.7, 2001:db8::1\n",
	)
}

func TestKlistSkipsRemovedEntries(t *testing.T) {
	c := interopCache(t)
	// MIT's in-place removal mark, which every MIT release since 1.18 skips.
	c.Credentials[0].EndTime = time.Time{}
	c.Credentials[0].AuthTime = unix(0xffffffff)
	path := filepath.Join(t.TempDir(), "cc")
	noErr(t, WriteFile(path, c))
	out := klist(t, path)
	check(t, !strings.Contains(out, "krbtgt/EXAMPLE.COM@EXAMPLE.COM\n"), "removed TGT shown:\n", out)
	contains(t, out, "HTTP/www.example.com@EXAMPLE.COM\n")
	_, ok := c.Find(tgs)
	check(t, !ok, "Find agrees with MIT")
}

// TestKlistReadsHandBuiltV3 validates the hand-built version 3 test data
// against MIT's reader.
func TestKlistReadsHandBuiltV3(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cc")
	noErr(t, os.WriteFile(path, handV3(), 0o600))
	out := klist(t, path, "-f", "-a")
	contains(t, out,
		"Default principal: alice@EXAMPLE.COM\n",
		klistTime(unix(1700000000))+"  "+klistTime(unix(1700036000))+"  krbtgt/EXAMPLE.COM@EXAMPLE.COM\n",
		"\tFlags: FI\n",
		"\tAddresses: 10.0.0.1\n",
	)
}

// TestGokrb5ReadsOurCache reads our output with gokrb5's ccache parser and
// compares every field.
func TestGokrb5ReadsOurCache(t *testing.T) {
	c := interopCache(t)
	path := filepath.Join(t.TempDir(), "cc")
	noErr(t, WriteFile(path, c))
	g, err := credentials.LoadCCache(path)
	noErr(t, err)

	eq(t, int(g.Version), 4)
	eqPrincipal(t, "default", g.DefaultPrincipal.Realm, g.DefaultPrincipal.PrincipalName, c.DefaultPrincipal)
	if len(g.Credentials) != len(c.Credentials) {
		t.Fatalf("gokrb5 read %d credentials, want %d", len(g.Credentials), len(c.Credentials))
	}
	for i, gc := range g.Credentials {
		want := c.Credentials[i]
		eqPrincipal(t, "client", gc.Client.Realm, gc.Client.PrincipalName, want.Client)
		eqPrincipal(t, "server", gc.Server.Realm, gc.Server.PrincipalName, want.Server)
		eq(t, gc.Key.KeyType, want.KeyType, i)
		check(t, bytes.Equal(gc.Key.KeyValue, want.Key), i, " key")
		for j, pair := range [][2]time.Time{
			{gc.AuthTime, want.AuthTime}, {gc.StartTime, want.StartTime},
			{gc.EndTime, want.EndTime}, {gc.RenewTill, want.RenewTill},
		} {
			eq(t, pair[0].Unix(), unixOrZero(pair[1]), i, " time ", j)
		}
		eq(t, gc.IsSKey, want.IsSKey, i)
		eq(t, gc.TicketFlags.Bytes, binary.BigEndian.AppendUint32(nil, want.TicketFlags), i)
		eq(t, len(gc.Addresses), len(want.Addresses), i)
		for j, a := range gc.Addresses {
			eq(t, a, types.HostAddress{AddrType: want.Addresses[j].Type, Address: want.Addresses[j].Data}, i)
		}
		eq(t, len(gc.AuthData), len(want.AuthData), i)
		for j, ad := range gc.AuthData {
			eq(t, ad, types.AuthorizationDataEntry{ADType: want.AuthData[j].Type, ADData: want.AuthData[j].Data}, i)
		}
		check(t, bytes.Equal(gc.Ticket, want.Ticket), i, " ticket")
		check(t, bytes.Equal(gc.SecondTicket, want.SecondTicket), i, " second ticket")
	}
	// gokrb5's own view of the entries agrees with ours.
	eq(t, len(g.GetEntries()), 2)
	gt, ok := g.GetEntry(types.PrincipalName{NameType: tgs.NameType, NameString: tgs.Components})
	check(t, ok && gt.Key.KeyType == 18, "gokrb5 finds the TGT")
}

func eqPrincipal(t *testing.T, what, realm string, name types.PrincipalName, want Principal) {
	t.Helper()
	eq(t, realm, want.Realm, what, " realm")
	eq(t, name.NameType, want.NameType, what, " name type")
	eq(t, name.NameString, want.Components, what, " components")
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
