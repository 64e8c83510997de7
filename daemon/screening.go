package daemon

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/match"
)

// documentFinder adapts the store's document lookup to the matcher's
// DocumentFinder.
type documentFinder struct{ st *badgerstore.Store }

func (f documentFinder) LookupDocument(number, country string) ([]match.DocumentMatch, error) {
	found, err := f.st.LookupDocument(number, country)
	if err != nil {
		return nil, err
	}
	out := make([]match.DocumentMatch, len(found))
	for i, d := range found {
		out[i] = match.DocumentMatch{List: d.List, ListVersion: d.ListVersion, Action: d.Action, Document: d.Document}
	}
	return out, nil
}

// LoadScreener builds the in-memory screening index from every names list
// in the store; document lists are looked up in the store itself.
func LoadScreener(ctx context.Context, st *badgerstore.Store, cfg match.Config) (*match.Screener, error) {
	lists, err := st.Lists()
	if err != nil {
		return nil, fmt.Errorf("read lists: %w", err)
	}
	b := match.NewBuilder()
	hasDocs, total := false, 0
	for _, l := range lists {
		if l.Kind != engine.ListDocuments {
			total += l.Entries
		}
	}
	b.Grow(total)
	for _, l := range lists {
		if l.Kind == engine.ListDocuments {
			hasDocs = true
			continue
		}
		h := b.AddList(l)
		info, err := loadEntries(ctx, st, l.Name, func(e *engine.Entry) { b.Add(h, e) })
		if err != nil {
			return nil, fmt.Errorf("load list %s: %w", l.Name, err)
		}
		b.SetListInfo(h, info) // the version Entries read, should a replace have run meanwhile
	}
	var docs match.DocumentFinder
	if hasDocs {
		docs = documentFinder{st}
	}
	return match.NewScreener(b.Build(), docs, cfg), nil
}

// CheckedLists returns the lists a screening with sc is checked against,
// sorted by name: the names lists of its index and the document lists in
// st, each marked STALE where stale gives a reason. It is the one answer
// to "checked against what" for the API, the officer console and
// `watchpost screen`; nil when no list is loaded (sc nil: no index yet).
func CheckedLists(sc *match.Screener, st *badgerstore.Store, stale map[string]string) []engine.CheckedList {
	var out []engine.CheckedList
	add := func(l engine.ListInfo) {
		out = append(out, engine.CheckedList{List: l.Name, Version: l.Version, Entries: l.Entries, Stale: stale[l.Name] != "", StaleReason: stale[l.Name]})
	}
	if sc != nil {
		for _, l := range sc.Index().Lists() {
			add(l)
		}
	}
	if st != nil {
		if lists, err := st.Lists(); err == nil {
			for _, l := range lists {
				if l.Kind == engine.ListDocuments {
					add(l)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b engine.CheckedList) int { return cmp.Compare(a.List, b.List) })
	return out
}

// ImportList reads one edition of a list from path in the given format and
// replaces the list with it atomically, under the shrink guard's defaults
// (see ImportEdition). A malformed file changes nothing.
func ImportList(ctx context.Context, st *badgerstore.Store, meta badgerstore.ListMeta, path string) (engine.ListInfo, error) {
	return ImportEdition(ctx, st, meta, path, ImportOptions{})
}

// ImportOptions are an import's shrink guard and file limits.
type ImportOptions struct {
	// MaxShrink is the share of the current entries an edition may
	// remove (engine.DefaultMaxShrink when 0).
	MaxShrink float64
	// AllowShrink lets through an edition the guard refuses (a person's
	// deliberate act: --allow-shrink).
	AllowShrink bool
	// Confirmed, when AllowShrink lets such an edition through, runs
	// before it becomes current with what it does and the version it
	// becomes; it records the act (the ledger's audit chain). Its error
	// leaves the list unchanged.
	Confirmed func(ctx context.Context, s engine.Shrink, version uint64) error
	// Limits bound the file's size and records (importer.DefaultLimits
	// for zero fields).
	Limits importer.Limits
}

// ImportEdition is ImportList with options: the edition is refused, and
// the list left unchanged, when it is empty or removes more than
// MaxShrink of the current entries, unless AllowShrink.
func ImportEdition(ctx context.Context, st *badgerstore.Store, meta badgerstore.ListMeta, path string, opts ImportOptions) (engine.ListInfo, error) {
	if meta.Format == "" {
		return engine.ListInfo{}, fmt.Errorf("import %s: no format given (one of %v)", meta.Name, importer.Formats())
	}
	limit, err := engine.CheckShrinkLimit(opts.MaxShrink)
	if err != nil {
		return engine.ListInfo{}, fmt.Errorf("import %s: %w", meta.Name, err)
	}
	if meta.Source == "" {
		meta.Source = path
	}
	meta.Guard = func(cur engine.ListInfo, next, removed int) error {
		s := engine.Shrink{List: meta.Name, Current: cur.Entries, Next: next, Removed: removed, Limit: limit}
		if err := engine.CheckShrink(s, false, "--allow-shrink"); err == nil || !opts.AllowShrink {
			return err
		}
		if opts.Confirmed != nil {
			return opts.Confirmed(ctx, s, cur.Version+1)
		}
		return nil
	}
	if importer.IsDocumentFormat(meta.Format) {
		return st.ReplaceDocuments(ctx, meta, func(emit func(*engine.Document) error) error {
			return importer.ReadPathLimited(meta.Format, path, opts.Limits, nil, emit)
		})
	}
	return st.ReplaceEntries(ctx, meta, func(emit func(*engine.Entry) error) error {
		return importer.ReadPathLimited(meta.Format, path, opts.Limits, emit, nil)
	})
}

// loadEntries streams a list's entries to add, reading and decoding them
// on another goroutine so that the store and the index builder work at
// once (start-up time to first screen matters at a post after a power
// cut).
func loadEntries(ctx context.Context, st *badgerstore.Store, name string, add func(*engine.Entry)) (engine.ListInfo, error) {
	const batchSize = 1024
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []engine.Entry, 4)
	var info engine.ListInfo
	var readErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(batches)
		batch := make([]engine.Entry, 0, batchSize)
		info, readErr = st.Entries(ctx, name, func(e *engine.Entry) error {
			batch = append(batch, *e)
			if len(batch) == batchSize {
				select {
				case batches <- batch:
				case <-ctx.Done():
					return ctx.Err()
				}
				batch = make([]engine.Entry, 0, batchSize)
			}
			return nil
		})
		if readErr == nil && len(batch) > 0 {
			batches <- batch
		}
	}()
	for batch := range batches {
		if ctx.Err() != nil {
			continue // drain: the reader stops at its next check
		}
		for i := range batch {
			add(&batch[i])
		}
	}
	<-done
	if readErr == nil {
		// Cancelled after the reader finished: the load is still cut short.
		readErr = ctx.Err()
	}
	return info, readErr
}
