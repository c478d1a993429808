package krbtest

import (
	"errors"
	"sync"
	"testing"
)

// sharedRealms are the realms of Shared, by key, for the test binary's life.
var sharedRealms struct {
	mu sync.Mutex
	m  map[string]*sharedRealm
}

type sharedRealm struct {
	once  sync.Once
	realm *Realm
	err   error
}

// Shared returns the realm the test binary's tests share under key,
// starting it with opts and running setup (which adds principals) on first
// use: creating a realm takes tens of milliseconds, a principal much less,
// so a package's tests usually share one. Later calls with the same key get
// the same realm; their opts and setup are not used. It skips or fails as
// NewRealm does when MIT's KDC is missing. Call CloseShared from TestMain
// after m.Run to stop the realms and remove their directories.
func Shared(tb testing.TB, key string, setup func(*Realm) error, opts ...Option) *Realm {
	tb.Helper()
	if ok, reason := Available(); !ok {
		SkipOrFail(tb, reason)
	}
	sharedRealms.mu.Lock()
	if sharedRealms.m == nil {
		sharedRealms.m = make(map[string]*sharedRealm)
	}
	s, ok := sharedRealms.m[key]
	if !ok {
		s = &sharedRealm{}
		sharedRealms.m[key] = s
	}
	sharedRealms.mu.Unlock()
	s.once.Do(func() {
		s.realm, s.err = Start(opts...)
		if s.err == nil && setup != nil {
			s.err = setup(s.realm)
		}
	})
	if s.err != nil {
		tb.Fatalf("krbtest: shared realm %q: %v", key, s.err)
	}
	return s.realm
}

// CloseShared stops the realms that Shared started.
func CloseShared() error {
	sharedRealms.mu.Lock()
	defer sharedRealms.mu.Unlock()
	var errs []error
	for key, s := range sharedRealms.m {
		if s.realm != nil {
			errs = append(errs, s.realm.Close())
		}
		delete(sharedRealms.m, key)
	}
	errs = append(errs, closeSharedInterop()...)
	return errors.Join(errs...)
}

// SkipOrFail skips the test with reason, one line saying what is missing,
// or fails it instead when the environment has KRBTEST_REQUIRE=1 (as CI
// does), so that a missing install step cannot pass unnoticed.
func SkipOrFail(tb testing.TB, reason string) {
	tb.Helper()
	if required() {
		tb.Fatal(reason + " (KRBTEST_REQUIRE is set)")
		return
	}
	tb.Skip(reason)
}
