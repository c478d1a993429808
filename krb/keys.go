package krb

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/prompter"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
)

// readEtypeInfo picks the enctype, salt and string-to-key parameters for
// the AS key from ETYPE-INFO2 (else ETYPE-INFO, else PW-SALT): the entry
// for the first enctype of our request that the KDC lists, not simply the
// KDC's first entry (RFC 4120 §3.1.3).
func (l *Login) readEtypeInfo(pa types.PADataSequence) {
	if v, ok := preauth.Find(pa, paETypeInfo2); ok {
		info, err := decodeETypeInfo2(v)
		if err != nil {
			l.trace("Ignoring undecodable ETYPE-INFO2: %v", err)
			return
		}
		for _, e := range l.etypes {
			for _, ent := range info {
				if ent.EType == e {
					l.setEtype(ent.EType, ent.Salt, ent.Salt != "", ent.S2KParams)
					return
				}
			}
		}
		return
	}
	if v, ok := preauth.Find(pa, paETypeInfo); ok {
		info, err := decodeETypeInfo(v)
		if err != nil {
			return
		}
		for _, e := range l.etypes {
			for _, ent := range info {
				if ent.EType == e {
					l.setEtype(ent.EType, string(ent.Salt), ent.Salt != nil, nil)
					return
				}
			}
		}
		return
	}
	if v, ok := preauth.Find(pa, paPWSalt); ok {
		l.setEtype(l.etype, string(v), true, nil)
	}
}

func (l *Login) setEtype(etype int32, salt string, haveSalt bool, params []byte) {
	if !haveSalt {
		salt = l.defaultSalt()
	}
	s2k := hex.EncodeToString(params)
	if (etype != l.etype || salt != l.salt || s2k != l.s2k) && !l.keyByMod {
		l.asKey = nil // derived for other parameters
	}
	l.etype, l.salt, l.s2k = etype, salt, s2k
	l.trace("Selected etype info: etype %s, salt %q, params %q", etypeName(etype), salt, l.s2k)
}

// defaultSalt is the realm followed by the name components (RFC 4120 §4).
func (l *Login) defaultSalt() string {
	return l.client.Realm + strings.Join(l.client.Name.NameString, "")
}

// asKeyFor returns the long-term key for the current enctype, deriving it
// from the password at most once per enctype, salt and parameters.
func (l *Login) asKeyFor(ctx context.Context) (types.EncryptionKey, error) {
	if l.asKey != nil && (l.keyByMod || l.asKey.KeyType == l.etype) {
		return *l.asKey, nil
	}
	if l.o.keytab != nil {
		key, err := l.keytabKey(l.etype)
		if err != nil {
			return types.EncryptionKey{}, err
		}
		l.asKey, l.fromPW = &key, false
		return key, nil
	}
	pw, err := l.getPassword(ctx)
	if err != nil {
		return types.EncryptionKey{}, err
	}
	id := fmt.Sprintf("%d\x00%s\x00%s", l.etype, l.salt, l.s2k)
	key, ok := l.keyCache[id]
	if !ok {
		et, err := crypto.GetEtype(l.etype)
		if err != nil {
			return types.EncryptionKey{}, fmt.Errorf("%w: %d", ErrEtypeNoSupport, l.etype)
		}
		params := l.s2k
		if params == "" {
			params = et.GetDefaultStringToKeyParams()
		} else if err := checkS2KParams(l.etype, params); err != nil {
			return types.EncryptionKey{}, err
		}
		kb, err := stringToKey(ctx, l.etype, pw, l.salt, params)
		if err != nil {
			if ctx.Err() != nil {
				return types.EncryptionKey{}, ctx.Err()
			}
			return types.EncryptionKey{}, fmt.Errorf("string-to-key for %s: %w", etypeName(l.etype), err)
		}
		l.stats.StringToKey++
		key = types.EncryptionKey{KeyType: l.etype, KeyValue: kb}
		l.keyCache[id] = key
	}
	l.asKey, l.fromPW = &key, true
	return key, nil
}

// getPassword returns the password from the options, an earlier round, the
// responder's answer, or the prompter, in that order.
func (l *Login) getPassword(ctx context.Context) (string, error) {
	if l.o.password != nil {
		return *l.o.password, nil
	}
	if l.password != nil {
		return *l.password, nil
	}
	if a, ok := l.rs.Answer(responder.QuestionPassword); ok {
		l.password = &a
		return a, nil
	}
	replies, err := prompter.Fallback(ctx, l.o.prompter, responder.QuestionPassword, "",
		[]prompter.Prompt{prompter.PasswordPrompt(l.client.String())})
	if err != nil {
		return "", err
	}
	l.password = &replies[0]
	return replies[0], nil
}

func (l *Login) haveSecret() bool {
	return l.o.password != nil || l.o.keytab != nil || l.password != nil
}

// maxPBKDF2Iterations is MIT's bound on the iteration count a KDC may ask
// for (s2k_pbkdf2.c): an unauthenticated reply must not make the client
// spin for hours.
const maxPBKDF2Iterations = 0xffffff

// checkS2KParams validates string-to-key parameters from the KDC: for the
// PBKDF2 enctypes (RFC 3962 §4, RFC 8009 §4) a 4-byte iteration count
// between 1 and maxPBKDF2Iterations; other enctypes take none.
func checkS2KParams(etype int32, params string) error {
	b, err := hex.DecodeString(params)
	bad := fmt.Errorf("%w: invalid key generation parameters from KDC for %s", ErrBadReply, etypeName(etype))
	if err != nil {
		return bad
	}
	switch etype {
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96,
		etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192:
		if len(b) != 4 {
			return bad
		}
		if n := binary.BigEndian.Uint32(b); n == 0 || n > maxPBKDF2Iterations {
			return bad
		}
		return nil
	}
	return bad
}
