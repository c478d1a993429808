package krbtest

import (
	"fmt"
	"path/filepath"
)

// armorPrincipal is the host whose TGT ArmorCache holds.
const armorPrincipal = "host/armor.krbtest"

// ArmorCache returns the path of a credential cache holding a TGT of the
// realm, for use as FAST armor (kinit -T): the keytab login of a host
// principal, made with MIT's kinit -k, as a real host would. Each call makes
// a fresh cache; the principal is created on first use.
func (r *Realm) ArmorCache() (string, error) {
	if _, err := r.GetPrincipal(armorPrincipal); err != nil {
		if err := r.AddRandomKeyPrincipal(armorPrincipal, RequiresPreauth()); err != nil {
			return "", err
		}
	}
	kt, err := r.Keytab(armorPrincipal)
	if err != nil {
		return "", err
	}
	path := filepath.Join(r.Dir, fmt.Sprintf("armor-%d.ccache", r.seq.Add(1)))
	out, err := r.Command("kinit", "-k", "-t", kt, "-c", "FILE:"+path, armorPrincipal).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("krbtest: kinit -k for the armor cache: %v: %s", err, out)
	}
	return path, nil
}
