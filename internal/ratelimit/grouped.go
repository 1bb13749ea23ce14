package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Grouped returns this process's front of a counter c that replicas share. It sends c one
// addition per key at a time: the requests that arrive for a key while its addition is under way
// are added together by the next one, and each learns the count that includes it, as if it had
// been added alone (on a shared store every request of one API key would otherwise wait on the
// same row in turn). A read (n = 0) is answered from the last count this process learned of the
// key, if it is younger than ReadAge; each addition refreshes it.
func Grouped(c Counter) Counter {
	return &grouped{c: c, keys: map[groupKey]*pending{}, known: map[groupKey]knownCount{}}
}

// ReadAge is how long a count read or added through Grouped answers reads of its key: another
// replica's additions within it go unseen by this one's reads (never by its additions).
const ReadAge = time.Second

type grouped struct {
	c     Counter
	mu    sync.Mutex
	keys  map[groupKey]*pending // the keys with an addition under way
	known map[groupKey]knownCount
}

type knownCount struct {
	count int
	at    time.Time
}

// learn records a count of the key (the larger, when two answers cross).
func (g *grouped) learn(k groupKey, count int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if old, ok := g.known[k]; ok && old.count > count && time.Since(old.at) < ReadAge {
		count = old.count
	}
	g.known[k] = knownCount{count, time.Now()}
}

type groupKey struct {
	key   string
	start int64
}

// pending are the additions that wait for the one under way.
type pending struct {
	waiters []waiter
}

type waiter struct {
	n   int
	out chan addResult
}

type addResult struct {
	count int
	err   error
}

// Add implements Counter.
func (g *grouped) Add(ctx context.Context, key string, start time.Time, n int) (int, error) {
	k := groupKey{key, start.UnixMilli()}
	if n == 0 {
		g.mu.Lock()
		c, ok := g.known[k]
		g.mu.Unlock()
		if ok && time.Since(c.at) < ReadAge {
			return c.count, nil
		}
		count, err := g.c.Add(ctx, key, start, 0)
		if err == nil {
			g.learn(k, count)
		}
		return count, err
	}
	g.mu.Lock()
	if p, busy := g.keys[k]; busy {
		w := waiter{n: n, out: make(chan addResult, 1)}
		p.waiters = append(p.waiters, w)
		g.mu.Unlock()
		select {
		case r := <-w.out:
			return r.count, r.err
		case <-ctx.Done():
			return 0, ctx.Err() // its share is still added: a request gone away counted all the same
		}
	}
	g.keys[k] = &pending{}
	g.mu.Unlock()
	count, err := g.c.Add(ctx, key, start, n)
	if err == nil {
		g.learn(k, count)
	}
	go g.drain(context.WithoutCancel(ctx), k, key, start)
	return count, err
}

// drain adds what waited for the key's addition, in one addition, until nothing waits.
func (g *grouped) drain(ctx context.Context, k groupKey, key string, start time.Time) {
	for {
		g.mu.Lock()
		p := g.keys[k]
		if len(p.waiters) == 0 {
			delete(g.keys, k)
			g.mu.Unlock()
			return
		}
		batch := p.waiters
		p.waiters = nil
		g.mu.Unlock()
		sum := 0
		for _, w := range batch {
			sum += w.n
		}
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		count, err := g.c.Add(actx, key, start, sum)
		cancel()
		if err == nil {
			g.learn(k, count)
		}
		// Each in the order it came: the count up to and including its own share.
		before := count - sum
		for _, w := range batch {
			before += w.n
			w.out <- addResult{before, err}
		}
	}
}

// Purge implements Counter.
func (g *grouped) Purge(ctx context.Context, before time.Time) error {
	g.mu.Lock()
	for k := range g.known {
		if k.start < before.UnixMilli() {
			delete(g.known, k)
		}
	}
	g.mu.Unlock()
	return g.c.Purge(ctx, before)
}
