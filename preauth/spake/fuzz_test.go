package spake

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/gokinit/gokinit/responder"
)

// Seed corpora live in testdata/fuzz/<target>/. Run a target with, e.g.,
// go test ./preauth/spake/ -run '^$' -fuzz '^FuzzDecodeMessage$' -fuzztime 30s

// FuzzDecodeMessage: the PA-SPAKE decoder never panics, and what it accepts
// encodes back to a message that decodes to the same value.
func FuzzDecodeMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		var v any
		switch {
		case m.support != nil:
			v = *m.support
		case m.challenge != nil:
			v = *m.challenge
		case m.response != nil:
			v = *m.response
		case m.encdata != nil:
			v = *m.encdata
		default:
			t.Fatal("decoded message with no alternative set")
		}
		again, err := encodeMessage(v)
		if err != nil {
			t.Fatalf("re-encoding %T: %v", v, err)
		}
		m2, err := decodeMessage(again)
		if err != nil {
			t.Fatalf("decoding the re-encoding: %v", err)
		}
		if !reflect.DeepEqual(normalize(m), normalize(m2)) {
			t.Fatalf("round trip changed the message: %+v != %+v", m, m2)
		}
	})
}

// normalize maps empty byte slices to nil, which DER cannot tell apart.
func normalize(m message) message {
	if m.challenge != nil {
		c := *m.challenge
		c.Factors = append([]secondFactor(nil), c.Factors...)
		for i := range c.Factors {
			if len(c.Factors[i].Data) == 0 {
				c.Factors[i].Data = nil
			}
		}
		if len(c.PubKey) == 0 {
			c.PubKey = nil
		}
		m.challenge = &c
	}
	return m
}

// FuzzElement: decoding a peer's element never panics in any group, and an
// element that passes the checks gives a shared element, or the identity
// refusal, never anything else.
func FuzzElement(f *testing.F) {
	w := bytes.Repeat([]byte{3}, 66)
	scalars := make([][]byte, len(groups))
	for i, g := range groups {
		y, err := g.curve().randomScalar()
		if err != nil {
			f.Fatal(err)
		}
		scalars[i] = y
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		i := int(which) % len(groups)
		g := groups[i]
		if err := g.curve().check(b); err != nil {
			if !errors.Is(err, ErrInvalidElement) {
				t.Fatalf("%s: error %v does not match ErrInvalidElement", g.name, err)
			}
			return
		}
		k, err := g.curve().shared(w[:g.multLen], scalars[i], b, true)
		if err != nil {
			if !errors.Is(err, ErrIdentity) {
				t.Fatalf("%s: valid element refused: %v", g.name, err)
			}
			return
		}
		if len(k) != g.elemLen {
			t.Fatalf("%s: shared element is %d bytes", g.name, len(k))
		}
	})
}

// FuzzProcess feeds arbitrary PA-SPAKE values to a fresh request, and to
// one that has already sent its support message: it never panics, and
// sends at most one PA-DATA element.
func FuzzProcess(f *testing.F) {
	f.Fuzz(func(t *testing.T, afterSupport bool, value []byte) {
		cb := newFakeCallbacks(t, "edwards25519 P-256 P-384 P-521")
		r := Mechanism.NewRequest()
		if afterSupport {
			if _, err := r.Process(context.Background(), cb, input(nil, []byte{0x30, 0})); err != nil {
				t.Fatal(err)
			}
		}
		in := input(value, []byte{0x30, 0})
		if err := r.FillResponseSet(context.Background(), cb, in, &responder.ResponseSet{}); err != nil {
			t.Fatal(err)
		}
		out, err := r.Process(context.Background(), cb, in)
		if err == nil && len(out) > 1 {
			t.Fatalf("%d PA-DATA elements", len(out))
		}
		if err != nil && len(out) != 0 {
			t.Fatal("PA-DATA sent with an error")
		}
	})
}
