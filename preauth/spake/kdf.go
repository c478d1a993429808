package spake

import (
	"encoding/binary"
	"fmt"

	"github.com/gokinit/gokinit/krb/prf"
	"github.com/jcmturner/gokrb5/v8/types"
)

// deriveW returns the multiplier bytes w (RFC 9588 §5):
// PRF+(initial reply key, "SPAKEsecret" || be32(group)), truncated to the
// group's multiplier length. The curve code reduces it modulo the group
// order where it is used; the key derivation hashes these bytes unreduced.
func deriveW(ikey types.EncryptionKey, g *group) ([]byte, error) {
	pepper := binary.BigEndian.AppendUint32([]byte("SPAKEsecret"), uint32(g.id))
	w, err := prf.PRFPlus(ikey, pepper, g.multLen)
	if err != nil {
		return nil, fmt.Errorf("spake: deriving w: %w", err)
	}
	return w, nil
}

// updateTranscript returns the next transcript hash (RFC 9588 §6):
// H(thash || parts...), the first one starting from hashLen zero bytes.
// The client hashes the support message it sent (if any) with the KDC's
// challenge, then its own public element S.
func updateTranscript(g *group, thash []byte, parts ...[]byte) []byte {
	if thash == nil {
		thash = make([]byte, g.hashLen())
	}
	h := g.hash()
	h.Write(thash)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// keyInputs is what K'[n] depends on besides n (RFC 9588 §7).
type keyInputs struct {
	group *group
	ikey  types.EncryptionKey // the initial reply key
	w     []byte              // multiplier bytes, unreduced
	k     []byte              // the shared element K
	thash []byte              // the final transcript hash
	body  []byte              // the DER KDC-REQ-BODY of the request
}

// deriveKey returns K'[n] (RFC 9588 §7): a seed of the enctype's
// random-to-key input length from
// H("SPAKEkey" || be32(group) || be32(enctype) || w || K || thash || body ||
// be32(n) || be8(block counter)), then
// KRB-FX-CF2(initial key, "SPAKE", random-to-key(seed), "keyderiv").
// K'[0] replaces the reply key; K'[1] encrypts the client's factor.
func deriveKey(in keyInputs, n uint32) (types.EncryptionKey, error) {
	et := in.ikey.KeyType
	seedLen, err := prf.SeedLength(et)
	if err != nil {
		return types.EncryptionKey{}, fmt.Errorf("spake: %w", err)
	}
	var seed []byte
	for counter := byte(1); len(seed) < seedLen; counter++ {
		h := in.group.hash()
		h.Write([]byte("SPAKEkey"))
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(in.group.id)))
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(et)))
		h.Write(in.w)
		h.Write(in.k)
		h.Write(in.thash)
		h.Write(in.body)
		h.Write(binary.BigEndian.AppendUint32(nil, n))
		h.Write([]byte{counter})
		seed = h.Sum(seed)
	}
	hkey, err := prf.RandomToKey(et, seed[:seedLen])
	if err != nil {
		return types.EncryptionKey{}, fmt.Errorf("spake: %w", err)
	}
	key, err := prf.CF2(in.ikey, hkey, "SPAKE", "keyderiv")
	clear(seed)
	clear(hkey.KeyValue)
	if err != nil {
		return types.EncryptionKey{}, fmt.Errorf("spake: deriving K'[%d]: %w", n, err)
	}
	return key, nil
}
