package daemon

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/match"
)

// compactChurn is the share of names added or removed in place past which
// the index is rebuilt from itself in the background (match.Index.Compact),
// to drop the removed rows and the lookup overlays the deltas left.
const compactChurn = 0.10

// deltaQueue holds the names-list deltas the store is applying or has
// applied and the index has not taken yet. The store's hook adds to it on
// the updating goroutine, so add and the decision it returns never block.
type deltaQueue struct {
	mu   sync.Mutex
	q    []*pendingDelta
	wake chan struct{}
}

// pendingDelta is a delta the store told of before its commit: the index
// prepares its edition with it meanwhile, and publishes that only once
// decided is closed with committed set.
type pendingDelta struct {
	d       *match.Delta
	decided chan struct{}
	// Set before decided is closed: whether the store committed the
	// delta, and the list at its new version then.
	committed bool
	info      engine.ListInfo
}

func (dq *deltaQueue) add(u badgerstore.EntriesUpdate) func(engine.ListInfo, bool) {
	pd := &pendingDelta{d: &match.Delta{FromVersion: u.FromVersion, Info: u.Info, Upserts: u.Upserts, Deletes: u.Deletes}, decided: make(chan struct{})}
	dq.mu.Lock()
	dq.q = append(dq.q, pd)
	dq.mu.Unlock()
	dq.signal()
	return func(info engine.ListInfo, committed bool) {
		pd.info, pd.committed = info, committed
		close(pd.decided)
	}
}

func (dq *deltaQueue) signal() {
	select {
	case dq.wake <- struct{}{}:
	default:
	}
}

func (dq *deltaQueue) take() []*pendingDelta {
	dq.mu.Lock()
	defer dq.mu.Unlock()
	q := dq.q
	dq.q = nil
	return q
}

func (p *Post) requestRebuild() {
	select {
	case p.rebuild <- struct{}{}:
	default:
	}
}

// indexLoop keeps the screening index level with the store. A delta the
// store committed is applied to the index in place as soon as it arrives
// and the new edition swapped in whole, so a screening sees the list
// before or after the delta, never part of it. A list change reported
// otherwise (a snapshot, an import, a list deleted, a delta that did not
// fit) is gathered for RebuildDelay, then the index is rebuilt from the
// store if it is behind it. Once the deltas applied in place have added or
// removed compactChurn of the names, the index is compacted in the
// background and the deltas applied meanwhile are replayed on the result.
func (p *Post) indexLoop(ctx context.Context) {
	var (
		wait      <-chan time.Time
		timer     interface{ Stop() bool }
		compacted chan *match.Index
		since     []*match.Delta // applied while compacting
		bg        sync.WaitGroup
	)
	defer bg.Wait()
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.deltas.wake:
			applied := p.applyDeltas(ctx)
			if compacted != nil {
				since = append(since, applied...)
			}
		case <-p.rebuild:
			if wait == nil {
				// A list the index does not hold at all is answered "not
				// screened" until it does: build at once rather than
				// gather further changes.
				d := p.opts.RebuildDelay
				if p.indexLacksList() {
					d = 0
				}
				t := p.opts.Clock.NewTimer(d)
				timer, wait = t, t.C()
			}
		case <-wait:
			timer, wait = nil, nil
			if compacted != nil {
				since = append(since, p.applyDeltas(ctx)...)
			} else {
				p.applyDeltas(ctx)
			}
			if !p.indexBehind() {
				continue
			}
			if err := p.loadScreener(ctx); err != nil && ctx.Err() == nil {
				p.log.Error("rebuilding the screening index failed; screening continues on the previous one", logkey.Error, err)
			}
			continue
		case ix := <-compacted:
			compacted = nil
			p.finishCompaction(ix, since)
			since = nil
			continue
		}
		if sc := p.screener.Load(); compacted == nil && sc != nil && sc.Index().Churn() > compactChurn {
			base := sc.Index()
			compacted = make(chan *match.Index, 1)
			out := compacted
			bg.Go(func() { out <- base.Compact() })
		}
	}
}

// applyDeltas applies the queued deltas to the index in use and returns
// those applied. A delta is applied while the store commits it, and the
// new edition swapped in once the store reports it durable, so that the
// post never screens with, nor reports, a version the store could lose;
// one the store did not commit is dropped. One that does not fit (the
// index is at another version, say, because the store changed by other
// means meanwhile) is dropped and a rebuild requested, which happens only
// if the index is then behind.
func (p *Post) applyDeltas(ctx context.Context) []*match.Delta {
	var applied []*match.Delta
	for _, pd := range p.deltas.take() {
		sc := p.screener.Load()
		start := time.Now()
		var next *match.Index
		err := errors.New("no screening index yet") // the first load reads the store
		if sc != nil {
			next, err = sc.Index().Apply(pd.d)
		}
		select {
		case <-pd.decided:
		case <-ctx.Done():
			return applied
		}
		d := pd.d
		switch {
		case !pd.committed:
			continue
		case err == nil:
			d.Info = pd.info
			next, err = next.WithListInfo(pd.info)
		}
		if err != nil {
			if sc != nil {
				p.log.Debug("delta not applied in place; checking the index against the store", logkey.List, d.Info.Name, logkey.Error, err)
				p.requestRebuild()
			}
			continue
		}
		p.screener.Store(sc.With(next))
		applied = append(applied, d)
		p.log.Info("list delta applied to the screening index", logkey.List, d.Info.Name, logkey.Version, d.Info.Version,
			logkey.Entries, len(d.Upserts)+len(d.Deletes), logkey.Took, time.Since(start).Round(time.Microsecond))
	}
	return applied
}

// finishCompaction replays on the compacted index the deltas applied
// since its base and swaps it in, provided it then holds exactly the
// lists the index in use holds (a rebuild meanwhile makes it moot).
func (p *Post) finishCompaction(ix *match.Index, since []*match.Delta) {
	for _, d := range since {
		next, err := ix.Apply(d)
		if err != nil {
			return
		}
		ix = next
	}
	sc := p.screener.Load()
	if sc == nil || !sameLists(sc.Index().Lists(), ix.Lists()) {
		return
	}
	p.screener.Store(sc.With(ix))
	entries, names := ix.Size()
	p.log.Info("screening index compacted", logkey.Entries, entries, logkey.Names, names)
}

// indexBehind reports whether the store holds names lists, or versions of
// them, that the index in use does not, or documents lists where the
// screener has none or the reverse (true too when it cannot tell).
func (p *Post) indexBehind() bool {
	sc := p.screener.Load()
	st := p.Store()
	if sc == nil || st == nil {
		return true
	}
	lists, err := st.Lists()
	if err != nil {
		return true
	}
	docs := slices.ContainsFunc(lists, func(l engine.ListInfo) bool { return l.Kind == engine.ListDocuments })
	lists = slices.DeleteFunc(lists, func(l engine.ListInfo) bool { return l.Kind == engine.ListDocuments })
	// Document lists are read from the store, but the screener is made
	// to look them up only when the store held one as it was built.
	return docs != sc.HasDocuments() || !sameLists(lists, sc.Index().Lists())
}

// indexLacksList reports whether the store holds a names list the index
// in use does not hold at any version.
func (p *Post) indexLacksList() bool {
	sc, st := p.screener.Load(), p.Store()
	if sc == nil || st == nil {
		return true
	}
	lists, err := st.Lists()
	if err != nil {
		return false
	}
	held := sc.Index().Lists()
	return slices.ContainsFunc(lists, func(l engine.ListInfo) bool {
		return l.Kind != engine.ListDocuments && !slices.ContainsFunc(held, func(h engine.ListInfo) bool { return h.Name == l.Name })
	})
}

// sameLists reports whether a and b name the same lists at the same
// versions and hashes, in any order.
func sameLists(a, b []engine.ListInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y engine.ListInfo) bool {
			return x.Name == y.Name && x.Version == y.Version && x.Hash == y.Hash
		}) {
			return false
		}
	}
	return true
}
