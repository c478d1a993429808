package krb_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gokinit/gokinit/krb"
	"github.com/gokinit/gokinit/krb/transport"
	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFuzzSeedsFromMIT takes the seed corpora of the issue-12 fuzz
// targets from real traffic with MIT's KDC: alice's login (encrypted
// timestamp) gives the last AS-REQ and, decrypted with alice's key, the
// encrypted padata holding PA-REQ-ENC-PA-REP (FuzzReqEncPARepValid); kadmin
// exports a keytab (FuzzLoadKeytab). It checks what MIT sends has the
// shape the seeds need; with GOKINIT_WRITE_SEEDS=1 it rewrites the seed
// files in testdata/fuzz.
func TestFuzzSeedsFromMIT(t *testing.T) {
	realm, cfg := testRealm(t)
	var lastReq, lastRep []byte
	tr := transport.New(cfg.Config)
	rec := krb.TransportFunc(func(ctx context.Context, r string, req []byte, tcpOnly bool) ([]byte, error) {
		rep, err := tr.Exchange(ctx, r, req, tcpOnly)
		lastReq, lastRep = bytes.Clone(req), bytes.Clone(rep)
		return rep, err
	})
	creds, err := krb.GetInitialCreds(ctx(t), "alice", krb.WithConfig(cfg), krb.WithPassword(alicePW), krb.WithTransport(rec))
	require.NoError(t, err)
	require.NotNil(t, creds)

	var rep messages.ASRep
	require.NoError(t, rep.Unmarshal(lastRep))
	key := stringToKey(t, rep.EncPart.EType, alicePW, realm.Name+"alice")
	plain, err := crypto.DecryptEncPart(rep.EncPart, key, keyusage.AS_REP_ENCPART)
	require.NoError(t, err)
	var enc struct {
		EncPAData types.PADataSequence `asn1:"explicit,optional,tag:12"`
	}
	encPart := encKDCRepPartPAData(t, plain)
	_, err = asn1.Unmarshal(encPart, &enc.EncPAData)
	require.NoError(t, err)
	_, ok := findPA(enc.EncPAData, 149)
	require.True(t, ok, "MIT's KDC answers PA-REQ-ENC-PA-REP in the encrypted padata")

	kt, err := realm.Keytab("alice")
	require.NoError(t, err)
	ktBytes, err := os.ReadFile(kt)
	require.NoError(t, err)
	_, err = krb.LoadKeytab(kt)
	require.NoError(t, err)

	if os.Getenv("GOKINIT_WRITE_SEEDS") != "1" {
		return
	}
	keyHex := fmt.Sprintf("%d:%x", key.KeyType, key.KeyValue)
	writeSeed(t, "FuzzReqEncPARepValid", "mit-enc-padata", encPart, lastReq, []byte(keyHex))
	writeSeed(t, "FuzzLoadKeytab", "mit-keytab-alice", ktBytes)
	assert.NotEmpty(t, keyHex)
}

// encKDCRepPartPAData returns the DER of the encrypted-pa-data [12] field
// of an EncASRepPart (APPLICATION 25 or 26 around the SEQUENCE).
func encKDCRepPartPAData(t *testing.T, plain []byte) []byte {
	t.Helper()
	var app asn1.RawValue
	_, err := asn1.Unmarshal(plain, &app)
	require.NoError(t, err)
	var seq asn1.RawValue
	_, err = asn1.Unmarshal(app.Bytes, &seq)
	require.NoError(t, err)
	rest := seq.Bytes
	for len(rest) > 0 {
		var f asn1.RawValue
		rest, err = asn1.Unmarshal(rest, &f)
		require.NoError(t, err)
		if f.Class == asn1.ClassContextSpecific && f.Tag == 12 {
			return f.Bytes
		}
	}
	t.Fatal("no encrypted-pa-data in MIT's EncASRepPart")
	return nil
}

// writeSeed writes one corpus file of []byte values.
func writeSeed(t *testing.T, target, name string, vals ...[]byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	s := "go test fuzz v1\n"
	for _, v := range vals {
		s += "[]byte(" + strconv.Quote(string(v)) + ")\n"
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644))
}
