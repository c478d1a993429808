package ccache

// Small assertion helpers. The package tests use only the standard library
// (and gokrb5 for cross-checks): testify's own dependencies are not in the
// module's go.sum.

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func prefix(msg []any) string {
	if len(msg) == 0 {
		return ""
	}
	return fmt.Sprint(msg...) + ": "
}

// noErr stops the test when err is not nil.
func noErr(t testing.TB, err error, msg ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%sunexpected error: %v", prefix(msg), err)
	}
}

// eq reports got != want (by reflect.DeepEqual) and returns whether equal.
func eq(t testing.TB, got, want any, msg ...any) bool {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%sgot  %#v\nwant %#v", prefix(msg), got, want)
		return false
	}
	return true
}

// isErr reports an err that is not target (errors.Is).
func isErr(t testing.TB, err, target error, msg ...any) bool {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%sgot error %v, want %v", prefix(msg), err, target)
		return false
	}
	return true
}

// check reports a false condition.
func check(t testing.TB, cond bool, msg ...any) {
	t.Helper()
	if !cond {
		t.Errorf("%scondition failed", prefix(msg))
	}
}
