package krb

import "github.com/jcmturner/gokrb5/v8/crypto"

// errNoSuitableKeys is MIT's KRB5_KT_NOTFOUND from
// krb5_init_creds_set_keytab: the keytab has no key of a supported enctype
// for the client, so the login stops before any request is sent.
// errors.Is(err, ErrNoKey) holds.
type errNoSuitableKeys struct{ client Principal }

func (e errNoSuitableKeys) Error() string {
	return "Keytab contains no suitable keys for " + e.client.String()
}

func (e errNoSuitableKeys) Is(target error) bool { return target == ErrNoKey }

// checkKeytabHasClient refuses a keytab login locally, before the first
// AS-REQ, when the keytab holds no entry for the client principal with an
// enctype we implement, as MIT's lookup_etypes_for_keytab (any kvno; which
// enctypes the KDC allows is the KDC's to say).
func (l *Login) checkKeytabHasClient() error {
	if l.o.keytab == nil || l.o.keytabErr != nil {
		return nil // MIT ignores a keytab it cannot read here
	}
	for _, e := range l.o.keytab.Entries {
		if _, err := crypto.GetEtype(e.Key.KeyType); err == nil && l.keytabEntryMatches(e.Principal.Realm, e.Principal.Components) {
			return nil
		}
	}
	return errNoSuitableKeys{l.client}
}
