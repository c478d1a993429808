package krb

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gokinit/gokinit/krb/prf"
	"github.com/gokinit/gokinit/preauth"
	"github.com/gokinit/gokinit/responder"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/types"
)

// finish verifies the AS-REP and builds the credentials.
func (l *Login) finish(ctx context.Context, rep *asRep) error {
	var strengthen *types.EncryptionKey
	if l.fast != nil {
		resp, err := l.fast.unwrap(rep.PAData, l.body.Nonce)
		if errors.Is(err, ErrUnarmoredReply) {
			err = fmt.Errorf("%w: the KDC answered an armored request with an unarmored AS-REP", ErrUnarmoredReply)
		}
		if err != nil {
			return err
		}
		client, err := l.fast.verifyFinished(resp, rep.Ticket.Bytes)
		if err != nil {
			return err
		}
		// The armored client name and padata replace the unprotected ones.
		rep.CName, rep.CRealm, rep.PAData = client.Name, client.Realm, resp.PAData
		if resp.StrengthenKey.KeyType != 0 {
			strengthen = &resp.StrengthenKey
		}
	}
	l.trace("Received AS-REP (preauth %v)", paTypes(rep.PAData))
	if !slices.Contains(l.etypes, rep.EncPart.EType) {
		return fmt.Errorf("%w: reply encrypted with enctype %d, which was not requested", ErrBadReply, rep.EncPart.EType)
	}
	// Mechanisms that derive the reply key (PKINIT) need the reply's
	// enctype, as MIT sets ctx->etype before processing the reply padata.
	l.replyEtype = rep.EncPart.EType
	defer func() { l.replyEtype = 0 }()
	cb := l.callbacks(l.rs)
	rep.PAData = uniquePA(rep.PAData)
	for _, pa := range rep.PAData {
		// The selected mechanism sees the reply's padata for any of its
		// types (PKINIT sends PA-PK-AS-REQ, the KDC answers PA-PK-AS-REP);
		// other real mechanisms do not.
		m, req := l.request(pa.PADataType)
		if m == nil || (l.kindOf(m, pa.PADataType) == preauth.Real && l.mechIndex(pa.PADataType) != l.selectedIndex()) {
			continue
		}
		in := &preauth.Input{PAData: pa, All: rep.PAData, ReqBody: l.bodyDER, PrevRequest: l.lastReq, Reply: true}
		l.mechCalls++
		if _, err := req.Process(ctx, cb, in); err != nil {
			return err
		}
	}
	if !l.keyByMod {
		if rep.EncPart.EType != l.etype || l.selected == 0 {
			l.etype, l.salt, l.s2k = rep.EncPart.EType, l.defaultSalt(), ""
			l.readEtypeInfo(rep.PAData)
			if l.etype != rep.EncPart.EType {
				l.etype, l.salt, l.s2k = rep.EncPart.EType, l.defaultSalt(), ""
			}
		}
		if !l.haveSecret() {
			// No preauthentication was needed: the key is needed only now,
			// and the responder gets its one chance at the password here.
			rs := &responder.ResponseSet{}
			rs.Ask(responder.QuestionPassword, "")
			l.rs = rs
			if l.o.deferred {
				l.trace("Waiting for answers to %v", rs.Questions())
				l.paused, l.pausedRep, l.pausedKey = pausedReply, rep, strengthen
				return nil
			}
			if l.o.responder != nil {
				l.trace("Asking the responder: %v", rs.Questions())
				if err := l.o.responder.Respond(ctx, rs); err != nil {
					return err
				}
			}
		}
	}
	return l.finishKey(ctx, rep, strengthen)
}

// finishKey decrypts the AS-REP with the reply key, verifies it and builds
// the credentials.
func (l *Login) finishKey(ctx context.Context, rep *asRep, strengthen *types.EncryptionKey) error {
	key, err := l.asKeyFor(ctx)
	if err != nil {
		return err
	}
	replyKey := key
	if strengthen != nil {
		// RFC 6113 §5.4.3: the reply key is strengthened by the KDC's key.
		if key, err = prf.CF2(*strengthen, key, "strengthenkey", "replykey"); err != nil {
			return fmt.Errorf("%w: strengthen key: %v", ErrBadReply, err)
		}
	}
	plain, err := decrypt(rep.EncPart, key, keyusage.AS_REP_ENCPART)
	if err != nil {
		// KRB5KRB_AP_ERR_BAD_INTEGRITY, which MIT's kinit reports as
		// "Password incorrect" whether the key came from a password or a
		// keytab (a stale keytab reads the same).
		if l.fromPW {
			return &passwordIncorrect{fmt.Errorf("%w: the reply did not decrypt", ErrPreauthFailed)}
		}
		return &passwordIncorrect{fmt.Errorf("%w: the reply did not decrypt with the key (%s)", ErrPreauthFailed, ErrorCodeText(ErrCodeBadIntegrity))}
	}
	enc, err := decodeEncASRepPart(plain)
	if err != nil {
		return err
	}
	if err := l.verify(rep, enc); err != nil {
		return err
	}
	if l.client.isAnonymous() {
		if err := verifyAnonymousKX(rep.PAData, replyKey, enc.Key); err != nil {
			return err
		}
	}
	fastAvail := false
	if types.IsFlagSet(&enc.Flags, ticketFlagEncPARep) {
		if err := reqEncPARepValid(enc.EncPAData, l.lastReq, key); err != nil {
			return err
		}
		_, fastAvail = preauth.Find(enc.EncPAData, paFXFast)
	}
	l.creds = newCredentials(rep, enc)
	l.creds.FASTAvailable = fastAvail
	l.creds.PAType = l.selected
	if len(l.ccConfigOut) > 0 {
		l.creds.CCConfig = l.ccConfigOut
	}
	if l.cfg.LibDefaults.KDCTimeSync != 0 {
		// MIT's kdc_timesync: remember the KDC's clock (from authtime) in the cache.
		l.creds.KDCOffset = enc.AuthTime.Sub(l.reqTime).Truncate(time.Second)
	}
	l.trace("AS-REP verified: %s, ticket for %s, ends %s", l.creds.Client, l.creds.Server, l.creds.EndTime.UTC().Format(time.RFC3339))
	l.warnExpiry(ctx)
	return nil
}

// verifyAnonymousKX checks a fully anonymous reply's session key (RFC 8062
// §7, MIT's verify_anonymous): PA-PKINIT-KX holds the KDC's contribution
// key encrypted in the reply key (key usage 44), and the session key must
// be KRB-FX-CF2(contribution, reply key, "PKINIT", "KEYEXCHANGE").
func verifyAnonymousKX(pas types.PADataSequence, replyKey, session types.EncryptionKey) (err error) {
	defer recoverDecode("PA-PKINIT-KX", &err)
	v, ok := preauth.Find(pas, paPKINITKX)
	if !ok {
		return fmt.Errorf("%w: anonymous reply without PA-PKINIT-KX", ErrBadReply)
	}
	var enc types.EncryptedData
	if _, err := asn1.Unmarshal(v, &enc); err != nil {
		return fmt.Errorf("%w: PA-PKINIT-KX: %v", ErrBadReply, err)
	}
	plain, err := decrypt(enc, replyKey, keyUsagePKINITKX)
	if err != nil {
		return fmt.Errorf("%w: PA-PKINIT-KX does not decrypt", ErrBadReply)
	}
	var kdcKey types.EncryptionKey
	if _, err := asn1.Unmarshal(plain, &kdcKey); err != nil {
		return fmt.Errorf("%w: PA-PKINIT-KX: %v", ErrBadReply, err)
	}
	want, err := prf.CF2(kdcKey, replyKey, "PKINIT", "KEYEXCHANGE")
	if err != nil {
		return fmt.Errorf("%w: PA-PKINIT-KX: %v", ErrBadReply, err)
	}
	if want.KeyType != session.KeyType || !hmac.Equal(want.KeyValue, session.KeyValue) {
		return fmt.Errorf("%w: the anonymous session key does not match PA-PKINIT-KX", ErrBadReply)
	}
	return nil
}

const (
	paPKINITKX       = 147 // PA-PKINIT-KX (RFC 8062 §7)
	keyUsagePKINITKX = 44  // KEY_USAGE_PA_PKINIT_KX
)

func (p Principal) isAnonymous() bool {
	return len(p.Name.NameString) == 2 && p.Name.NameString[0] == "WELLKNOWN" && p.Name.NameString[1] == "ANONYMOUS"
}
