package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/ccache"
	"github.com/gokinit/gokinit/krb/krbtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sys "golang.org/x/sys/unix"
)

// collectionCase is one collection type under test: the collection name
// (KRB5CCNAME) and the krb5.conf lines its clients need.
type collectionCase struct {
	typ, name, libdefaults string
}

func collectionCases(t *testing.T) []collectionCase {
	var cases []collectionCase
	cases = append(cases, collectionCase{typ: "DIR", name: "DIR:" + filepath.Join(t.TempDir(), "cc")})
	if _, err := sys.KeyctlGetKeyringID(sys.KEY_SPEC_SESSION_KEYRING, false); err == nil {
		coll := fmt.Sprintf("gokinit_kinit_%d", os.Getpid())
		t.Cleanup(func() { unlinkKeyringCollection(coll) })
		cases = append(cases, collectionCase{typ: "KEYRING", name: "KEYRING:session:" + coll})
	} else {
		t.Logf("KEYRING skipped: kernel keyrings unavailable here (keyctl denied: %v)", err)
	}
	if ok, reason := krbtest.KCMAvailable(); ok {
		kcm := krbtest.NewKCM(t)
		cases = append(cases, collectionCase{typ: "KCM-sssd", name: "KCM:", libdefaults: kcm.Libdefaults()})
	} else {
		krbtest.SkipOrFail(t, reason)
	}
	if ok, reason := krbtest.HeimdalKCMAvailable(); ok {
		kcm := krbtest.NewHeimdalKCM(t)
		cases = append(cases, collectionCase{typ: "KCM-heimdal", name: "KCM:", libdefaults: kcm.Libdefaults()})
	} else {
		krbtest.SkipOrFail(t, reason)
	}
	return cases
}

// unlinkKeyringCollection removes a test's session collection keyring.
func unlinkKeyringCollection(coll string) {
	id, err := sys.KeyctlSearch(sys.KEY_SPEC_SESSION_KEYRING, "keyring", "_krb_"+coll, 0)
	if err != nil {
		return
	}
	sys.KeyctlInt(sys.KEYCTL_CLEAR, id, 0, 0, 0)
	for _, r := range []int{sys.KEY_SPEC_SESSION_KEYRING, sys.KEY_SPEC_USER_SESSION_KEYRING} {
		sys.KeyctlInt(sys.KEYCTL_UNLINK, id, r, 0, 0)
	}
}

// TestKinitCollections shows, for DIR, KEYRING and KCM (sssd-kcm and
// Heimdal's kcm) collections against MIT's KDC: our kinit writes and MIT's
// klist, klist -l, kswitch, kvno and kdestroy work on it; MIT's kinit
// writes and our kinit -R, -T and krb.TGTFromCCache read it; -v validates
// a postdated ticket; two principals in one collection with the right
// cache chosen for each; a failed login changes nothing; 20 logins at once
// leave 20 whole caches.
func TestKinitCollections(t *testing.T) {
	realm := krbtest.NewRealm(t)
	for _, p := range []string{"alice", "bob", "carol", "dave"} {
		require.NoError(t, realm.AddPrincipal(p, p+"-pw", krbtest.RequiresPreauth()))
	}
	for i := range 20 {
		require.NoError(t, realm.AddPrincipal(fmt.Sprintf("u%d", i), "u-pw"))
	}
	require.NoError(t, realm.AddRandomKeyPrincipal("host/svc.krbtest"))
	bin := kinitBinary(t)

	for _, cc := range collectionCases(t) {
		t.Run(cc.typ, func(t *testing.T) {
			conf, err := realm.WriteClientConfig(cc.libdefaults, "")
			require.NoError(t, err)
			env := append(realm.Env(), "KRB5_CONFIG="+conf, "KRB5CCNAME="+cc.name)
			mit := func(tool string, args ...string) string {
				t.Helper()
				cmd := realm.Command(tool, args...)
				cmd.Env = env
				out, err := cmd.CombinedOutput()
				require.NoError(t, err, "%s %v: %s", tool, args, out)
				return string(out)
			}
			mitFails := func(tool string, args ...string) string {
				cmd := realm.Command(tool, args...)
				cmd.Env = env
				out, err := cmd.CombinedOutput()
				require.Error(t, err, "%s %v: %s", tool, args, out)
				return string(out)
			}
			var opts []ccache.Option
			if cc.libdefaults != "" {
				opts = append(opts, ccache.WithKCMSocket(strings.TrimPrefix(cc.libdefaults, "kcm_socket = ")))
			}
			coll := ccache.NewCollection(cc.name, opts...)
			primary := func() string {
				p, err := coll.Default()
				require.NoError(t, err)
				pr, err := p.Principal()
				require.NoError(t, err)
				return pr.String()
			}
			cacheOf := func(name string) *ccache.CCache {
				c, err := coll.Match(ccache.Principal{NameType: 1, Realm: realm.Name, Components: []string{name}})
				require.NoError(t, err, name)
				return c
			}
			klistL := func() []string {
				var lines []string
				for _, l := range strings.Split(strings.TrimSpace(mit("klist", "-l")), "\n")[2:] {
					lines = append(lines, strings.Fields(l)[0])
				}
				return lines
			}

			// Our kinit writes; MIT's tools use it.
			r := runKinit(t, bin, env, "alice-pw\n", "-V", "alice")
			require.Equal(t, 0, r.code, r.stderr)
			assert.Contains(t, r.stderr, "Using default cache: ")
			assert.Contains(t, mit("klist"), "Default principal: "+realm.Principal("alice"))
			r = runKinit(t, bin, env, "bob-pw\n", "-V", "bob")
			require.Equal(t, 0, r.code, r.stderr)
			assert.Contains(t, r.stderr, "Using new cache: ", "bob must not overwrite alice")
			assert.Contains(t, mit("klist"), "Default principal: "+realm.Principal("bob"), "the new cache is the primary")
			assert.ElementsMatch(t, []string{realm.Principal("alice"), realm.Principal("bob")}, klistL())
			mit("kvno", "host/svc.krbtest")
			assert.Contains(t, mit("klist", "-c", cacheOf("bob").Name()), "host/svc.krbtest@"+realm.Name)

			// MIT's kswitch changes the primary; we see it. Our kinit picks
			// each principal's own cache and switches to it.
			mit("kswitch", "-p", "alice")
			assert.Equal(t, realm.Principal("alice"), primary())
			r = runKinit(t, bin, env, "bob-pw\n", "-V", "bob")
			require.Equal(t, 0, r.code, r.stderr)
			assert.Contains(t, r.stderr, "Using existing cache: "+cacheOf("bob").Residual())
			assert.Equal(t, realm.Principal("bob"), primary())
			assert.Len(t, klistL(), 2, "no third cache")
			mit("kswitch", "-c", cacheOf("alice").Name())
			r = runKinit(t, bin, env, "alice-pw\n") // no principal: the primary's
			require.Equal(t, 0, r.code, r.stderr)
			assert.Len(t, klistL(), 2)

			// A failed login leaves every cache as it was.
			before := map[string]string{}
			for _, p := range []string{"alice", "bob"} {
				before[p] = mit("klist", "-c", cacheOf(p).Name())
			}
			for _, p := range []string{"alice", "bob"} {
				r = runKinit(t, bin, env, "wrong\n", p)
				assert.Equal(t, 1, r.code)
				assert.Equal(t, "kinit: Password incorrect while getting initial credentials\n", r.stderr)
			}
			r = runKinit(t, bin, env, "wrong\n", "carol") // would have been a new cache
			assert.Equal(t, 1, r.code)
			r = runKinit(t, bin, env, "", "-R", "carol") // nothing to renew
			assert.Equal(t, 1, r.code)
			for _, p := range []string{"alice", "bob"} {
				assert.Equal(t, before[p], mit("klist", "-c", cacheOf(p).Name()), p)
			}
			assert.Len(t, klistL(), 2, "the failed login left no cache behind")

			// MIT's kinit writes; our kinit -R, -T and the library read.
			mitKinit := realm.Command("kinit", "-r", "2d", "-l", "1h", "carol")
			mitKinit.Env, mitKinit.Stdin = env, strings.NewReader("carol-pw\n")
			out, err := mitKinit.CombinedOutput()
			require.NoError(t, err, "%s", out)
			carol := cacheOf("carol")
			c1, err := carol.Read()
			require.NoError(t, err)
			tgt, err := krb.TGTFromCCache(c1, realm.Name)
			require.NoError(t, err)
			assert.Equal(t, realm.Principal("carol"), tgt.Client.String())
			// A postdated ticket in bob's cache, validated with -v below.
			r = runKinit(t, bin, env, "bob-pw\n", "-s", "1s", "bob")
			require.Equal(t, 0, r.code, r.stderr)
			assert.Regexp(t, `Flags: \w*d\w*i`, mit("klist", "-f", "-c", cacheOf("bob").Name()), "postdated, invalid")
			time.Sleep(1100 * time.Millisecond)
			r = runKinit(t, bin, env, "", "-R", "carol")
			require.Equal(t, 0, r.code, r.stderr)
			r = runKinit(t, bin, env, "", "-v", "bob")
			require.Equal(t, 0, r.code, r.stderr)
			assert.NotRegexp(t, `Flags: \w*i`, mit("klist", "-f", "-c", cacheOf("bob").Name()), "valid now")
			c2, err := cacheOf("carol").Read()
			require.NoError(t, err)
			tgt2, err := krb.TGTFromCCache(c2, realm.Name)
			require.NoError(t, err)
			assert.True(t, tgt2.StartTime.After(tgt.StartTime), "renewed")
			assert.Contains(t, mit("klist", "-c", carol.Name()), "renew until")
			r = runKinit(t, bin, env, "dave-pw\n", "-T", carol.Name(), "dave")
			require.Equal(t, 0, r.code, r.stderr)
			assert.Contains(t, mit("klist", "-c", cacheOf("dave").Name()), "Default principal: "+realm.Principal("dave"))

			// kdestroy: the primary, then all.
			mit("kswitch", "-p", "dave")
			mit("kdestroy")
			_, err = coll.Match(ccache.Principal{NameType: 1, Realm: realm.Name, Components: []string{"dave"}})
			assert.ErrorIs(t, err, ccache.ErrNoMatch)
			mit("kdestroy", "-A")
			mitFails("klist", "-l")

			// 20 logins at once into one collection that already has a
			// primary: 20 new caches, each whole.
			r = runKinit(t, bin, env, "alice-pw\n", "alice")
			require.Equal(t, 0, r.code, r.stderr)
			var wg sync.WaitGroup
			results := make([]kinitRun, 20)
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i] = runKinit(t, bin, env, "u-pw\n", fmt.Sprintf("u%d", i))
				}()
			}
			wg.Wait()
			for i, r := range results {
				require.Equal(t, 0, r.code, "u%d: %s", i, r.stderr)
			}
			assert.Len(t, klistL(), 21)
			for i := range 20 {
				u := fmt.Sprintf("u%d", i)
				assert.Contains(t, mit("klist", "-c", cacheOf(u).Name()), "Default principal: "+realm.Principal(u))
			}
			mit("kdestroy", "-A")
		})
	}
}

// TestCacheNameErrorsMatchMIT runs MIT's kinit and ours on names that fail
// before any KDC is asked: the same message and exit status.
func TestCacheNameErrorsMatchMIT(t *testing.T) {
	realm := krbtest.NewRealm(t)
	bin := kinitBinary(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-c", "API:"}, {"-c", "MSLSA:"}, {"-c", "XYZ:1"},
		{"-c", "KEYRING:bogus:x"}, {"-c", "KEYRING:persistent:abc"},
		{"-c", "DIR::" + dir + "/notkt"}, {"-c", "DIR::notkt"},
		{"-T", "API:"},
	} {
		args = append(args, "nobody")
		mit := realm.Command("kinit", args...)
		mit.Stdin = strings.NewReader("")
		mitOut, mitErr := mit.CombinedOutput()
		r := runKinit(t, bin, realm.Env(), "", args...)
		assert.Error(t, mitErr, "MIT %v", args)
		assert.Equal(t, 1, r.code, "%v", args)
		assert.Equal(t, string(mitOut), r.stderr, "%v", args)
	}
}
