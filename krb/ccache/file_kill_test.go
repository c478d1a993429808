//go:build linux

package ccache

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKilledWriterHelper is the writer that TestKilledWriterLeavesNoTemp
// kills: it rewrites the cache named by GOKINIT_KILL_CACHE until killed.
func TestKilledWriterHelper(t *testing.T) {
	path := os.Getenv("GOKINIT_KILL_CACHE")
	if path == "" {
		t.Skip("run by TestKilledWriterLeavesNoTemp")
	}
	if os.Getenv("GOKINIT_KILL_NAMED") == "1" {
		writeUnnamedFn = func(string, string, string, []byte) error { return errUnnamedUnsupported }
	}
	c := sampleCache(t)
	os.Stdout.WriteString("ready\n")
	for {
		if err := WriteFile(path, c); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKilledWriterLeavesNoTemp is failure 7 as a class: a writer killed
// with SIGKILL at random moments (100 times with O_TMPFILE, 100 with the
// named fallback) never leaves path without a whole cache, with O_TMPFILE
// leaves a temporary file at most in the instant between link and rename,
// and whatever temporary file of ours is left is removed by the next
// write. The counts of leftovers before that write are logged.
func TestKilledWriterLeavesNoTemp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 200 processes")
	}
	unnamed := killWriter(t, false)
	if unnamed > 10 {
		t.Errorf("%d of 100 kills left a temporary file; the window must be the instant between link and rename", unnamed)
	}
	// The named fallback (platforms without O_TMPFILE) leaves files more
	// often; the next write still removes them.
	named := killWriter(t, true)
	t.Logf("temporary files left by 100 kills: %d with O_TMPFILE, %d with a named temporary file", unnamed, named)
}

// killWriter kills a writer 100 times and returns how many kills left a
// temporary file.
func killWriter(t *testing.T, forceNamed bool) int {
	old := staleTempAge
	staleTempAge = 0
	t.Cleanup(func() { staleTempAge = old })
	dir := t.TempDir()
	path := filepath.Join(dir, "krb5cc_test")
	noErr(t, WriteFile(path, sampleCache(t)))
	rng := rand.New(rand.NewPCG(12, 7))
	const runs = 100
	leftovers := 0
	for i := range runs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriterHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GOKINIT_KILL_CACHE="+path)
		if forceNamed {
			cmd.Env = append(cmd.Env, "GOKINIT_KILL_NAMED=1")
		}
		out, err := cmd.StdoutPipe()
		noErr(t, err)
		noErr(t, cmd.Start())
		buf := make([]byte, 6)
		_, _ = out.Read(buf) // "ready": the process is writing
		time.Sleep(time.Duration(rng.IntN(20000)) * time.Microsecond)
		noErr(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()

		// The cache is always whole.
		b, err := os.ReadFile(path)
		noErr(t, err)
		if _, err := Parse(b); err != nil {
			t.Fatalf("run %d: the cache is not whole after a kill: %v", i, err)
		}
		temps := tempFiles(t, dir)
		leftovers += len(temps)
		if len(temps) > 1 {
			t.Errorf("run %d: %d temporary files at once: %v", i, len(temps), temps)
		}
		if i%10 == 9 || len(temps) > 0 {
			// The next write removes what a killed writer left.
			noErr(t, WriteFile(path, sampleCache(t)))
			if temps := tempFiles(t, dir); len(temps) > 0 {
				t.Fatalf("run %d: the next write left %v", i, temps)
			}
		}
	}
	return leftovers
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	noErr(t, err)
	var out []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestStaleTempRemovedOnlyWhenOurs: the next write removes an old
// temporary file of this cache's naming, and leaves alone a young one (a
// concurrent writer's), one of another cache, a symlink and a directory.
func TestStaleTempRemovedOnlyWhenOurs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cc")
	long := time.Now().Add(-time.Hour)
	mk := func(name string, age time.Time) string {
		p := filepath.Join(dir, name)
		noErr(t, os.WriteFile(p, []byte("x"), 0o600))
		noErr(t, os.Chtimes(p, age, age))
		return p
	}
	stale := mk(".cc.tmp-123", long)
	young := mk(".cc.tmp-456", time.Now())
	other := mk(".other.tmp-1", long)
	noErr(t, os.Symlink(other, filepath.Join(dir, ".cc.tmp-link")))
	noErr(t, os.Mkdir(filepath.Join(dir, ".cc.tmp-dir"), 0o700))
	noErr(t, WriteFile(path, sampleCache(t)))
	_, err := os.Stat(stale)
	check(t, os.IsNotExist(err), "the stale temporary file was kept")
	for _, p := range []string{young, other, filepath.Join(dir, ".cc.tmp-link"), filepath.Join(dir, ".cc.tmp-dir")} {
		_, err := os.Lstat(p)
		noErr(t, err, p, " was removed")
	}
	fi, err := os.Stat(path)
	noErr(t, err)
	eq(t, fi.Mode().Perm(), os.FileMode(0o600), "mode")
}
