package krbtest

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// radiusCheck sends one Access-Request (RFC 2865 §4.1) for user and
// password and returns the reply's code: 2 Access-Accept, 3 Access-Reject.
func radiusCheck(t *testing.T, rad *RADIUS, user, password string) byte {
	t.Helper()
	secret, err := os.ReadFile(rad.SecretPath)
	require.NoError(t, err)
	secret = bytes.TrimSpace(secret)

	var auth [16]byte
	_, err = rand.Read(auth[:])
	require.NoError(t, err)
	// User-Password is hidden in 16-byte blocks (RFC 2865 §5.2).
	pw := []byte(password)
	pw = append(pw, make([]byte, (16-len(pw)%16)%16)...)
	prev := auth[:]
	for i := 0; i < len(pw); i += 16 {
		h := md5.Sum(append(append([]byte(nil), secret...), prev...))
		for j := range 16 {
			pw[i+j] ^= h[j]
		}
		prev = pw[i : i+16]
	}
	attrs := append([]byte{1, byte(2 + len(user))}, user...)
	attrs = append(append(attrs, 2, byte(2+len(pw))), pw...)
	pkt := append([]byte{1, 42, 0, byte(20 + len(attrs))}, auth[:]...)
	pkt = append(pkt, attrs...)

	c, err := net.Dial("udp", rad.Addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = c.Write(pkt)
	require.NoError(t, err)
	reply := make([]byte, 4096)
	n, err := c.Read(reply)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 20)
	require.Equal(t, byte(42), reply[1], "reply to our request id")
	return reply[0]
}

func TestRADIUS(t *testing.T) {
	rad := StartRADIUS(t, map[string]string{"alice": "123456", "bob": "4321654321"})
	t.Logf("FreeRADIUS answered after %v", rad.StartupTime)
	assert.Less(t, rad.StartupTime, 2*time.Second)

	assert.Equal(t, byte(2), radiusCheck(t, rad, "alice", "123456"), "Access-Accept")
	assert.Equal(t, byte(3), radiusCheck(t, rad, "alice", "654321"), "Access-Reject")
	assert.Equal(t, byte(2), radiusCheck(t, rad, "bob", "4321654321"), "PIN and code")
	assert.Equal(t, byte(3), radiusCheck(t, rad, "nobody", "123456"), "unknown user")

	assert.Contains(t, rad.Logs(), "Login OK: [alice]")
	assert.NotContains(t, rad.Logs(), "654321", "no password in the log")
	assert.Equal(t, `[{"type":"krbtest","username":"alice"}]`, rad.OTPConfig("alice"))

	require.NoError(t, rad.Close())
	require.NoError(t, rad.Close(), "Close twice")
}

func TestRADIUSBadUser(t *testing.T) {
	if ok, reason := RADIUSAvailable(); !ok {
		t.Skip(reason)
	}
	_, err := startRADIUS(t.TempDir(), map[string]string{"al ice": "1"})
	assert.ErrorContains(t, err, "bad RADIUS user name")
	_, err = startRADIUS(t.TempDir(), map[string]string{"alice": `1"2`})
	assert.ErrorContains(t, err, "quote")
}

// TestRADIUSWithMITKinit checks the whole set-up with MIT's own client: the
// KDC offers OTP inside FAST and asks FreeRADIUS.
func TestRADIUSWithMITKinit(t *testing.T) {
	needTools(t, "kinit")
	rad := StartRADIUS(t, map[string]string{"alice": "123456"})
	r := NewRealm(t, rad.KDCOption())
	require.NoError(t, r.AddRandomKeyPrincipal("alice", NoKey(), RequiresPreauth()))
	require.NoError(t, r.SetOTP("alice", rad.OTPConfig("alice")))
	kdcConf, err := os.ReadFile(r.KDCProfilePath)
	require.NoError(t, err)
	assert.Contains(t, string(kdcConf), "server = "+rad.Addr)

	armor, err := r.ArmorCache()
	require.NoError(t, err)
	cc := "FILE:" + filepath.Join(r.Dir, "otp-cc")
	out, err := run(t, r, cc, "123456\n", nil, "kinit", "-T", armor, "alice")
	require.NoError(t, err)
	assert.Contains(t, out, "Enter OTP Token Value")

	out, err = run(t, r, cc, "000000\n", nil, "kinit", "-T", armor, "alice")
	require.Error(t, err)
	assert.True(t, strings.Contains(out, "Preauthentication failed"), out)
}
