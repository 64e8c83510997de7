package match

import (
	"hash/maphash"
	"slices"
	"sync"
)

// wordCache remembers the candidate words found for a query word. Names
// repeat the same words (MOHAMMED, ALI, IVANOV) across travellers, and
// finding a word's variants, typos and joined forms is most of the cost of
// a screening. It is bounded: a shard that fills up is emptied.
type wordCache struct {
	seed   maphash.Seed
	shards [wordCacheShards]wordShard
}

const (
	wordCacheShards   = 16
	wordCachePerShard = 4096
)

type wordShard struct {
	mu sync.RWMutex
	m  map[string][]candToken
}

func newWordCache() *wordCache {
	c := &wordCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[string][]candToken)
	}
	return c
}

func (c *wordCache) shard(word string) *wordShard {
	return &c.shards[maphash.String(c.seed, word)%wordCacheShards]
}

// get returns the cached candidates of word. The slice is shared: callers
// must not modify it (it is clipped, so append copies).
func (c *wordCache) get(word string) ([]candToken, bool) {
	sh := c.shard(word)
	sh.mu.RLock()
	v, ok := sh.m[word]
	sh.mu.RUnlock()
	return v, ok
}

func (c *wordCache) put(word string, cands []candToken) []candToken {
	cands = slices.Clip(cands)
	sh := c.shard(word)
	sh.mu.Lock()
	if len(sh.m) >= wordCachePerShard {
		clear(sh.m)
	}
	sh.m[word] = cands
	sh.mu.Unlock()
	return cands
}
