package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/logkey"
)

// Group commit of the rows of screenings without a hit.
//
// Each Record is one Badger transaction, synced to disk before it
// returns, and the audit chain serialises them: on the development VM
// that is about 300 µs of a core and one fsync per screening, which caps
// the local API near 1,100 screenings/s. A screening without a hit
// carries no obligation: its row holds no traveller data, nothing of it
// goes to HQ but the audit chain's copy of that row (which a checkpoint
// sends), and the caller already holds the answer. So while
// RunGroupCommit runs, Record queues such a row and returns at once, and
// the rows queued within GroupWindow (or GroupRows of them) are
// committed together in one transaction, linked into the audit chain in
// the order they were queued.
//
// A hit joins the queue too, but it asks for the commit at once and its
// Record waits for it: the hits and rows of that moment share one
// transaction and one sync to disk instead of one each, and a hit's
// record, audit entries and outbox record are durable before Record
// returns, as without group commit. Should that shared commit fail, each
// hit in it is recorded again on its own (with new ids), so that one
// hit's error is its own.
//
// What this gives up, and only for those rows: a row is durable up to
// GroupWindow (and one commit) after Record returned, not when it
// returns; a crash or power cut in that window loses it (the audit trail
// then has fewer "screened" entries than answers were given, and the
// chain stays whole: a row is linked only when it is written). A hit is
// never answered before it is stored, so an answer that shows a hit
// always names a stored one. A disk short of its reserve is
// checked when the row is queued (Record fails with ErrDiskLow, as
// without group commit); a commit that fails nonetheless (the disk
// filled within the window) loses its rows, and says how many in the
// log.

// Defaults of the group commit (Options.GroupWindow, GroupRows).
const (
	// DefaultGroupWindow: a queued row is committed at most this long
	// after it was queued (plus the commit itself).
	DefaultGroupWindow = 2 * time.Millisecond
	// DefaultGroupRows: this many queued rows are committed at once,
	// without waiting for the window.
	DefaultGroupRows = 256
	// maxQueuedWindows: when GroupRows times this many rows are queued
	// (commits slower than screenings, a stalled disk), Record commits
	// the queue itself before returning, so that the queue stays
	// bounded and screening slows down to the disk's pace.
	maxQueuedWindows = 8
)

// group is the queue of the group commit.
type group struct {
	mu      sync.Mutex
	running bool
	rows    []*pending
	// kick wakes RunGroupCommit when the first row is queued; full when
	// GroupRows are.
	kick chan struct{}
	full chan struct{}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// queue queues s when RunGroupCommit runs; a hit waits for its commit.
// ok is false when the caller must record s itself: no group commit
// runs, or the commit a hit was in failed.
func (l *Ledger) queue(ctx context.Context, s Screening) (rec Recorded, ok bool, err error) {
	g := &l.group
	g.mu.Lock()
	if !g.running {
		g.mu.Unlock()
		return Recorded{}, false, nil
	}
	g.mu.Unlock()
	if err := l.store.CheckSpace(0); err != nil {
		return Recorded{}, true, fmt.Errorf("record screening: %w", err)
	}
	hit := len(s.Hits) > 0
	var p *pending
	if hit { // its report is encoded outside the lock
		if p, err = l.prepare(s, l.clock.Now()); err != nil {
			return Recorded{}, true, err
		}
		p.done = make(chan error, 1)
	}
	g.mu.Lock()
	if !g.running { // RunGroupCommit ended meanwhile
		g.mu.Unlock()
		return Recorded{}, false, nil
	}
	if !hit {
		// The time is read under the lock, so that the queued rows, and
		// with them the chain, are in the order of their times.
		if p, err = l.prepare(s, l.clock.Now()); err != nil {
			g.mu.Unlock()
			return Recorded{}, true, err
		}
	}
	g.rows = append(g.rows, p)
	n := len(g.rows)
	g.mu.Unlock()
	switch {
	case n >= l.opts.GroupRows*maxQueuedWindows:
		// Bounded: the caller commits the queue itself, after the
		// commit under way (it waits for the chain's lock), so that
		// screening slows down to the disk's pace. A hit learns its
		// commit's outcome below, from whichever commit took it.
		if err := l.flushGroup(context.WithoutCancel(ctx)); err != nil && !hit {
			return Recorded{}, true, err
		}
	case hit, n >= l.opts.GroupRows:
		signal(g.full)
	case n == 1:
		signal(g.kick)
	}
	if hit {
		if err := <-p.done; err != nil {
			l.log.Warn("Hit not recorded in a group commit: recording it alone", logkey.Error, err)
			return Recorded{}, false, nil
		}
		l.logHit(p)
	}
	return p.rec, true, nil
}

// RunGroupCommit commits the queued rows of screenings without a hit
// (see above) until ctx ends, then commits what is queued and returns;
// from then on Record commits each row itself again. Run it on one
// goroutine, and let it return before the store is closed. It returns
// the last commit's error, if that failed; a failed commit in between is
// logged (its rows are lost) and the loop goes on.
func (l *Ledger) RunGroupCommit(ctx context.Context) error {
	g := &l.group
	g.mu.Lock()
	if g.running {
		g.mu.Unlock()
		return errors.New("ledger: group commit already running")
	}
	g.running = true
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.running = false
		g.mu.Unlock()
	}()
	commit := context.WithoutCancel(ctx)
	for {
		select {
		case <-ctx.Done():
			// Rows queued from here on are committed by Record itself;
			// running goes false only after this last commit, so that
			// none is left behind.
			return l.flushGroupLast(commit)
		case <-g.full: // a hit, or GroupRows rows: commit now
		case <-g.kick: // the first row: commit after the window
			t := l.clock.NewTimer(l.opts.GroupWindow)
			select {
			case <-t.C():
			case <-g.full:
			case <-ctx.Done():
			}
			t.Stop()
		}
		if err := l.flushGroup(commit); err != nil {
			l.log.Warn("Screenings without a hit not recorded", logkey.Error, err)
		}
	}
}

// flushGroupLast stops the queue and commits what it holds.
func (l *Ledger) flushGroupLast(ctx context.Context) error {
	g := &l.group
	g.mu.Lock()
	g.running = false
	g.mu.Unlock()
	return l.flushGroup(ctx)
}

// flushGroup commits the queued rows in one transaction, in the order
// they were queued. Rows are taken from the queue once the chain's lock
// is held, so that a later commit links after an earlier one.
func (l *Ledger) flushGroup(ctx context.Context) error {
	g := &l.group
	g.mu.Lock()
	empty := len(g.rows) == 0
	g.mu.Unlock()
	if empty {
		return nil
	}
	var rows []*pending
	err := l.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		c := l.lockChain(tx)
		g.mu.Lock()
		rows, g.rows = g.rows, nil
		g.mu.Unlock()
		for _, p := range rows {
			if err := l.write(c, p, p.rec.RecordedAt); err != nil {
				return err
			}
		}
		if err := l.inTxn("group"); err != nil {
			return err
		}
		tx.OnDone(func(committed bool) {
			if committed {
				for _, p := range rows {
					l.stats.recorded(p.rec.RecordedAt, p.s.Hits)
				}
			}
		})
		return nil
	})
	for _, p := range rows {
		if p.done != nil {
			p.done <- err
		}
	}
	if err != nil && len(rows) > 0 {
		return fmt.Errorf("group commit of %d screenings: %w", len(rows), err)
	}
	return err
}
