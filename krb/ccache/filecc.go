package ccache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
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
		return nil, fmt.Errorf("%w (file %s)", err, string(f))
	}
	return c, nil
}

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
