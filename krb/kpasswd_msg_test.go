package krb

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKpasswdChangeRequestForm: a user's own change is the change form
// (version 1, the KRB-PRIV carries the bare new password), never the set
// form AD reads as an administrator's reset.
func TestKpasswdChangeRequestForm(t *testing.T) {
	cname := types.NewPrincipalName(1, "alice")
	tkt := messages.Ticket{TktVNO: 5, Realm: "EXAMPLE.TEST", SName: types.NewPrincipalName(2, "kadmin/changepw"),
		EncPart: types.EncryptedData{EType: 18, Cipher: []byte{1, 2, 3}}}
	req, subkey, err := kpasswdChangeRequest(cname, "EXAMPLE.TEST", "new-pw", tkt, fuzzArmorKey)
	require.NoError(t, err)
	require.Equal(t, len(req), int(binary.BigEndian.Uint16(req)))
	assert.Equal(t, uint16(kpasswdVersionChange), binary.BigEndian.Uint16(req[2:]))
	apLen := int(binary.BigEndian.Uint16(req[4:]))
	var priv messages.KRBPriv
	require.NoError(t, priv.Unmarshal(req[6+apLen:]))
	plain, err := decrypt(priv.EncPart, subkey, 13)
	require.NoError(t, err)
	var part messages.EncKrbPrivPart
	require.NoError(t, part.Unmarshal(plain))
	assert.Equal(t, []byte("new-pw"), part.UserData)
}

// kpasswdPrivReply frames result under key as a server answering version v.
func kpasswdPrivReply(t *testing.T, v uint16, key types.EncryptionKey, result []byte) []byte {
	priv := messages.NewKRBPriv(messages.EncKrbPrivPart{UserData: result})
	require.NoError(t, priv.EncryptEncPart(key))
	pb, err := priv.Marshal()
	require.NoError(t, err)
	ap := []byte{0x6f, 0x00} // the AP-REP is not read: the KRB-PRIV under our subkey proves the server
	b := make([]byte, 6)
	binary.BigEndian.PutUint16(b, uint16(6+len(ap)+len(pb)))
	binary.BigEndian.PutUint16(b[2:], v)
	binary.BigEndian.PutUint16(b[4:], uint16(len(ap)))
	return append(append(b, ap...), pb...)
}

func kpasswdError(t *testing.T, framed bool, edata []byte) []byte {
	e := kdcErrorMessage(ErrCodeGeneric, edata)
	eb, err := e.Marshal()
	require.NoError(t, err)
	if !framed {
		return eb
	}
	b := make([]byte, 6)
	binary.BigEndian.PutUint16(b, uint16(6+len(eb)))
	binary.BigEndian.PutUint16(b[2:], 1)
	return append(b, eb...)
}

// TestParseKpasswdReply: replies of both forms, as MIT, Heimdal and AD send
// them, give the same result codes and MIT's texts.
func TestParseKpasswdReply(t *testing.T) {
	ad := make([]byte, 30) // AD policy: complex, at least 7 characters, 24 remembered, 1 day
	binary.BigEndian.PutUint32(ad[2:], 7)
	binary.BigEndian.PutUint32(ad[6:], 24)
	binary.BigEndian.PutUint32(ad[10:], 1)
	binary.BigEndian.PutUint64(ad[22:], 86400*10000000)
	for _, tc := range []struct {
		name  string
		reply []byte
		code  int
		text  string
	}{
		{"MIT success, version 1", kpasswdPrivReply(t, 1, fuzzArmorKey, []byte{0, 0}), 0, "Try a more complex password, or contact your administrator."},
		{"set form reply 0xff80", kpasswdPrivReply(t, 0xff80, fuzzArmorKey, append([]byte{0, 4}, "Password too short"...)), 4, "Password too short"},
		{"AD policy block", kpasswdPrivReply(t, 1, fuzzArmorKey, append([]byte{0, 4}, ad...)), 4,
			"The password must include numbers or symbols.  Don't include any part of your name in the password.  " +
				"The password must contain at least 7 characters.  The password must be different from the previous 24 passwords.  " +
				"The password can only be changed once a day."},
		{"framed KRB-ERROR (Heimdal, Samba)", kpasswdError(t, true, append([]byte{0, 5}, "Not permitted to change password"...)), 5, "Not permitted to change password"},
		{"unframed KRB-ERROR (AD)", kpasswdError(t, false, []byte{0, 3}), 3, "Try a more complex password, or contact your administrator."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := parseKpasswdReply(tc.reply, fuzzArmorKey, Principal{})
			require.NoError(t, err)
			assert.Equal(t, tc.code, res.Code)
			assert.Equal(t, tc.text, chpwMessage(res.Result))
		})
	}
	assert.Equal(t, "Access denied: Not permitted to change password", kpasswdMessage(5, "Not permitted to change password"))

	bad := map[string][]byte{
		"success in an error":   kpasswdError(t, true, []byte{0, 0}),
		"code out of range":     kpasswdPrivReply(t, 1, fuzzArmorKey, []byte{0, 8}),
		"other key":             kpasswdPrivReply(t, 1, types.EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)}, []byte{0, 0}),
		"version 2":             kpasswdPrivReply(t, 2, fuzzArmorKey, []byte{0, 0}),
		"short":                 {0, 4, 0, 1},
		"length does not match": append(kpasswdPrivReply(t, 1, fuzzArmorKey, []byte{0, 0}), 0),
	}
	for name, b := range bad {
		_, err := parseKpasswdReply(b, fuzzArmorKey, Principal{})
		assert.True(t, errors.Is(err, ErrBadReply), "%s: %v", name, err)
	}
	// An error without e-data is the KDC's error.
	_, err := parseKpasswdReply(kpasswdError(t, false, nil), fuzzArmorKey, Principal{})
	var kerr *KDCError
	assert.True(t, errors.As(err, &kerr), "%v", err)
}
