//lint:file-ignore ST1005 the profile errors are MIT's messages (prof_err.et), verbatim

package krb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
)

// This file is MIT krb5 1.20's profile library (src/util/profile:
// prof_parse.c, prof_tree.c, prof_init.c, prof_file.c) rewritten in Go:
// the same tree, the same parser state machine and the same iterator, so
// that every relation reads as MIT's profile_get_values reads it. Our own
// code rather than a library because the semantics are MIT's and no Go
// parser has them (gokrb5's drops tab-separated includes, skips symlinked
// drop-ins, appends included files at the end instead of where the
// directive stands, and panics on some nesting).

// Errors of the profile parser, with MIT's messages (prof_err.et). A
// *ConfigError wraps one of them with the file and line.
var (
	ErrProfileSectionNotTop    = errors.New("Profile section header not at top level")
	ErrProfileSectionSyntax    = errors.New("Syntax error in profile section header")
	ErrProfileRelationSyntax   = errors.New("Syntax error in profile relation")
	ErrProfileExtraCloseBrace  = errors.New("Extra closing brace in profile")
	ErrProfileMissingOpenBrace = errors.New("Missing open brace in profile")
	ErrProfileIncludeFile      = errors.New("Included profile file could not be read")
	ErrProfileIncludeDir       = errors.New("Included profile directory could not be read")
	// ErrProfileModule: a "module" directive at the top of the first file.
	// MIT loads a profile module from a shared library (and reads an empty
	// profile when the library is missing); gokinit does not load them.
	ErrProfileModule = errors.New("profile modules are not supported")
	// ErrProfileUnexpectedModule: a "module" directive anywhere else.
	ErrProfileUnexpectedModule = errors.New("Unexpected module declaration in profile")
	// ErrConfigFormat is MIT's KRB5_CONFIG_BADFORMAT, which krb5_init_context
	// returns for the five syntax errors above: errors.Is(err,
	// ErrConfigFormat) holds for them.
	ErrConfigFormat = errors.New("Improper format of Kerberos configuration file")
	// ErrProfileBadBoolean: a boolean that krb5_init_context reads
	// (allow_weak_crypto...) is not one of MIT's words.
	ErrProfileBadBoolean = errors.New("Invalid boolean value")
	// ErrProfileBadTristate: dns_canonicalize_hostname is neither a
	// boolean nor "fallback" (MIT's get_tristate returns EINVAL).
	ErrProfileBadTristate = errors.New("Invalid argument")
)

// ConfigError is an error in a krb5.conf file: the file, the line (1-based;
// 0 when the error is not about a line) and one of the ErrProfile errors.
type ConfigError struct {
	File string
	Line int
	Err  error
	// Cause is the operating system's error for an include that could not
	// be read, else nil.
	Cause error
}

func (e *ConfigError) Error() string {
	s := e.File
	if e.Line > 0 {
		s = fmt.Sprintf("%s:%d", s, e.Line)
	}
	s += ": " + e.Err.Error()
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap gives the ErrProfile error, ErrConfigFormat for syntax errors, and
// the operating system's error.
func (e *ConfigError) Unwrap() []error {
	errs := []error{e.Err}
	switch e.Err {
	case ErrProfileSectionNotTop, ErrProfileSectionSyntax, ErrProfileRelationSyntax,
		ErrProfileExtraCloseBrace, ErrProfileMissingOpenBrace:
		errs = append(errs, ErrConfigFormat)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// profNode is MIT's struct profile_node: a section (relation false) or a
// relation. Children are kept sorted by name (bytewise, as strcmp), those
// of one name in the order they were added.
type profNode struct {
	name     string
	value    string
	relation bool
	final    bool
	parent   *profNode
	children []*profNode
}

// add is MIT 1.20's profile_add_node: a new node goes after the last child
// of its name; a section of a name that already exists is that section
// (duplicate sections merge).
func (s *profNode) add(name, value string, relation bool) *profNode {
	i := sort.Search(len(s.children), func(i int) bool { return s.children[i].name >= name })
	for ; i < len(s.children) && s.children[i].name == name; i++ {
		if !relation && !s.children[i].relation {
			return s.children[i]
		}
	}
	n := &profNode{name: name, value: value, relation: relation, parent: s}
	s.children = slices.Insert(s.children, i, n)
	return n
}

const (
	stateInitComment = iota
	stateStdLine
	stateGetOBrace
)

// parseState is MIT's struct parse_state; each file has its own, the root
// is shared by a file and all it includes.
type parseState struct {
	state      int
	groupLevel int
	root, cur  *profNode
	file       string
	line       int
	depth      int
	// allowModule: a module directive is allowed (the first file of the
	// list, not an included one).
	allowModule bool
	// includes counts the files included so far for one file of the list.
	includes *int
}

// maxIncludes bounds the files one file of the list may include in all: a
// file that includes itself twice would otherwise be read 2^depth times.
// MIT has no bound and fails when it runs out of file descriptors.
const maxIncludes = 1000

// maxIncludeDepth bounds include nesting, so that a file including itself
// is an error rather than a hang (MIT recurses until it runs out of file
// descriptors).
const maxIncludeDepth = 16

// fgetsSize is MIT's parse_file buffer: a longer line is read as several.
const fgetsSize = 2048

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func skipBlanks(s string) string {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	return s[i:]
}

// stripLine removes trailing newlines and carriage returns (only those).
func stripLine(s string) string {
	return strings.TrimRight(s, "\r\n")
}

// parseText feeds text to st line by line as MIT's fgets loop does.
func (st *parseState) parseText(text string) error {
	lineStart := true
	for len(text) > 0 {
		n := len(text)
		if n > fgetsSize-1 {
			n = fgetsSize - 1
		}
		if i := strings.IndexByte(text[:n], '\n'); i >= 0 {
			n = i + 1
		}
		line := text[:n]
		text = text[n:]
		if lineStart {
			st.line++
		}
		lineStart = line[len(line)-1] == '\n'
		if i := strings.IndexByte(line, 0); i >= 0 {
			line = line[:i] // C strings end at a NUL
		}
		if err := st.parseLine(line); err != nil {
			return err
		}
	}
	return nil
}

func (st *parseState) fail(err error) error {
	return &ConfigError{File: st.file, Line: st.line, Err: err}
}

// parseLine is MIT's parse_line.
func (st *parseState) parseLine(line string) error {
	if strings.HasPrefix(line, "include") && len(line) > 7 && isCSpace(line[7]) {
		return st.includeFile(stripLine(skipBlanks(line[7:])))
	}
	if strings.HasPrefix(line, "includedir") && len(line) > 10 && isCSpace(line[10]) {
		return st.includeDir(stripLine(skipBlanks(line[10:])))
	}
	switch st.state {
	case stateInitComment:
		if strings.HasPrefix(line, "module") && len(line) > 6 && isCSpace(line[6]) {
			if st.allowModule {
				return st.fail(ErrProfileModule)
			}
			return st.fail(ErrProfileUnexpectedModule)
		}
		if !strings.HasPrefix(line, "[") {
			return nil
		}
		st.state = stateStdLine
		return st.parseStdLine(line)
	case stateStdLine:
		return st.parseStdLine(line)
	default: // stateGetOBrace
		if !strings.HasPrefix(skipBlanks(line), "{") {
			return st.fail(ErrProfileMissingOpenBrace)
		}
		st.state = stateStdLine
	}
	return nil
}

// parseStdLine is MIT 1.20's parse_std_line.
func (st *parseState) parseStdLine(line string) error {
	cp := skipBlanks(line)
	if cp == "" || cp[0] == ';' || cp[0] == '#' {
		return nil
	}
	cp = stripLine(cp)
	if cp == "" {
		return nil
	}
	switch cp[0] {
	case '[':
		if st.groupLevel > 0 {
			return st.fail(ErrProfileSectionNotTop)
		}
		end := strings.IndexByte(cp, ']')
		if end < 0 {
			return st.fail(ErrProfileSectionSyntax)
		}
		st.cur = st.root.add(cp[1:end], "", false)
		rest := cp[end+1:]
		if strings.HasPrefix(rest, "*") {
			st.cur.final = true
			rest = rest[1:]
		}
		if skipBlanks(rest) != "" {
			return st.fail(ErrProfileSectionSyntax)
		}
		return nil
	case '}':
		if st.groupLevel == 0 {
			return st.fail(ErrProfileExtraCloseBrace)
		}
		if len(cp) > 1 && cp[1] == '*' {
			st.cur.final = true
		}
		st.cur = st.cur.parent
		st.groupLevel--
		return nil
	}
	eq := strings.IndexByte(cp, '=')
	if eq <= 0 {
		return st.fail(ErrProfileRelationSyntax)
	}
	tag := cp[:eq]
	for i := 0; i < len(tag); i++ {
		if isCSpace(tag[i]) {
			if skipBlanks(tag[i:]) != "" {
				return st.fail(ErrProfileRelationSyntax)
			}
			tag = tag[:i]
			break
		}
	}
	value := skipBlanks(cp[eq+1:])
	subsection := false
	switch {
	case strings.HasPrefix(value, `"`):
		value = unquoteProfile(value[1:])
	case value == "":
		subsection = true
		st.state = stateGetOBrace
	case value[0] == '{' && skipBlanks(value[1:]) == "":
		subsection = true
	default:
		end := len(value)
		for end > 1 && isCSpace(value[end-1]) {
			end--
		}
		value = value[:end]
	}
	final := false
	if i := strings.IndexByte(tag, '*'); i >= 0 {
		tag, final = tag[:i], true
	}
	if subsection {
		st.cur = st.cur.add(tag, "", false)
		if final {
			st.cur.final = true
		}
		st.groupLevel++
		return nil
	}
	n := st.cur.add(tag, value, true)
	if final {
		n.final = true
	}
	return nil
}

// unquoteProfile is MIT's parse_quoted_string: up to the first unescaped
// '"' (the rest of the line is ignored), with \n, \t and \b, and any other
// escaped character standing for itself.
func unquoteProfile(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && s[i] != '"'; i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readIncluded reads a file an include names as MIT's fopen and fgets do: a
// directory opens and reads as empty.
func readIncluded(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, syscall.EISDIR) {
		return "", nil
	}
	return string(b), err
}

// includeFile is MIT's parse_include_file: the file is parsed with its own
// state into the same tree, where the directive stands.
func (st *parseState) includeFile(path string) error {
	if st.includes == nil {
		st.includes = new(int)
	}
	*st.includes++
	if *st.includes > maxIncludes {
		return &ConfigError{File: st.file, Line: st.line, Err: ErrProfileIncludeFile,
			Cause: fmt.Errorf("%s: more than %d files included", path, maxIncludes)}
	}
	if st.depth >= maxIncludeDepth {
		return &ConfigError{File: st.file, Line: st.line, Err: ErrProfileIncludeFile,
			Cause: fmt.Errorf("%s: includes nested more than %d deep", path, maxIncludeDepth)}
	}
	text, err := readIncluded(path)
	if err != nil {
		return &ConfigError{File: st.file, Line: st.line, Err: ErrProfileIncludeFile, Cause: err}
	}
	sub := &parseState{root: st.root, file: path, depth: st.depth + 1, includes: st.includes}
	return sub.parseText(text)
}

// includeDir is MIT's parse_include_dir: the directory's files whose names
// MIT considers valid (validIncludeName), in byte order, symlinks followed.
func (st *parseState) includeDir(dir string) error {
	names, err := dirFilenames(dir)
	if err != nil {
		return &ConfigError{File: st.file, Line: st.line, Err: ErrProfileIncludeDir, Cause: err}
	}
	for _, name := range names {
		if !validIncludeName(name) {
			continue
		}
		if err := st.includeFile(dir + "/" + name); err != nil {
			return err
		}
	}
	return nil
}

// dirFilenames is MIT's k5_dir_filenames: every name but "." and "..",
// sorted bytewise.
func dirFilenames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// validIncludeName is MIT's valid_name: not a dotfile, and either ending in
// ".conf" or made only of ASCII letters, digits, '-' and '_' (so editor
// backups, .rpmsave and .dpkg-old files are skipped).
func validIncludeName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	if strings.HasSuffix(name, ".conf") {
		return true
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseProfileText parses one file's text into a new tree (MIT's
// profile_parse_file).
func parseProfileText(name, text string, allowModule bool) (*profNode, error) {
	root := &profNode{name: "(root)"}
	st := &parseState{root: root, file: name, allowModule: allowModule}
	if err := st.parseText(text); err != nil {
		return nil, err
	}
	return root, nil
}

// errSkipFile marks a file of the list that MIT skips (missing or
// unreadable).
var errSkipFile = errors.New("skipped")

// loadProfileFile is MIT's profile_update_file_data for one file of the
// list: a directory is read as an includedir; "~/" is the home directory.
func loadProfileFile(path string, first bool) (*profNode, error) {
	if strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[2:])
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("%w: %w", errSkipFile, err)
		}
		return nil, err
	}
	if fi.IsDir() {
		root := &profNode{name: "(root)"}
		st := &parseState{root: root, file: path}
		if err := st.includeDir(path); err != nil {
			return nil, err
		}
		return root, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("%w: %w", errSkipFile, err)
		}
		return nil, err
	}
	return parseProfileText(path, string(b), first)
}

// profileIter is MIT's profile_node_iterator, run to the end: the nodes
// under path in each file in turn, stopping after a file in which a
// section on the path is final. With name "", all children of the section
// path names; otherwise the children called name of the section
// path names. sections/relations select the kind.
func profileIter(files []*profNode, path []string, name string, sections, relations bool, yield func(*profNode)) {
	for _, root := range files {
		finalSeen := false
		sec := root
		for _, p := range path {
			var next *profNode
			for _, c := range sec.children {
				if c.name == p && !c.relation {
					next = c
					break
				}
			}
			if next == nil {
				sec = nil
				break
			}
			sec = next
			if sec.final {
				finalSeen = true
			}
		}
		if sec != nil {
			for _, c := range sec.children {
				if name != "" && c.name != name {
					continue
				}
				if sections && c.relation || relations && !c.relation {
					continue
				}
				yield(c)
			}
		}
		if finalSeen {
			return
		}
	}
}
