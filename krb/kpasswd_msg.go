package krb

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Protocol versions of a kpasswd request (RFC 3244 §2).
const (
	// kpasswdVersionChange is the change form a user sends to change their
	// own password: the KRB-PRIV's user data is the new password itself
	// (MIT's krb5int_mk_chpw_req, Microsoft's original protocol).
	kpasswdVersionChange = 0x0001
	// kpasswdVersionSet is the set form (ChangePasswdData naming a target
	// principal). Active Directory and Samba treat it as an administrator's
	// reset, so a user changing their own expired password gets "Access
	// denied"; MIT uses it only for krb5_set_password with a target.
	kpasswdVersionSet = 0xff80
)

// kpasswdChangeRequest encodes the change form of a kpasswd request (RFC
// 3244 §2, protocol version 1) for the client of the kadmin/changepw ticket:
// length, version 1, the AP-REQ (with a fresh subkey and sequence number)
// and a KRB-PRIV whose user data is newPassword. It returns the message and
// the subkey that protects the reply. As MIT's krb5int_mk_chpw_req.
func kpasswdChangeRequest(cname types.PrincipalName, realm, newPassword string, tkt messages.Ticket, sessionKey types.EncryptionKey) ([]byte, types.EncryptionKey, error) {
	auth, err := types.NewAuthenticator(realm, cname)
	if err != nil {
		return nil, types.EncryptionKey{}, err
	}
	et, err := crypto.GetEtype(sessionKey.KeyType)
	if err != nil {
		return nil, types.EncryptionKey{}, err
	}
	if err := auth.GenerateSeqNumberAndSubKey(et.GetETypeID(), et.GetKeyByteSize()); err != nil {
		return nil, types.EncryptionKey{}, err
	}
	apReq, err := messages.NewAPReq(tkt, sessionKey, auth)
	if err != nil {
		return nil, types.EncryptionKey{}, err
	}
	ap, err := apReq.Marshal()
	if err != nil {
		return nil, types.EncryptionKey{}, err
	}
	priv := messages.NewKRBPriv(messages.EncKrbPrivPart{
		UserData:       []byte(newPassword),
		Timestamp:      auth.CTime,
		Usec:           auth.Cusec,
		SequenceNumber: auth.SeqNumber,
	})
	if err := priv.EncryptEncPart(auth.SubKey); err != nil {
		return nil, types.EncryptionKey{}, err
	}
	pb, err := priv.Marshal()
	if err != nil {
		return nil, types.EncryptionKey{}, err
	}
	n := 6 + len(ap) + len(pb)
	if n > 0xffff {
		return nil, types.EncryptionKey{}, fmt.Errorf("kpasswd request of %d bytes is too long", n)
	}
	msg := make([]byte, 6, n)
	binary.BigEndian.PutUint16(msg[0:], uint16(n))
	binary.BigEndian.PutUint16(msg[2:], kpasswdVersionChange)
	binary.BigEndian.PutUint16(msg[4:], uint16(len(ap)))
	msg = append(append(msg, ap...), pb...)
	return msg, auth.SubKey, nil
}

// kpasswdResult is a decoded kpasswd reply: the result code (RFC 3244 §2:
// 0 success ... 7 initial flag needed) and the server's result string,
// raw (it may be Active Directory's binary policy block).
type kpasswdResult struct {
	Code   int
	Result []byte
}

// parseKpasswdReply decodes a kpasswd reply to either form of request, as
// MIT's get_clear_result and krb5int_rd_chpw_rep: an unframed KRB-ERROR
// (RFC 3244 servers; also AD for version 1), or length, version (1 or
// 0xff80), AP-REP length and then a KRB-PRIV under subkey, or a framed
// KRB-ERROR when the AP-REP length is zero. A KRB-ERROR's e-data carries
// the result; one without e-data is returned as the *KDCError. A result
// code outside 0..7, or success carried by an error, is ErrBadReply.
func parseKpasswdReply(b []byte, subkey types.EncryptionKey, client Principal) (res kpasswdResult, err error) {
	defer recoverDecode("kpasswd reply", &err)
	var clear []byte
	isError := false
	fromError := func(b []byte) error {
		var e messages.KRBError
		if err := e.Unmarshal(b); err != nil {
			return fmt.Errorf("%w: kpasswd KRB-ERROR: %v", ErrBadReply, err)
		}
		if len(e.EData) == 0 {
			return kdcError(&e, client)
		}
		clear, isError = e.EData, true
		return nil
	}
	switch {
	case len(b) > 0 && b[0] == 0x7e: // [APPLICATION 30] KRB-ERROR
		if err := fromError(b); err != nil {
			return res, err
		}
	case len(b) < 6:
		return res, fmt.Errorf("%w: kpasswd reply of %d bytes", ErrBadReply, len(b))
	default:
		if int(binary.BigEndian.Uint16(b)) != len(b) {
			return res, fmt.Errorf("%w: kpasswd reply length does not match", ErrBadReply)
		}
		if v := binary.BigEndian.Uint16(b[2:]); v != kpasswdVersionChange && v != kpasswdVersionSet {
			return res, fmt.Errorf("%w: kpasswd reply version %#x", ErrBadReply, v)
		}
		apLen := int(binary.BigEndian.Uint16(b[4:]))
		if apLen > len(b)-6 {
			return res, fmt.Errorf("%w: kpasswd AP-REP length does not match", ErrBadReply)
		}
		if apLen == 0 {
			if err := fromError(b[6:]); err != nil {
				return res, err
			}
			break
		}
		var priv messages.KRBPriv
		if err := priv.Unmarshal(b[6+apLen:]); err != nil {
			return res, fmt.Errorf("%w: kpasswd KRB-PRIV: %v", ErrBadReply, err)
		}
		plain, err := decrypt(priv.EncPart, subkey, keyusage.KRB_PRIV_ENCPART)
		if err != nil {
			return res, fmt.Errorf("%w: kpasswd reply does not decrypt with our subkey", ErrBadReply)
		}
		var part messages.EncKrbPrivPart
		if err := part.Unmarshal(plain); err != nil {
			return res, fmt.Errorf("%w: kpasswd EncKrbPrivPart: %v", ErrBadReply, err)
		}
		clear = part.UserData
	}
	if len(clear) < 2 {
		return res, fmt.Errorf("%w: kpasswd result of %d bytes", ErrBadReply, len(clear))
	}
	res.Code = int(binary.BigEndian.Uint16(clear))
	if res.Code > 7 || (isError && res.Code == kpasswdSuccess) {
		return res, fmt.Errorf("%w: kpasswd result code %d", ErrBadReply, res.Code)
	}
	res.Result = clear[2:]
	return res, nil
}

// kpasswdCodeString is MIT's text for a kpasswd result code
// (krb5_chpw_result_code_string).
func kpasswdCodeString(code int) string {
	switch code {
	case 0:
		return "Success"
	case 1:
		return "Malformed request error"
	case 2:
		return "Server error"
	case 3:
		return "Authentication error"
	case 4:
		return "Password change rejected"
	case 5:
		return "Access denied"
	case 6:
		return "Wrong protocol version"
	case 7:
		return "Initial password required"
	}
	return "Password change failed"
}

// chpwMessage turns a kpasswd result string into text as MIT's
// krb5_chpw_message: Active Directory's 30-byte policy block (two zero
// bytes, minimum length, history, properties, expiry and minimum age, big
// endian) becomes sentences; valid UTF-8 without NUL is shown as is;
// anything else asks for a more complex password.
func chpwMessage(s []byte) string {
	if msg := adPolicyMessage(s); msg != "" {
		return msg
	}
	if len(s) > 0 && utf8.Valid(s) && !strings.ContainsRune(string(s), 0) {
		return string(s)
	}
	return "Try a more complex password, or contact your administrator."
}

// adPolicyMessage decodes Active Directory's policy block (MIT's
// decode_ad_policy_info); "" when s is not one or says nothing.
func adPolicyMessage(s []byte) string {
	if len(s) != 30 || binary.BigEndian.Uint16(s) != 0 {
		return ""
	}
	minLen := binary.BigEndian.Uint32(s[2:])
	history := binary.BigEndian.Uint32(s[6:])
	props := binary.BigEndian.Uint32(s[10:])
	minAge := binary.BigEndian.Uint64(s[22:])
	var parts []string
	if props&1 != 0 { // AD_POLICY_COMPLEX
		parts = append(parts, "The password must include numbers or symbols.  Don't include any part of your name in the password.")
	}
	if minLen > 0 {
		parts = append(parts, "The password must contain at least "+strconv.Itoa(int(int32(minLen)))+plural(minLen, " character.", " characters."))
	}
	if history > 0 {
		if history == 1 {
			parts = append(parts, "The password must be different from the previous password.")
		} else {
			parts = append(parts, "The password must be different from the previous "+strconv.Itoa(int(int32(history)))+" passwords.")
		}
	}
	if minAge > 0 {
		days := minAge / (86400 * 10000000)
		if days == 0 {
			days = 1
		}
		if days == 1 {
			parts = append(parts, "The password can only be changed once a day.")
		} else {
			parts = append(parts, "The password can only be changed every "+strconv.Itoa(int(int32(days)))+" days.")
		}
	}
	return strings.Join(parts, "  ")
}

func plural(n uint32, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
