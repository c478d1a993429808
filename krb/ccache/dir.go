package ccache

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DIR collections, in MIT's layout (cc_dir.c): a directory holding FILE
// caches whose names begin with "tkt" and a file "primary" whose one line
// names the primary cache. "DIR:dir" resolves to the primary cache (the
// primary file is created naming "tkt" when missing), "DIR::dir/tktNAME" to
// one member. The directory is created (mode 0700) when missing, as MIT's
// verify_dir does. A member is an ordinary FILE cache, written atomically
// by WriteFile.

const (
	dirPrimaryFile = "primary"
	dirCachePrefix = "tkt"
)

type dirBackend struct {
	fileBackend
	dir, file string // the member's directory and file name
}

func (d *dirBackend) switchTo() error {
	return writePrimary(d.dir, d.file)
}

func dirMember(dir, file string) *CCache {
	path := filepath.Join(dir, file)
	return &CCache{typ: TypeDir, residual: ":" + path, be: &dirBackend{fileBackend(path), dir, file}}
}

func resolveDir(res string) (*CCache, error) {
	if sub, ok := strings.CutPrefix(res, ":"); ok {
		dir, file, err := splitMember(sub)
		if err != nil {
			return nil, err
		}
		if err := verifyDir(dir); err != nil {
			return nil, err
		}
		return dirMember(dir, file), nil
	}
	if res == "" {
		return nil, fmt.Errorf("%w: DIR: names no directory", ErrNoName)
	}
	if err := verifyDir(res); err != nil {
		return nil, err
	}
	file, err := readPrimary(res)
	if errors.Is(err, fs.ErrNotExist) {
		file = dirCachePrefix
		err = writePrimary(res, file)
	}
	if err != nil {
		return nil, err
	}
	return dirMember(res, file), nil
}

// splitMember checks a member path as MIT's split_path does.
func splitMember(path string) (dir, file string, err error) {
	dir, file = filepath.Split(path)
	if dir == "" {
		return "", "", mitErr(ErrBadName, "Subsidiary cache path %s has no parent directory", path)
	}
	if !strings.HasPrefix(file, dirCachePrefix) {
		return "", "", mitErr(ErrBadName, "Subsidiary cache path %s filename does not begin with \"tkt\"", path)
	}
	if len(dir) > 1 {
		dir = strings.TrimSuffix(dir, "/")
	}
	return dir, file, nil
}

func verifyDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if os.Mkdir(dir, 0o700) == nil {
			return nil
		}
	}
	if err != nil {
		return mitErr(ErrNotFound, "Credential cache directory %s does not exist", dir)
	}
	if !fi.IsDir() {
		return mitErr(ErrFormat, "Credential cache directory %s exists but is not a directory", dir)
	}
	return nil
}

// readPrimary returns the file name the primary file names, checked as MIT's
// read_primary_file does (a single "tkt*" file name on one line).
func readPrimary(dir string) (string, error) {
	path := filepath.Join(dir, dirPrimaryFile)
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(f, 64).ReadString('\n')
	if err != nil || len(line) > 64 || !strings.HasPrefix(line, dirCachePrefix) || strings.ContainsAny(line, `/\`) {
		return "", mitErr(ErrFormat, "%s contains invalid filename", path)
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// writePrimary replaces the primary file atomically, as MIT's
// write_primary_file (a mkstemp file renamed over it).
func writePrimary(dir, file string) error {
	path := filepath.Join(dir, dirPrimaryFile)
	f, err := os.CreateTemp(dir, dirPrimaryFile+".")
	if err != nil {
		return fmt.Errorf("ccache: writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.WriteString(file + "\n")
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("ccache: writing %s: %w", path, err)
	}
	return nil
}

// listDir yields the primary cache when its file exists, then every other
// tkt* file, as MIT's dcc_ptcursor_next; "DIR::path" lists only that file.
func listDir(res string) ([]*CCache, error) {
	if sub, ok := strings.CutPrefix(res, ":"); ok {
		dir, file, err := splitMember(sub)
		if err != nil {
			return nil, err
		}
		if fileExists(sub) {
			return []*CCache{dirMember(dir, file)}, nil
		}
		return nil, nil
	}
	ents, err := os.ReadDir(res)
	if err != nil {
		return nil, nil // MIT returns an empty cursor
	}
	primary, _ := readPrimary(res)
	var out []*CCache
	if primary != "" && fileExists(filepath.Join(res, primary)) {
		out = append(out, dirMember(res, primary))
	}
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, dirCachePrefix) || n == primary {
			continue
		}
		out = append(out, dirMember(res, n))
	}
	return out, nil
}

// newUniqueDir creates an empty tkt* file in the default DIR collection, as
// MIT's dcc_gen_new (mkstemp of dir/tktXXXXXX).
func newUniqueDir(res string) (*CCache, error) {
	if res == "" || strings.HasPrefix(res, ":") {
		return nil, fmt.Errorf("%w because default cache is not a directory collection", ErrCannotCreate)
	}
	if err := verifyDir(res); err != nil {
		return nil, err
	}
	for {
		file := dirCachePrefix + randomName(6)
		f, err := os.OpenFile(filepath.Join(res, file), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ccache: %w", err)
		}
		f.Close()
		return dirMember(res, file), nil
	}
}
