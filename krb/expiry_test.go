package krb

import (
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/stretchr/testify/assert"
)

// TestExpiryTimes: last-req entries of the expiry types win over
// key-expiration, as MIT's get_expiry_times; other entries are ignored.
func TestExpiryTimes(t *testing.T) {
	t1 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(24 * time.Hour)
	keyExp := t1.Add(-time.Hour)
	for _, c := range []struct {
		lr       []messages.LastReq
		pw, acct time.Time
		fromLR   bool
		name     string
	}{
		{nil, keyExp, time.Time{}, false, "key-expiration only"},
		{[]messages.LastReq{{LRType: 1, LRValue: t2}}, keyExp, time.Time{}, false, "last initial TGT request: not an expiry"},
		{[]messages.LastReq{{LRType: lrOnePWExpTime, LRValue: t1}}, t1, time.Time{}, true, "password, this KDC"},
		{[]messages.LastReq{{LRType: lrAllPWExpTime, LRValue: t1}, {LRType: lrAllAcctExpTime, LRValue: t2}}, t1, t2, true, "both"},
		{[]messages.LastReq{{LRType: lrOneAcctExpTime, LRValue: t2}}, time.Time{}, t2, true, "account only: key-expiration not used"},
	} {
		pw, acct, fromLR := expiryTimes(&messages.EncKDCRepPart{LastReqs: c.lr, KeyExpiration: keyExp})
		assert.Equal(t, c.pw, pw, c.name)
		assert.Equal(t, c.acct, acct, c.name)
		assert.Equal(t, c.fromLR, fromLR, c.name)
	}
}
