package krb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Misuse of the API gets a typed error, never a panic.
func TestMisuseIsAnErrorNotAPanic(t *testing.T) {
	ctx := context.Background()
	if _, err := (&Login{}).Step(ctx, nil); !errors.Is(err, ErrNotStarted) {
		t.Errorf("zero Login: %v", err)
	}
	if _, err := (*Login)(nil).Step(ctx, nil); !errors.Is(err, ErrNotStarted) {
		t.Errorf("nil Login: %v", err)
	}
	if _, err := Renew(ctx, nil); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("Renew(nil): %v", err)
	}
	if _, err := Validate(ctx, nil); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("Validate(nil): %v", err)
	}
	if err := (*Credentials)(nil).WriteCCache(filepath.Join(t.TempDir(), "cc")); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("nil WriteCCache: %v", err)
	}
}

// A keytab with no usable entry loads as an empty keytab, as MIT reads it.
func TestEmptyKeytabLoads(t *testing.T) {
	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"header only":    {5, 2},
		"only entry cut": {5, 2, 0, 0, 0, 40, 0, 1, 0, 1},
		"only a hole":    {5, 2, 0xff, 0xff, 0xff, 0xfc, 0, 0, 0, 0},
	} {
		p := filepath.Join(dir, "kt")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		kt, err := LoadKeytab(p)
		if err != nil || len(kt.Entries) != 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}
