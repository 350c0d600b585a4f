package contacts

import (
	"hash/maphash"
	"sync"
)

// e164Cache remembers E.164 strings already found valid, so that a number
// checked once (at contact load, at its first send) is not run through the
// phone-number metadata again: the validity check costs microseconds and
// dozens of allocations, a cache hit a map lookup. The cache is bounded:
// each shard is emptied when it fills, so memory stays flat whatever the
// traffic. Only successes are cached; an invalid number is always rechecked.
type e164Cache struct {
	seed   maphash.Seed
	shards [e164Shards]e164Shard
}

const (
	e164Shards   = 16
	e164PerShard = 4096 // 64k numbers in all
)

type e164Shard struct {
	mu  sync.RWMutex
	set map[string]struct{}
}

var validE164 = newE164Cache()

func newE164Cache() *e164Cache {
	c := &e164Cache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].set = make(map[string]struct{}, e164PerShard)
	}
	return c
}

func (c *e164Cache) shard(s string) *e164Shard {
	return &c.shards[maphash.String(c.seed, s)%e164Shards]
}

func (c *e164Cache) has(s string) bool {
	sh := c.shard(s)
	sh.mu.RLock()
	_, ok := sh.set[s]
	sh.mu.RUnlock()
	return ok
}

func (c *e164Cache) add(s string) {
	sh := c.shard(s)
	sh.mu.Lock()
	if len(sh.set) >= e164PerShard {
		clear(sh.set)
	}
	sh.set[s] = struct{}{}
	sh.mu.Unlock()
}
