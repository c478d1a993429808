// Package safetext makes text from the network safe to show: on a
// terminal, in a prompt, in a log or trace line.
//
// A KDC, a DNS server or a certificate can put anything in the strings it
// hands the client: e-text, principal and realm names, OTP service and
// vendor names, certificate subjects. Written raw, control characters in
// them drive the user's terminal (ESC sequences repaint the screen or set
// the window title, a carriage return overwrites a line with a fake
// "Password accepted"), and Unicode format characters (bidirectional
// overrides, zero-width characters, line separators) make the text read as
// something else. String replaces each such character, and each byte that
// is not UTF-8, by a Go escape (\x1b, \r, \u202e), leaving all printable
// text, including non-ASCII letters, as it is.
//
// MIT krb5 keeps KDC text off the terminal altogether where it can (a
// KRB_ERR_GENERIC is reported as "Generic error (see e-text)"); where a
// network string must be shown, it goes through String first.
package safetext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String returns s with every control character (C0, DEL, C1), Unicode
// format character (category Cf: bidi overrides, zero-width characters),
// line and paragraph separator (Zl, Zp), and invalid UTF-8 byte written as
// a Go escape sequence: "\r", "\x1b", "\u202e", "\xff". It returns s itself
// when nothing needs escaping. The work is linear in len(s).
func String(s string) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, size) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unsafeRune(r, size) {
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	return b.String()
}

func unsafeRune(r rune, size int) bool {
	if r == utf8.RuneError && size == 1 {
		return true
	}
	if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
		return true
	}
	if r < 0xa0 {
		return false
	}
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co) || r == utf8.RuneError
}

// Error wraps err so that its message is escaped with String, keeping
// errors.Is and errors.As working through Unwrap.
func Error(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*safeError); ok {
		return err
	}
	return &safeError{err}
}

type safeError struct{ err error }

func (e *safeError) Error() string { return String(e.err.Error()) }
func (e *safeError) Unwrap() error { return e.err }
