package krbtest

import (
	"bytes"
	"go/build"
	"os/exec"
	"strings"
	"testing"

	"github.com/gokinit/gokinit/preauth/pkinit"
)

// TestPKINITSANMatchesClient: krbtest's own SAN encoder (kept so that
// krbtest does not link PKCS#11) gives the client's bytes.
func TestPKINITSANMatchesClient(t *testing.T) {
	for _, c := range []struct {
		realm    string
		nameType int32
		comps    []string
	}{
		{"EXAMPLE.TEST", 1, []string{"alice"}},
		{"EXAMPLE.TEST", 2, []string{"krbtgt", "EXAMPLE.TEST"}},
		{"WELLKNOWN:ANONYMOUS", 2, []string{"WELLKNOWN", "ANONYMOUS"}},
	} {
		got, err := marshalPKINITSAN(c.realm, c.nameType, c.comps...)
		if err != nil {
			t.Fatal(err)
		}
		want, err := pkinit.MarshalPKINITSAN(c.realm, c.nameType, c.comps...)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%v: krbtest %x, client %x", c, got, want)
		}
	}
	if !oidKPKdc.Equal(pkinit.OIDKPKdc) || !oidKPClientAuth.Equal(pkinit.OIDKPClientAuth) {
		t.Error("EKU OIDs differ from the client's")
	}
}

// TestNoCgoDependency: importing krbtest links neither PKCS#11 nor
// anything else that needs cgo, so tests that adopt it build with
// CGO_ENABLED=0.
func TestNoCgoDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{if .CgoFiles}}cgo{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, cgo, _ := strings.Cut(line, " ")
		if cgo == "cgo" && !isStd(pkg) || strings.Contains(pkg, "pkcs11") {
			t.Errorf("krbtest depends on %s (cgo)", pkg)
		}
	}
}

func isStd(pkg string) bool {
	p, err := build.Import(pkg, "", build.FindOnly)
	return err == nil && p.Goroot
}
