//lint:file-ignore ST1005 ErrDeltatFormat is MIT's KRB5_DELTAT_BADFORMAT message, verbatim

package krb

import (
	"errors"
	"fmt"
	"time"
)

// ErrDeltatFormat is MIT's KRB5_DELTAT_BADFORMAT.
var ErrDeltatFormat = errors.New("Invalid format of Kerberos lifetime or clock skew string")

// ParseDuration reads a duration as MIT's krb5_string_to_deltat does, in
// krb5.conf and on kinit's command line (see ParseDeltat), and refuses a
// negative one.
func ParseDuration(s string) (time.Duration, error) {
	n, err := ParseDeltat(s)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("%w: %q is negative", ErrDeltatFormat, s)
	}
	return time.Duration(n) * time.Second, nil
}

// ParseDeltat is MIT 1.20's krb5_string_to_deltat (lib/krb5/krb/x-deltat.y),
// in seconds: "3600", "10h", "1d2h30m", "1d 2h", "90s", "1:30"
// (hours:minutes), "1:30:15", "2-01:30:15" (days-hours:minutes:seconds),
// negative numbers, within a 32-bit count of seconds. As in MIT, a
// character that is not part of the grammar ends the string ("10h junk" is
// 10 hours, "127.0.0.1" is 127 seconds). Errors are ErrDeltatFormat.
func ParseDeltat(s string) (int32, error) {
	toks, ok := lexDeltat(s)
	if !ok {
		return 0, ErrDeltatFormat
	}
	p := &deltatParser{toks: toks}
	v, ok := p.deltat()
	if !ok || p.peek().kind != dtEOF {
		return 0, ErrDeltatFormat
	}
	return int32(v), nil
}

const (
	dtEOF = iota
	dtNum
	dtLongNum
	dtWS
	dtChar // '-', ':', 'd', 'h', 'm', 's'
)

type dtToken struct {
	kind int
	val  int64
	ch   byte
}

const (
	dtMax = 1<<31 - 1
	dtMin = -1 << 31
)

// lexDeltat is x-deltat.y's mylex, run to the end; false on tok_OVERFLOW
// (which the grammar accepts nowhere).
func lexDeltat(s string) ([]dtToken, bool) {
	var out []dtToken
	isSpace := func(c byte) bool { return isCSpace(c) }
	for i := 0; ; {
		if i >= len(s) || s[i] >= 0x80 {
			return append(out, dtToken{kind: dtEOF}), true
		}
		c := s[i]
		i++
		switch {
		case c == '-' || c == ':' || c == 'd' || c == 'h' || c == 'm' || c == 's':
			out = append(out, dtToken{kind: dtChar, ch: c})
		case c >= '0' && c <= '9':
			start := i - 1
			n := int64(c - '0')
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				if n > dtMax/10 {
					return nil, false
				}
				n *= 10
				d := int64(s[i] - '0')
				if n > dtMax-d {
					return nil, false
				}
				n += d
				i++
			}
			k := dtNum
			if i-start > 2 {
				k = dtLongNum
			}
			out = append(out, dtToken{kind: k, val: n})
		case c == ' ' || c == '\t' || c == '\n':
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			out = append(out, dtToken{kind: dtWS})
		default:
			return append(out, dtToken{kind: dtEOF}), true
		}
	}
}

type deltatParser struct {
	toks []dtToken
	pos  int
}

func (p *deltatParser) peek() dtToken { return p.toks[p.pos] }

func (p *deltatParser) char(c byte) bool {
	if t := p.peek(); t.kind == dtChar && t.ch == c {
		p.pos++
		return true
	}
	return false
}

// shortNum is tok_NUM (one or two digits).
func (p *deltatParser) shortNum() (int64, bool) {
	if t := p.peek(); t.kind == dtNum {
		p.pos++
		return t.val, true
	}
	return 0, false
}

// wsnum: ws num; num: posnum | '-' posnum.
func (p *deltatParser) wsnum() (int64, bool) {
	save := p.pos
	if p.peek().kind == dtWS {
		p.pos++
	}
	neg := p.char('-')
	t := p.peek()
	if t.kind != dtNum && t.kind != dtLongNum {
		p.pos = save
		return 0, false
	}
	p.pos++
	if neg {
		return -t.val, true
	}
	return t.val, true
}

func sumOK(a, b int64) bool {
	if a > 0 {
		return b <= dtMax-a
	}
	return dtMin-a <= b
}

func dtDo(d, h, m, s int64) (int64, bool) {
	if d > dtMax/86400 || d < dtMin/86400 || h > dtMax/3600 || h < dtMin/3600 || m > dtMax/60 || m < dtMin/60 {
		return 0, false
	}
	out := d * 86400
	for _, x := range []int64{h * 3600, m * 60, s} {
		if !sumOK(out, x) {
			return 0, false
		}
		out += x
	}
	return out, true
}

func (p *deltatParser) deltat() (int64, bool) {
	n, ok := p.wsnum()
	if !ok {
		return 0, false
	}
	switch {
	case p.char('d'):
		r, ok := p.optHMS()
		if !ok {
			return 0, false
		}
		return dtDo(n, 0, 0, r)
	case p.char('h'):
		r, ok := p.optMS()
		if !ok {
			return 0, false
		}
		return dtDo(0, n, 0, r)
	case p.char('m'):
		r, ok := p.optS()
		if !ok {
			return 0, false
		}
		return dtDo(0, 0, n, r)
	case p.char('s'):
		return dtDo(0, 0, 0, n)
	case p.char('-'):
		h, ok1 := p.shortNum()
		ok2 := ok1 && p.char(':')
		m, ok3 := p.shortNum()
		ok4 := ok2 && ok3 && p.char(':')
		s, ok5 := p.shortNum()
		if !ok4 || !ok5 {
			return 0, false
		}
		return dtDo(n, h, m, s)
	case p.char(':'):
		m, ok := p.shortNum()
		if !ok {
			return 0, false
		}
		if p.char(':') {
			s, ok := p.shortNum()
			if !ok {
				return 0, false
			}
			return dtDo(0, n, m, s)
		}
		return dtDo(0, n, m, 0)
	}
	return dtDo(0, 0, 0, n)
}

// optHMS: opt_ms | wsnum 'h' opt_ms.
func (p *deltatParser) optHMS() (int64, bool) {
	save := p.pos
	if n, ok := p.wsnum(); ok && p.char('h') {
		if n > dtMax/3600 || n < dtMin/3600 {
			return 0, false
		}
		r, ok := p.optMS()
		if !ok || !sumOK(n*3600, r) {
			return 0, false
		}
		return n*3600 + r, true
	}
	p.pos = save
	return p.optMS()
}

// optMS: opt_s | wsnum 'm' opt_s.
func (p *deltatParser) optMS() (int64, bool) {
	save := p.pos
	if n, ok := p.wsnum(); ok && p.char('m') {
		if n > dtMax/60 || n < dtMin/60 {
			return 0, false
		}
		r, ok := p.optS()
		if !ok || !sumOK(n*60, r) {
			return 0, false
		}
		return n*60 + r, true
	}
	p.pos = save
	return p.optS()
}

// optS: ws | wsnum 's'.
func (p *deltatParser) optS() (int64, bool) {
	save := p.pos
	if n, ok := p.wsnum(); ok && p.char('s') {
		return n, true
	}
	p.pos = save
	if p.peek().kind == dtWS {
		p.pos++
	}
	return 0, true
}
