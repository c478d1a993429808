package ccache

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gokinit/gokinit/krb/krbtest"
)

// ccType is one cache type under test: a fresh collection name and the
// krb5.conf lines MIT's tools need to reach it.
type ccType struct {
	name, typ  string
	collection func(t *testing.T) string
	kcm        func(t testing.TB) *krbtest.KCM // the KCM daemon, for KCM types
}

// sharedDaemon starts a KCM daemon once for the package's tests.
type sharedDaemon struct {
	once      sync.Once
	kcm       *krbtest.KCM
	err       error
	available func() (bool, string)
	start     func() (*krbtest.KCM, error)
}

func (d *sharedDaemon) get(t testing.TB) *krbtest.KCM {
	t.Helper()
	if ok, reason := d.available(); !ok {
		krbtest.SkipOrFail(t, reason)
	}
	d.once.Do(func() { d.kcm, d.err = d.start() })
	if d.err != nil {
		t.Fatal(d.err)
	}
	return d.kcm
}

var (
	sssdKCM    = &sharedDaemon{available: krbtest.KCMAvailable, start: krbtest.StartKCM}
	heimdalKCM = &sharedDaemon{available: krbtest.HeimdalKCMAvailable, start: krbtest.StartHeimdalKCM}
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range []*sharedDaemon{sssdKCM, heimdalKCM} {
		if d.kcm != nil {
			d.kcm.Close()
		}
	}
	krbtest.CloseShared()
	os.Exit(code)
}

// keyringUsable skips the test with one line when this kernel or sandbox
// denies keyctl.
func keyringUsable(t testing.TB) {
	t.Helper()
	if err := keyctlProbe(); err != nil {
		t.Skipf("kernel keyrings unavailable here (keyctl denied: %v)", err)
	}
}

var keyringSeq struct {
	sync.Mutex
	n int
}

func kcmType(name string, d *sharedDaemon) ccType {
	return ccType{name: name, typ: TypeKCM, kcm: d.get, collection: func(t *testing.T) string {
		k := d.get(t)
		// One daemon serves all tests: start from an empty collection.
		for _, c := range mustList(t, NewCollection("KCM:", WithKCMSocket(k.Socket))) {
			c.Destroy()
		}
		return "KCM:"
	}}
}

func collectionTypes() []ccType {
	return []ccType{
		{name: TypeDir, typ: TypeDir, collection: func(t *testing.T) string { return "DIR:" + filepath.Join(t.TempDir(), "cc") }},
		{name: TypeKeyring, typ: TypeKeyring, collection: func(t *testing.T) string {
			keyringUsable(t)
			keyringSeq.Lock()
			keyringSeq.n++
			n := keyringSeq.n
			keyringSeq.Unlock()
			coll := fmt.Sprintf("gokinit_test_%d_%d", os.Getpid(), n)
			t.Cleanup(func() { destroyKeyringCollection("session", coll) })
			return "KEYRING:session:" + coll
		}},
		kcmType("KCM-sssd", sssdKCM),
		kcmType("KCM-heimdal", heimdalKCM),
		{name: TypeMemory, typ: TypeMemory, collection: func(t *testing.T) string { return "MEMORY:" + t.Name() }},
	}
}

func mustList(t *testing.T, c *Collection) []*CCache {
	t.Helper()
	l, err := c.List()
	noErr(t, err, "List")
	return l
}

func (ct ccType) options(t testing.TB) []Option {
	if ct.kcm != nil {
		return []Option{WithKCMSocket(ct.kcm(t).Socket)}
	}
	return nil
}

func principalCache(t testing.TB, name string) *Cache {
	c := sampleCache(t)
	p := Principal{NameType: 1, Realm: "EXAMPLE.TEST", Components: []string{name}}
	c.DefaultPrincipal = p
	end := time.Now().Add(time.Hour).Truncate(time.Second).UTC()
	for i := range c.Credentials {
		c.Credentials[i].Client = p
		if !c.Credentials[i].EndTime.IsZero() {
			// Current, so that the kernel does not expire keyring caches.
			c.Credentials[i].EndTime = end
			if !c.Credentials[i].RenewTill.IsZero() {
				c.Credentials[i].RenewTill = end
			}
		}
	}
	return c
}

func TestCollections(t *testing.T) {
	for _, ct := range collectionTypes() {
		t.Run(ct.name, func(t *testing.T) {
			defName := ct.collection(t)
			opts := ct.options(t)
			coll := NewCollection(defName, opts...)
			def, err := coll.Default()
			noErr(t, err, "Default")
			eq(t, def.Type(), ct.typ)
			_, err = def.Read()
			isErr(t, err, ErrNotFound, "empty default")

			alice := principalCache(t, "alice")
			noErr(t, def.Write(alice), "Write")
			got, err := def.Read()
			noErr(t, err, "Read")
			alice.Version = 4
			if ct.typ == TypeKeyring || ct.typ == TypeKCM {
				// Keyrings and sssd keep no order among credentials, for
				// MIT either.
				sortCreds(got)
				sortCreds(alice)
			}
			if ct.typ == TypeKCM {
				alice.KDCOffset = alice.KDCOffset.Truncate(time.Second) // KCM keeps seconds
			}
			eq(t, got, alice, "read back")
			p, err := def.Principal()
			noErr(t, err)
			eq(t, p, alice.DefaultPrincipal)

			// The full name resolves to the same cache.
			again, err := Resolve(def.Name(), opts...)
			noErr(t, err, def.Name())
			got, err = again.Read()
			noErr(t, err, "read by full name")
			eq(t, got.DefaultPrincipal, alice.DefaultPrincipal)

			// A second principal gets a new cache; Match finds each.
			bob := principalCache(t, "bob")
			if _, err := coll.Match(bob.DefaultPrincipal); !errors.Is(err, ErrNoMatch) {
				t.Fatalf("Match(bob) before bob logged in: %v", err)
			}
			nc, err := coll.NewUnique()
			noErr(t, err, "NewUnique")
			if nc.Name() == def.Name() {
				t.Fatalf("NewUnique returned the primary %s", nc.Name())
			}
			_, err = nc.Read()
			isErr(t, err, ErrNotFound, "new cache before write")
			noErr(t, nc.Write(bob))
			for _, pc := range []*Cache{alice, bob} {
				m, err := coll.Match(pc.DefaultPrincipal)
				noErr(t, err, "Match")
				mp, _ := m.Principal()
				eq(t, mp, pc.DefaultPrincipal)
			}
			if ct.typ == TypeMemory {
				return // no primary to switch
			}
			list := mustList(t, coll)
			check(t, len(list) == 2, "List: ", list)
			// sssd makes the first new cache of a user its default.
			primary, err := coll.Default()
			noErr(t, err)
			eq(t, list[0].Name(), primary.Name(), "primary first")

			// Switching makes bob's cache what the collection name resolves to.
			noErr(t, nc.Switch(), "Switch")
			def2, err := coll.Default()
			noErr(t, err)
			eq(t, def2.Name(), nc.Name(), "primary after switch")
			eq(t, mustList(t, coll)[0].Name(), nc.Name(), "List after switch")

			noErr(t, nc.Destroy(), "Destroy")
			_, err = nc.Read()
			isErr(t, err, ErrNotFound, "after Destroy")
		})
	}
}

// TestConcurrentWrites writes one cache from many goroutines while others
// read it: every read sees a whole cache.
func TestConcurrentWrites(t *testing.T) {
	for _, ct := range collectionTypes() {
		t.Run(ct.name, func(t *testing.T) {
			cc, err := Resolve(ct.collection(t), ct.options(t)...)
			noErr(t, err)
			noErr(t, cc.Write(principalCache(t, "p0")))
			var wg sync.WaitGroup
			errs := make(chan error, 40)
			for i := range 10 {
				wg.Add(2)
				go func() {
					defer wg.Done()
					errs <- cc.Write(principalCache(t, fmt.Sprintf("p%d", i)))
				}()
				go func() {
					defer wg.Done()
					if ct.kcm != nil && noReplace(ct.kcm(t).Socket) {
						// Without REPLACE a KCM write is INITIALIZE and
						// STOREs, which a reader may see half done.
						errs <- nil
						return
					}
					c, err := cc.Read()
					if err == nil && !whole(c) {
						err = fmt.Errorf("torn cache: %d credentials, principal %s", len(c.Credentials), c.DefaultPrincipal)
					}
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			c, err := cc.Read()
			noErr(t, err)
			check(t, whole(c), "final cache torn")
			for err := range errs {
				noErr(t, err)
			}
		})
	}
}

func TestResolveNames(t *testing.T) {
	for _, name := range []string{"API:", "API:x", "MSLSA:", "file:/tmp/x", "XYZ:1"} {
		_, err := Resolve(name)
		isErr(t, err, ErrUnknownType, name)
		eq(t, err.Error(), "Unknown credential cache type", name)
	}
	for name, want := range map[string]string{
		"/tmp/x":        "FILE:/tmp/x",
		"FILE:/tmp/x":   "FILE:/tmp/x",
		"MEMORY:abc":    "MEMORY:abc",
		`C:\x`:          `FILE:C:\x`,
		"FILE:/a:b":     "FILE:/a:b",
		"relative/path": "FILE:relative/path",
	} {
		cc, err := Resolve(name)
		noErr(t, err, name)
		eq(t, cc.Name(), want, name)
	}
	dir := t.TempDir()
	_, err := Resolve("DIR::" + dir + "/notkt")
	isErr(t, err, ErrBadName)
	check(t, err != nil && strings.Contains(err.Error(), `filename does not begin with "tkt"`), err)
	cc, err := Resolve("DIR:" + dir + "/new")
	noErr(t, err)
	eq(t, cc.Name(), "DIR::"+dir+"/new/tkt")
	b, err := os.ReadFile(dir + "/new/primary")
	noErr(t, err)
	eq(t, string(b), "tkt\n")
	_, err = Resolve("", WithKCMSocket("-"))
	isErr(t, err, ErrNoName)
	_, err = Resolve("KCM:", WithKCMSocket("-"))
	isErr(t, err, ErrNoKCMServer)
	// A named KCM cache too: MIT's kcm_resolve connects first.
	_, err = Resolve("KCM:1000", WithKCMSocket(dir+"/no-kcm-socket"))
	isErr(t, err, ErrNoKCMServer)
	_, err = Resolve("KCM:", WithKCMSocket(dir+"/nosocket"))
	isErr(t, err, ErrNoKCMServer)
}

// mitTool runs one of MIT's client tools with KRB5CCNAME set to ccname and
// a krb5.conf holding libdefaults.
func mitTool(t *testing.T, ccname, libdefaults, tool string, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath(tool)
	if err != nil {
		krbtest.SkipOrFail(t, fmt.Sprintf("MIT %s not installed: %v", tool, err))
	}
	conf := filepath.Join(t.TempDir(), "krb5.conf")
	noErr(t, os.WriteFile(conf, []byte("[libdefaults]\n "+libdefaults+"\n"), 0o600))
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"TZ=UTC", "LC_ALL=C", "KRB5_CONFIG=" + conf, "KRB5CCNAME=" + ccname, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestMITReadsCollections: MIT's klist, klist -l, kswitch and kdestroy on
// collections we wrote, and we on what kswitch and kdestroy did.
func TestMITReadsCollections(t *testing.T) {
	for _, ct := range collectionTypes() {
		if ct.typ == TypeMemory {
			continue
		}
		t.Run(ct.name, func(t *testing.T) {
			defName := ct.collection(t)
			lib := ""
			if ct.kcm != nil {
				lib = ct.kcm(t).Libdefaults()
			}
			coll := NewCollection(defName, ct.options(t)...)
			def, err := coll.Default()
			noErr(t, err)
			noErr(t, def.Write(principalCache(t, "alice")))
			bobCC, err := coll.NewUnique()
			noErr(t, err)
			noErr(t, bobCC.Write(principalCache(t, "bob")))

			def, err = coll.Default() // sssd makes bob's new cache its default
			noErr(t, err)
			first, err := def.Principal()
			noErr(t, err)
			out, err := mitTool(t, defName, lib, "klist")
			noErr(t, err, out)
			contains(t, out, "Ticket cache: "+def.Name(), "Default principal: "+first.String(), "krbtgt/EXAMPLE.COM@EXAMPLE.COM")
			out, err = mitTool(t, defName, lib, "klist", "-l")
			noErr(t, err, out)
			contains(t, out, "alice@EXAMPLE.TEST", "bob@EXAMPLE.TEST", def.Name(), bobCC.Name())
			out, err = mitTool(t, bobCC.Name(), lib, "klist")
			noErr(t, err, out)
			contains(t, out, "Default principal: bob@EXAMPLE.TEST")

			// kswitch -p bob: our collection's primary is bob's cache.
			out, err = mitTool(t, defName, lib, "kswitch", "-p", "bob@EXAMPLE.TEST")
			noErr(t, err, out)
			now, err := coll.Default()
			noErr(t, err)
			eq(t, now.Name(), bobCC.Name(), "primary after MIT kswitch")
			p, err := now.Principal()
			noErr(t, err)
			eq(t, p.String(), "bob@EXAMPLE.TEST")

			// kdestroy removes the primary (bob), alice stays.
			out, err = mitTool(t, defName, lib, "kdestroy")
			noErr(t, err, out)
			_, err = bobCC.Read()
			isErr(t, err, ErrNotFound, "bob after kdestroy")
			_, err = coll.Match(principalCache(t, "alice").DefaultPrincipal)
			noErr(t, err, "alice after kdestroy")
			out, err = mitTool(t, defName, lib, "kdestroy", "-A")
			noErr(t, err, out)
			for _, c := range mustList(t, coll) {
				if _, err := c.Principal(); err == nil {
					t.Errorf("%s survived kdestroy -A", c.Name())
				}
			}
		})
	}
}

func sortCreds(c *Cache) {
	sort.Slice(c.Credentials, func(i, j int) bool {
		return c.Credentials[i].Server.String() < c.Credentials[j].Server.String()
	})
}

// whole reports whether c is one writer's principalCache: every credential
// for the default principal and all of them present.
func whole(c *Cache) bool {
	if len(c.Credentials) != 4 {
		return false
	}
	for _, cr := range c.Credentials {
		if !cr.Client.Equal(c.DefaultPrincipal) {
			return false
		}
	}
	return true
}
