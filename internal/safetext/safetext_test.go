package safetext

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// TestStringEscapesTerminalControl tries the members of the class "a
// network string that drives a terminal or disguises itself": C0 and C1
// controls (ESC, CSI, OSC window title, carriage return, backspace, bell,
// NUL), DEL, bidi overrides and isolates, zero-width characters, line and
// paragraph separators, a byte order mark, private-use characters and
// invalid UTF-8.
func TestStringEscapesTerminalControl(t *testing.T) {
	cases := map[string]string{
		"\x1b]0;owned\x07":           `\x1b]0;owned\x07`,
		"\x1b[2J\x1b[HPassword ok":   `\x1b[2J\x1b[HPassword ok`,
		"bad\rPassword accepted":     `bad\rPassword accepted`,
		"a\nb\tc":                    `a\nb\tc`,
		"x\bx\x00":                   `x\x08x\x00`,
		"del\x7f":                    `del\x7f`,
		"csi\u009b31m":               `csi\u009b31m`,
		"moc.\u202eevil":             `moc.\u202eevil`,
		"iso\u2066late\u2069":        `iso\u2066late\u2069`,
		"zero\u200bwidth\u200d":      `zero\u200bwidth\u200d`,
		"line\u2028para\u2029":       `line\u2028para\u2029`,
		"\ufeffbom":                  `\ufeffbom`,
		"pua\ue000":                  `pua\ue000`,
		"bad\xffutf8\xc3":            `bad\xffutf8\xc3`,
		"tag\U000e0041":              `tag\U000e0041`,
		"alice@EXAMPLE.COM":          "alice@EXAMPLE.COM",
		"Zoë/ユーザー@RÉALM":             "Zoë/ユーザー@RÉALM",
		`host\/x@R`:                  `host\/x@R`,
		"Generic error (see e-text)": "Generic error (see e-text)",
	}
	for in, want := range cases {
		got := String(in)
		assert.Equal(t, want, got, "%q", in)
		for _, r := range got {
			assert.False(t, r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || unicode.Is(unicode.Cf, r), "%q left %U", in, r)
		}
		assert.True(t, utf8.ValidString(got))
	}
}

// TestStringIsLinear: the work is one pass; a megabyte of escapes is fine.
func TestStringIsLinear(t *testing.T) {
	s := strings.Repeat("\x1b", 1<<20)
	assert.Len(t, String(s), 4<<20)
}

func TestErrorKeepsChain(t *testing.T) {
	base := errors.New("base")
	err := Error(fmt.Errorf("kdc said \x1b[2J: %w", base))
	assert.ErrorIs(t, err, base)
	assert.Equal(t, `kdc said \x1b[2J: base`, err.Error())
	assert.Same(t, err, Error(err))
	assert.Nil(t, Error(nil))
}

func FuzzString(f *testing.F) {
	f.Add("\x1b]0;t\x07\r\u202e\xff")
	f.Fuzz(func(t *testing.T, s string) {
		got := String(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
				t.Fatalf("%q kept %U", s, r)
			}
		}
		if len(got) > 10*len(s) {
			t.Fatalf("grew too much")
		}
	})
}
