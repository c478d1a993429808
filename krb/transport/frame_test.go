package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func frame(b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func TestWriteTCPRequest(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, writeTCPRequest(&buf, []byte("abc")))
	assert.Equal(t, []byte{0, 0, 0, 3, 'a', 'b', 'c'}, buf.Bytes())
}

func TestReadTCPReply(t *testing.T) {
	reply, err := readTCPReply(bytes.NewReader(frame([]byte("hello"))), "kdc:88")
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), reply)

	// Trailing bytes after the frame are left unread.
	r := bytes.NewReader(append(frame([]byte("x")), "trailer"...))
	reply, err = readTCPReply(r, "kdc:88")
	require.NoError(t, err)
	assert.Equal(t, []byte("x"), reply)
	assert.Equal(t, 7, r.Len())

	// One byte at a time still reads it whole.
	reply, err = readTCPReply(iotest.OneByteReader(bytes.NewReader(frame([]byte("hello")))), "kdc:88")
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), reply)

	_, err = readTCPReply(bytes.NewReader(nil), "kdc:88")
	assert.ErrorIs(t, err, io.EOF)
	assert.ErrorContains(t, err, "connection closed without a reply")

	_, err = readTCPReply(bytes.NewReader([]byte{0, 0}), "kdc:88")
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.ErrorContains(t, err, "short read of the length prefix (2 of 4 bytes)")

	_, err = readTCPReply(bytes.NewReader([]byte{0, 0, 0, 9, 'a'}), "kdc:88")
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.ErrorContains(t, err, "short read: 1 of 9 reply bytes")

	_, err = readTCPReply(iotest.TimeoutReader(bytes.NewReader([]byte{0, 0, 0, 9, 'a'})), "kdc:88")
	assert.ErrorIs(t, err, iotest.ErrTimeout)

	var tooLarge *ReplyTooLargeError
	_, err = readTCPReply(bytes.NewReader([]byte{0x80, 0, 0, 0}), "kdc:88")
	require.ErrorAs(t, err, &tooLarge)
	assert.Equal(t, &ReplyTooLargeError{Addr: "kdc:88", Length: 0x80000000, Limit: MaxTCPReply}, tooLarge)

	_, err = readTCPReply(bytes.NewReader(binary.BigEndian.AppendUint32(nil, MaxTCPReply+1)), "kdc:88")
	require.ErrorAs(t, err, &tooLarge)
	assert.EqualError(t, err, "TCP reply from kdc:88 declares 4194305 bytes: over the 4194304-byte limit")

	// Exactly the cap is allowed.
	big := make([]byte, MaxTCPReply)
	reply, err = readTCPReply(bytes.NewReader(frame(big)), "kdc:88")
	require.NoError(t, err)
	assert.Len(t, reply, MaxTCPReply)

	// An empty frame reads as empty; Exchange is the one that rejects it.
	reply, err = readTCPReply(bytes.NewReader([]byte{0, 0, 0, 0}), "kdc:88")
	require.NoError(t, err)
	assert.Empty(t, reply)
}

// FuzzReadTCPReply checks the RFC 4120 §7.2.2 frame reader on arbitrary
// streams: no panic, no reply beyond the cap, and a successful read is
// exactly the declared bytes after the prefix.
func FuzzReadTCPReply(f *testing.F) {
	f.Add(frame([]byte("hello")))
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{0x80, 0, 0, 0, 1})
	f.Add([]byte{0, 0x40, 0, 1})
	f.Add([]byte{0, 0, 0, 10, 1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, r := range []io.Reader{bytes.NewReader(data), iotest.HalfReader(bytes.NewReader(data))} {
			reply, err := readTCPReply(r, "fuzz:88")
			if err != nil {
				if reply != nil {
					t.Fatalf("reply %d bytes with error %v", len(reply), err)
				}
				var tl *ReplyTooLargeError
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &tl) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				continue
			}
			n := binary.BigEndian.Uint32(data)
			if n > MaxTCPReply || !bytes.Equal(reply, data[4:4+n]) {
				t.Fatalf("declared %d, got %d bytes", n, len(reply))
			}
		}
	})
}

// FuzzKRBErrorCode: whatever a KDC sends, recognising KRB-ERRORs never
// panics.
func FuzzKRBErrorCode(f *testing.F) {
	f.Add(krbErrorBytes(f, codeResponseTooBig))
	f.Add([]byte{0x7e, 0x03, 0x30, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		krbErrorCode(data)
	})
}
