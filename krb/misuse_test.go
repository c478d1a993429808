package krb

import (
	"context"
	"errors"
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
