package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// batcher is group commit: concurrent write transactions are run one after another inside one
// database transaction, each in its own savepoint (so one failing rolls back only itself), and
// committed together. A caller returns only after the shared commit, so what it was told is
// durable is durable; the cost of the commit's fsync is shared by the whole batch.
type batcher struct {
	db       *sql.DB
	maxBatch int
	idle     func() // called between batches, when no transaction holds the connection
	exec     func(*sql.Tx, string) (sql.Result, error)
	jobs     chan *job
	done     chan struct{}
	wg       sync.WaitGroup
}

type job struct {
	ctx context.Context
	fn  func(*sql.Tx) error
	err chan error
}

func newBatcher(db *sql.DB, maxBatch int, idle func(), exec func(*sql.Tx, string) (sql.Result, error)) *batcher {
	if maxBatch <= 0 {
		maxBatch = 256
	}
	b := &batcher{db: db, maxBatch: maxBatch, idle: idle, exec: exec, jobs: make(chan *job), done: make(chan struct{})}
	b.wg.Add(1)
	go b.loop()
	return b
}

var errClosed = errors.New("store is closed")

func (b *batcher) do(ctx context.Context, fn func(*sql.Tx) error) error {
	j := &job{ctx: ctx, fn: fn, err: make(chan error, 1)}
	select {
	case b.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.done:
		return errClosed
	}
	return <-j.err // always answered: the loop finishes every job it took
}

func (b *batcher) close() {
	close(b.done)
	b.wg.Wait()
}

func (b *batcher) loop() {
	defer b.wg.Done()
	for {
		var first *job
		select {
		case first = <-b.jobs:
		case <-b.done:
			return
		}
		batch := []*job{first}
	collect:
		for len(batch) < b.maxBatch {
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
			default:
				break collect
			}
		}
		b.run(batch)
		if b.idle != nil {
			b.idle()
		}
	}
}

// run executes a batch in one transaction. Jobs whose function failed get their own error; the
// others get the commit's result.
func (b *batcher) run(batch []*job) {
	results := make([]error, len(batch))
	t, err := b.db.Begin()
	if err != nil {
		for _, j := range batch {
			j.err <- fmt.Errorf("begin: %w", err)
		}
		return
	}
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := b.exec(t, "SAVEPOINT job"); err != nil {
			results[i] = fmt.Errorf("savepoint: %w", err)
			continue
		}
		if err := j.fn(t); err != nil {
			results[i] = err
			if _, rerr := b.exec(t, "ROLLBACK TO SAVEPOINT job"); rerr != nil {
				results[i] = fmt.Errorf("rollback to savepoint: %w (after %w)", rerr, err)
			}
		}
		if _, err := b.exec(t, "RELEASE SAVEPOINT job"); err != nil && results[i] == nil {
			results[i] = fmt.Errorf("release savepoint: %w", err)
		}
	}
	commitErr := t.Commit()
	for i, j := range batch {
		switch {
		case results[i] != nil:
			j.err <- results[i]
		case commitErr != nil:
			j.err <- fmt.Errorf("commit: %w", commitErr)
		default:
			j.err <- nil
		}
	}
}
