package krbtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// toolTimeout bounds one run of kdb5_util or kadmin.local.
const toolTimeout = 2 * time.Minute

// toolOutput is what a run of an MIT program printed.
type toolOutput struct {
	stdout, stderr, combined string
}

// runTool runs one of the KDC-side programs with the KDC's environment and
// an empty standard input, and fails if it exits non-zero. Errors name the
// command, with any password replaced, and include what it printed.
func (r *Realm) runTool(name string, args ...string) (toolOutput, error) {
	bin, err := findTool(name)
	if err != nil {
		return toolOutput{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = r.kdcEnv()
	cmd.Dir = r.Dir
	var stdout, stderr bytes.Buffer
	var combined lockedBuffer
	cmd.Stdout = io.MultiWriter(&stdout, &combined)
	cmd.Stderr = io.MultiWriter(&stderr, &combined)
	err = cmd.Run()
	out := toolOutput{stdout.String(), stderr.String(), combined.String()}
	if err != nil {
		return out, r.toolError(name, args, err, out.combined)
	}
	return out, nil
}

func (r *Realm) toolError(name string, args []string, err error, output string) error {
	output = strings.TrimRight(output, "\n")
	if output == "" {
		output = "(no output)"
	}
	return fmt.Errorf("krbtest: %s %s: %v\n%s", name, strings.Join(redact(args), " "), err, output)
}

// redact replaces the word after each password option with "<password>"
// and quotes words that would be ambiguous in a message.
func redact(args []string) []string {
	out := make([]string, len(args))
	hide := false
	for i, a := range args {
		switch {
		case hide:
			out[i] = "<password>"
		case a == "" || strings.ContainsAny(a, " \t\n\"'`\\"):
			out[i] = strconv.Quote(a)
		default:
			out[i] = a
		}
		hide = a == "-pw" || a == "-P" || a == "-w"
	}
	return out
}

// lockedBuffer is a bytes.Buffer that two goroutines may write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var errClosed = errors.New("krbtest: realm is closed")

// kadmin runs kadmin.local -r REALM args..., one call at a time.
func (r *Realm) kadmin(args ...string) (toolOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return toolOutput{}, errClosed
	}
	return r.runTool("kadmin.local", append([]string{"-r", r.Name}, args...)...)
}

// Kadmin runs kadmin.local -r REALM with args, each one argv word, so values
// with spaces or JSON pass intact:
//
//	r.Kadmin("setstr", "alice", "otp", `[{"type": "hotp"}]`)
//
// It returns what kadmin.local printed (standard output and error) and fails
// when it exits non-zero. Note that some kadmin.local commands (ktadd among
// them) report a missing principal on standard error and still exit 0.
// Calls on one realm are serialized.
func (r *Realm) Kadmin(args ...string) (string, error) {
	out, err := r.kadmin(args...)
	return out.combined, err
}

// AddPrincipal creates the principal name ("alice", "HTTP/host.example",
// with or without "@REALM") with a password-derived key for each of the
// realm's supported enctypes, or as the options say. The password travels
// on kadmin.local's command line, fine for a throwaway KDC; it never appears
// in errors. With NoKey the password must be empty.
func (r *Realm) AddPrincipal(name, password string, opts ...PrincipalOption) error {
	p := collect(opts)
	switch {
	case p.noKey && password != "":
		return fmt.Errorf("krbtest: AddPrincipal %s: NoKey with a password", name)
	case p.noKey:
		return r.addPrincipal(name, p, "-nokey")
	case password == "":
		return fmt.Errorf("krbtest: AddPrincipal %s: empty password (use NoKey for a principal without keys)", name)
	}
	return r.addPrincipal(name, p, "-pw", password)
}

// AddRandomKeyPrincipal creates the principal name with random keys
// (addprinc -randkey), as for services and hosts; export them with Keytab.
// With NoKey it has no keys at all.
func (r *Realm) AddRandomKeyPrincipal(name string, opts ...PrincipalOption) error {
	p := collect(opts)
	if p.noKey {
		return r.addPrincipal(name, p, "-nokey")
	}
	return r.addPrincipal(name, p, "-randkey")
}

func collect(opts []PrincipalOption) *principalConfig {
	p := &principalConfig{}
	for _, o := range opts {
		o(p)
	}
	return p
}

func (r *Realm) addPrincipal(name string, p *principalConfig, keyArgs ...string) error {
	if err := p.validate(); err != nil {
		return err
	}
	if name == "" || strings.HasPrefix(name, "-") {
		return fmt.Errorf("krbtest: bad principal name %q", name)
	}
	args := append([]string{"addprinc"}, keyArgs...)
	var ks []string
	if !p.noKey {
		ks = p.keysalts(r.cfg.supportedEnctypes)
	}
	if len(ks) > 0 {
		args = append(args, "-e", strings.Join(ks, ","))
	}
	args = append(args, p.flags...)
	args = append(args, p.args...)
	args = append(args, name)
	if _, err := r.kadmin(args...); err != nil {
		return err
	}
	if len(ks) == 0 {
		return nil
	}
	// MIT drops key/salt tuples it does not accept without a word, and falls
	// back to the default enctypes when none is left: check what we got.
	info, err := r.GetPrincipal(name)
	if err != nil {
		return err
	}
	random := keyArgs[0] == "-randkey"
	if !keysMatch(ks, info.Keys, random) {
		_, delErr := r.kadmin("delprinc", "-force", name)
		return errors.Join(fmt.Errorf("krbtest: addprinc %s -e %s: kadmin.local created keys %s; "+
			"MIT silently ignores key/salt tuples it does not accept (the principal was deleted again)",
			name, strings.Join(ks, ","), keyList(info.Keys)), delErr)
	}
	return nil
}

// KeyInfo is one key of a principal, as kadmin.local getprinc shows it.
type KeyInfo struct {
	// KVNO is the key version number.
	KVNO int
	// Enctype is MIT's name, e.g. "aes256-cts-hmac-sha384-192" (without
	// the "DEPRECATED:" prefix getprinc puts on des3 and arcfour).
	Enctype string
	// Salt is the salt type: "normal", "norealm", "onlyrealm", "special".
	// Random keys show as "normal".
	Salt string
}

// String returns "enctype:salt".
func (k KeyInfo) String() string { return k.Enctype + ":" + k.Salt }

// PrincipalInfo is what kadmin.local getprinc says about a principal.
type PrincipalInfo struct {
	Name       string    // "alice@REALM"
	Keys       []KeyInfo // in the order getprinc lists them
	Attributes []string  // e.g. "REQUIRES_PRE_AUTH", "DISALLOW_ALL_TIX"
	Raw        string    // the whole getprinc output
}

// GetPrincipal runs kadmin.local getprinc and parses its keys and
// attributes.
func (r *Realm) GetPrincipal(name string) (*PrincipalInfo, error) {
	out, err := r.kadmin("getprinc", name)
	if err != nil {
		return nil, err
	}
	info := &PrincipalInfo{Raw: out.stdout}
	for _, line := range strings.Split(out.stdout, "\n") {
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			key, val = strings.TrimSuffix(line, ":"), ""
		}
		switch key {
		case "Principal":
			info.Name = val
		case "Attributes":
			info.Attributes = strings.Fields(val)
		case "Key":
			k, err := parseKey(val)
			if err != nil {
				return nil, fmt.Errorf("krbtest: getprinc %s: %w", name, err)
			}
			info.Keys = append(info.Keys, k)
		}
	}
	return info, nil
}

// parseKey parses "vno 1, aes256-cts-hmac-sha1-96:norealm".
func parseKey(s string) (KeyInfo, error) {
	vno, enc, ok := strings.Cut(s, ", ")
	n, err := strconv.Atoi(strings.TrimPrefix(vno, "vno "))
	if !ok || err != nil {
		return KeyInfo{}, fmt.Errorf("unexpected key line %q", s)
	}
	for _, prefix := range []string{"DEPRECATED:", "UNSUPPORTED:"} {
		enc = strings.TrimPrefix(enc, prefix)
	}
	enc, salt, _ := strings.Cut(enc, ":")
	if salt == "" {
		salt = SaltNormal
	}
	return KeyInfo{KVNO: n, Enctype: enc, Salt: salt}, nil
}

// enctypeAliases maps MIT's enctype aliases to the names getprinc prints.
var enctypeAliases = map[string]string{
	"aes256-cts-hmac-sha1-96":    "aes256-cts-hmac-sha1-96",
	"aes256-cts":                 "aes256-cts-hmac-sha1-96",
	"aes256-sha1":                "aes256-cts-hmac-sha1-96",
	"aes128-cts-hmac-sha1-96":    "aes128-cts-hmac-sha1-96",
	"aes128-cts":                 "aes128-cts-hmac-sha1-96",
	"aes128-sha1":                "aes128-cts-hmac-sha1-96",
	"aes256-cts-hmac-sha384-192": "aes256-cts-hmac-sha384-192",
	"aes256-sha2":                "aes256-cts-hmac-sha384-192",
	"aes128-cts-hmac-sha256-128": "aes128-cts-hmac-sha256-128",
	"aes128-sha2":                "aes128-cts-hmac-sha256-128",
	"camellia256-cts-cmac":       "camellia256-cts-cmac",
	"camellia256-cts":            "camellia256-cts-cmac",
	"camellia128-cts-cmac":       "camellia128-cts-cmac",
	"camellia128-cts":            "camellia128-cts-cmac",
	"des3-cbc-sha1":              "des3-cbc-sha1",
	"des3-hmac-sha1":             "des3-cbc-sha1",
	"des3-cbc-sha1-kd":           "des3-cbc-sha1",
	"arcfour-hmac":               "arcfour-hmac",
	"rc4-hmac":                   "arcfour-hmac",
	"arcfour-hmac-md5":           "arcfour-hmac",
}

// keysMatch reports whether the keys are those the key/salt tuples asked
// for. Random keys have no salt, so only their enctypes are compared;
// enctype names this package does not know match any enctype.
func keysMatch(keysalts []string, keys []KeyInfo, random bool) bool {
	type want struct{ enc, salt string }
	var wants []want
	seen := map[string]bool{}
	for _, ks := range keysalts {
		name, salt, _ := strings.Cut(strings.ToLower(ks), ":")
		if salt == "" {
			salt = SaltNormal
		}
		enc, known := enctypeAliases[name]
		if known {
			name = enc
		}
		if random {
			salt = ""
		}
		if seen[name+":"+salt] {
			continue // MIT drops duplicate tuples
		}
		seen[name+":"+salt] = true
		wants = append(wants, want{enc, salt})
	}
	if len(wants) != len(keys) {
		return false
	}
	// Known enctypes first, so that unknown names cannot take their keys.
	slices.SortStableFunc(wants, func(a, b want) int { return strings.Compare(b.enc, a.enc) })
	left := slices.Clone(keys)
	for _, w := range wants {
		i := slices.IndexFunc(left, func(k KeyInfo) bool {
			return (w.enc == "" || k.Enctype == w.enc) && (w.salt == "" || k.Salt == w.salt)
		})
		if i < 0 {
			return false
		}
		left = slices.Delete(left, i, i+1)
	}
	return true
}

func keyList(keys []KeyInfo) string {
	if len(keys) == 0 {
		return "(none)"
	}
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = k.String()
	}
	return strings.Join(s, ",")
}

// Keytab exports the current keys of the principals into a new keytab file
// in Dir and returns its path. It uses kadmin.local ktadd -norandkey, so the
// keys (and kvno) stay as they are: passwords keep working.
func (r *Realm) Keytab(principals ...string) (path string, err error) {
	if len(principals) == 0 {
		return "", errors.New("krbtest: Keytab needs at least one principal")
	}
	path = filepath.Join(r.Dir, fmt.Sprintf("keytab-%d.keytab", r.seq.Add(1)))
	args := append([]string{"ktadd", "-norandkey", "-k", path}, principals...)
	out, err := r.kadmin(args...)
	if err != nil {
		return "", err
	}
	// ktadd exits 0 when a principal does not exist.
	if strings.TrimSpace(out.stderr) != "" {
		return "", r.toolError("kadmin.local", append([]string{"-r", r.Name}, args...),
			errors.New("error output"), out.combined)
	}
	return path, nil
}
