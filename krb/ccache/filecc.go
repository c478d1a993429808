package ccache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// fileBackend is a FILE cache at a path: ReadFile and WriteFile.
type fileBackend string

func (f fileBackend) read() (*Cache, error) {
	b, err := os.ReadFile(string(f))
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(b) == 0 {
		// An empty file is a cache reserved but not yet initialized (a new
		// DIR member).
		return nil, fmt.Errorf("%w (filename: %s)", ErrNotFound, string(f))
	}
	if err != nil {
		return nil, fmt.Errorf("ccache: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fileFormatError(err, string(f))
	}
	return c, nil
}

// Messages of MIT's FILE cache for data it cannot read.
var (
	//lint:ignore ST1005 MIT's message (KRB5_CCACHE_BADVNO), verbatim
	errMITBadVersion = errors.New("Unsupported credentials cache format version number")
	//lint:ignore ST1005 MIT's message (KRB5_CC_END), verbatim
	errMITEnd = errors.New("End of credential cache reached")
)

// fileFormatError gives a parse failure MIT's words, as its cc_file.c
// reports it, each with "(filename: PATH)": a wrong magic byte or version is
// KRB5_CCACHE_BADVNO, a damaged header KRB5_CC_FORMAT, data cut short after
// the header KRB5_CC_END. The result still unwraps to the *ParseError (and so
// to ErrFormat or ErrVersion), whose offsets stay out of the message.
func fileFormatError(err error, path string) error {
	var pe *ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%w (file %s)", err, path)
	}
	mit := errMITEnd
	switch {
	case errors.Is(err, ErrVersion) || pe.Offset == 0:
		mit = errMITBadVersion
	case strings.HasPrefix(pe.Msg, "header"):
		mit = ErrBadName
	}
	return &mitFormatError{fmt.Sprintf("%v (filename: %s)", mit, path), err}
}

// mitFormatError is a cache format error shown in MIT's words.
type mitFormatError struct {
	msg string
	err error
}

func (e *mitFormatError) Error() string { return e.msg }
func (e *mitFormatError) Unwrap() error { return e.err }

func (f fileBackend) principal() (Principal, error) {
	c, err := f.read()
	if err != nil {
		return Principal{}, err
	}
	return c.DefaultPrincipal, nil
}

func (f fileBackend) write(c *Cache) error { return WriteFile(string(f), c) }

func (f fileBackend) destroy() error {
	err := os.Remove(string(f))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (filename: %s)", ErrNotFound, string(f))
	}
	if err != nil {
		return fmt.Errorf("ccache: %w", err)
	}
	return nil
}

func (fileBackend) switchTo() error { return nil }

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
