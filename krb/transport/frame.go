package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jcmturner/gokrb5/v8/messages"
)

const (
	// MaxUDPReply is the largest UDP reply read: one datagram cannot be
	// larger (RFC 4120 §7.2.1; MIT reads 64 KiB too).
	MaxUDPReply = 64 << 10

	// MaxTCPReply caps the length a TCP reply may declare (RFC 4120 §7.2.2).
	// A KDC reply of a few hundred KiB would already be extraordinary (a
	// ticket with a large PAC); the cap stops a bogus length prefix from
	// making us allocate up to 2 GiB. MIT caps at 1 MiB.
	MaxTCPReply = 4 << 20

	// krbErrorTag is the first byte of a DER KRB-ERROR: [APPLICATION 30],
	// constructed (RFC 4120 §5.9.1).
	krbErrorTag = 0x7e

	// KRB-ERROR codes sendto acts on (RFC 4120 §7.5.9).
	codeSvcUnavailable = 29 // KDC_ERR_SVC_UNAVAILABLE: try another KDC
	codeResponseTooBig = 52 // KRB_ERR_RESPONSE_TOO_BIG: resend over TCP

	// tcpLengthReservedMSB is the length prefix's high bit, reserved for
	// extensions (RFC 4120 §7.2.2) that KDC replies never use.
	tcpLengthReservedMSB = 0x80000000
)

// ReplyTooLargeError reports a TCP reply whose length prefix exceeds
// MaxTCPReply, or has the high bit set, which RFC 4120 §7.2.2 reserves for
// extensions no KDC uses. Nothing of that size is allocated.
type ReplyTooLargeError struct {
	Addr   string // KDC address, host:port
	Length uint32 // length the prefix declared
	Limit  int    // MaxTCPReply
}

func (e *ReplyTooLargeError) Error() string {
	why := fmt.Sprintf("over the %d-byte limit", e.Limit)
	if e.Length&tcpLengthReservedMSB != 0 {
		why = "high bit reserved by RFC 4120 §7.2.2 is set"
	}
	return fmt.Sprintf("TCP reply from %s declares %d bytes: %s", e.Addr, e.Length, why)
}

// writeTCPRequest sends req with its 4-byte big-endian length prefix
// (RFC 4120 §7.2.2), in a single write so that no delayed-ACK stall
// separates prefix and message.
func writeTCPRequest(w io.Writer, req []byte) error {
	var prefix [4]byte
	binary.BigEndian.PutUint32(prefix[:], uint32(len(req)))
	bufs := net.Buffers{prefix[:], req}
	_, err := bufs.WriteTo(w)
	return err
}

// readTCPReply reads one RFC 4120 §7.2.2 frame: a 4-byte big-endian length,
// then that many bytes. The length is checked before anything is allocated;
// a stream that ends early is an error wrapping io.ErrUnexpectedEOF (io.EOF
// if it ended before the first byte); a read error is wrapped as is. addr
// only labels errors.
func readTCPReply(r io.Reader, addr string) ([]byte, error) {
	var prefix [4]byte
	if n, err := io.ReadFull(r, prefix[:]); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			return nil, fmt.Errorf("connection closed without a reply: %w", err)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("short read of the length prefix (%d of 4 bytes): %w", n, err)
		default:
			return nil, fmt.Errorf("reading the length prefix: %w", err)
		}
	}
	length := binary.BigEndian.Uint32(prefix[:])
	if length&tcpLengthReservedMSB != 0 || length > MaxTCPReply {
		return nil, &ReplyTooLargeError{Addr: addr, Length: length, Limit: MaxTCPReply}
	}
	reply := make([]byte, length)
	if n, err := io.ReadFull(r, reply); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("short read: %d of %d reply bytes: %w", n, length, io.ErrUnexpectedEOF)
		}
		return nil, fmt.Errorf("reading the reply (%d of %d bytes): %w", n, length, err)
	}
	return reply, nil
}

// krbErrorCode returns the error-code of reply if it is a KRB-ERROR
// (RFC 4120 §5.9.1). Anything else, including a KRB-ERROR that does not
// decode, gives ok == false: the bytes are then the caller's to judge.
func krbErrorCode(reply []byte) (code int32, ok bool) {
	if len(reply) == 0 || reply[0] != krbErrorTag {
		return 0, false
	}
	defer func() {
		// The ASN.1 decoder is not ours; a panic on hostile input must not
		// take the caller down with it.
		if recover() != nil {
			code, ok = 0, false
		}
	}()
	var e messages.KRBError
	if err := e.Unmarshal(reply); err != nil {
		return 0, false
	}
	return e.ErrorCode, true
}
