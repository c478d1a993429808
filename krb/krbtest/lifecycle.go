package krbtest

import (
	"sync"
	"testing"
)

// daemon is what the realm starters outside MIT's (Heimdal, Samba) return.
type daemon interface {
	Logs() string
	Close() error
}

// startForTest is the New… constructors' shared part: skip (or fail under
// KRBTEST_REQUIRE=1) with available's reason, start, and at cleanup show
// the logs of a failed test and stop.
func startForTest[T daemon](tb testing.TB, available func() (bool, string), start func() (T, error)) T {
	tb.Helper()
	var zero T
	if ok, reason := available(); !ok {
		SkipOrFail(tb, reason)
		return zero
	}
	d, err := start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Log(d.Logs())
		}
		if err := d.Close(); err != nil {
			tb.Error(err)
		}
	})
	return d
}

// sharedDaemon is the Shared… functions' state: one daemon per test
// binary, started on first use and stopped by CloseShared.
type sharedDaemon[T daemon] struct {
	once sync.Once
	d    T
	err  error
}

func (s *sharedDaemon[T]) get(tb testing.TB, what string, available func() (bool, string), start func() (T, error)) T {
	tb.Helper()
	var zero T
	if ok, reason := available(); !ok {
		SkipOrFail(tb, reason)
		return zero
	}
	s.once.Do(func() {
		s.d, s.err = start()
		if s.err == nil {
			registerSharedCloser(s.d.Close)
		}
	})
	if s.err != nil {
		tb.Fatalf("krbtest: shared %s: %v", what, s.err)
	}
	return s.d
}
