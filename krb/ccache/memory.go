package ccache

import (
	"crypto/rand"
	"sort"
	"sync"
)

// MEMORY caches live in this process only (MIT's cc_memory.c): a library
// user's or a test's cache that never touches disk. Caches are kept by
// residual in a process-wide table; Write stores a deep copy and Read
// returns one, so callers never share memory with the table.
var memCaches struct {
	sync.Mutex
	m map[string]*Cache
}

type memoryBackend string

func resolveMemory(res string) *CCache {
	return &CCache{typ: TypeMemory, residual: res, be: memoryBackend(res)}
}

func (m memoryBackend) read() (*Cache, error) {
	memCaches.Lock()
	defer memCaches.Unlock()
	c := memCaches.m[string(m)]
	if c == nil {
		return nil, ErrNotFound
	}
	return c.clone(), nil
}

func (m memoryBackend) principal() (Principal, error) {
	memCaches.Lock()
	defer memCaches.Unlock()
	c := memCaches.m[string(m)]
	if c == nil {
		return Principal{}, ErrNotFound
	}
	return clonePrincipal(c.DefaultPrincipal), nil
}

func (m memoryBackend) write(c *Cache) error {
	n := c.clone()
	memCaches.Lock()
	defer memCaches.Unlock()
	if memCaches.m == nil {
		memCaches.m = make(map[string]*Cache)
	}
	memCaches.m[string(m)] = n
	return nil
}

func (m memoryBackend) destroy() error {
	memCaches.Lock()
	defer memCaches.Unlock()
	if _, ok := memCaches.m[string(m)]; !ok {
		return ErrNotFound
	}
	delete(memCaches.m, string(m))
	return nil
}

func (memoryBackend) switchTo() error { return nil }

func listMemory() []*CCache {
	memCaches.Lock()
	names := make([]string, 0, len(memCaches.m))
	for n := range memCaches.m {
		names = append(names, n)
	}
	memCaches.Unlock()
	sort.Strings(names)
	var out []*CCache
	for _, n := range names {
		out = append(out, resolveMemory(n))
	}
	return out
}

// newUniqueMemory reserves a new MEMORY name; the cache exists once
// written.
func newUniqueMemory() *CCache {
	for {
		name := "krb5cc_" + randomName(8)
		memCaches.Lock()
		_, taken := memCaches.m[name]
		memCaches.Unlock()
		if !taken {
			return resolveMemory(name)
		}
	}
}

// randomName returns n random letters and digits, as MIT's
// krb5int_random_string.
func randomName(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	rand.Read(b) // never fails (Go 1.24 and later)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}
