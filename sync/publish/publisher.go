package publish

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/option"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/transport"
)

// Defaults for Config.
const (
	// DefaultDeltaWindow matches the posts' protocol.DefaultPolicy: a
	// post further behind than the deltas HQ keeps takes the snapshot.
	DefaultDeltaWindow = 1000
	// DefaultKeepSnapshots keeps the current snapshot and the previous
	// one, which a post may still be downloading when a new edition lands.
	DefaultKeepSnapshots = 2
	// DefaultHeadValidity: heads are re-signed every 6 h (PROTOCOL.md 4);
	// 48 h lets a post ride out an HQ outage of a day and a half before
	// its list is flagged STALE.
	DefaultHeadValidity = 48 * time.Hour
	// DefaultDeltaValidity: a delta queued for an offline post is still
	// applied after a week; older ones are rejected as expired and the
	// post takes the snapshot instead.
	DefaultDeltaValidity = 7 * 24 * time.Hour
	// DefaultEpoch is the epoch of a list created by its first edition.
	DefaultEpoch = 1
)

// Config configures a Publisher.
type Config struct {
	// Store holds HQ's published lists; required.
	Store *badgerstore.Store
	// Signer signs deltas, heads and snapshots; required.
	Signer *protocol.Signer
	// Transport publishes to the broker; required.
	Transport transport.Transport
	// DeltaDir keeps the sealed deltas of the last DeltaWindow versions of
	// each list, as <list>/<epoch>-<to version>.delta; required.
	DeltaDir string
	// SnapshotDir receives a snapshot file per version; required.
	SnapshotDir string
	// SnapshotBaseURL is the https:// URL under which SnapshotDir is
	// served; heads name SnapshotBaseURL/<file>. Empty: heads name no
	// snapshot (posts that need one cannot recover; for tests and for
	// links that carry deltas only).
	SnapshotBaseURL string
	// DeltaWindow is how many versions back deltas are kept
	// (DefaultDeltaWindow when 0). Posts' Policy.DeltaWindow must not be
	// larger.
	DeltaWindow int
	// KeepSnapshots is how many snapshot files of a list are kept,
	// the current one included (DefaultKeepSnapshots when 0).
	KeepSnapshots int
	// HeadValidity and DeltaValidity are the signed lifetimes
	// (DefaultHeadValidity, DefaultDeltaValidity when 0).
	HeadValidity  time.Duration
	DeltaValidity time.Duration
	// Epoch is the epoch of a list its first edition creates
	// (DefaultEpoch when 0). An existing list keeps the epoch in its state.
	Epoch uint64
	// MaxShrink is the share of a list's entries an edition may remove
	// without Edition.ConfirmShrink (engine.DefaultMaxShrink when 0).
	MaxShrink float64
	// Clock is HQ's clock; nil means clock.System.
	Clock clock.Clock
	// Logger receives one line per published version and head; nil
	// discards. Errors are returned, not logged.
	Logger *slog.Logger
}

// Publisher publishes editions of HQ's lists. Its methods are safe for
// concurrent use; publications are serialised.
type Publisher struct {
	cfg Config
	log *slog.Logger
	mu  sync.Mutex
}

// New checks cfg and returns a Publisher.
func New(cfg Config) (*Publisher, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("publish: Config.Store is required")
	case cfg.Signer == nil:
		return nil, errors.New("publish: Config.Signer is required")
	case cfg.Transport == nil:
		return nil, errors.New("publish: Config.Transport is required")
	case cfg.DeltaDir == "":
		return nil, errors.New("publish: Config.DeltaDir is required")
	case cfg.SnapshotDir == "":
		return nil, errors.New("publish: Config.SnapshotDir is required")
	case cfg.SnapshotBaseURL != "" && !strings.HasPrefix(cfg.SnapshotBaseURL, "https://"):
		return nil, fmt.Errorf("publish: snapshot base URL %q is not https:// (posts fetch snapshots over HTTPS only)", cfg.SnapshotBaseURL)
	case cfg.DeltaWindow < 0 || cfg.KeepSnapshots < 0 || cfg.HeadValidity < 0 || cfg.DeltaValidity < 0:
		return nil, errors.New("publish: negative window, count or validity")
	}
	cfg.DeltaWindow = option.Or(cfg.DeltaWindow, DefaultDeltaWindow)
	cfg.KeepSnapshots = option.Or(cfg.KeepSnapshots, DefaultKeepSnapshots)
	cfg.HeadValidity = option.Or(cfg.HeadValidity, DefaultHeadValidity)
	cfg.DeltaValidity = option.Or(cfg.DeltaValidity, DefaultDeltaValidity)
	cfg.Epoch = option.Or(cfg.Epoch, DefaultEpoch)
	var err error
	if cfg.MaxShrink, err = engine.CheckShrinkLimit(cfg.MaxShrink); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	cfg.Clock = clock.OrSystem(cfg.Clock)
	cfg.SnapshotBaseURL = strings.TrimSuffix(cfg.SnapshotBaseURL, "/")
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{cfg.DeltaDir, cfg.SnapshotDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
	}
	return &Publisher{cfg: cfg, log: log.With(logkey.Component, "hq")}, nil
}

// Edition describes a new edition of a list.
type Edition struct {
	List   string
	Source string // where it came from (default: the path)
	Format string // importer format
	// Action is ListInfo.Action of a list this edition creates.
	Action string
	// ConfirmShrink publishes an edition that removes more than
	// Config.MaxShrink of the list (refused with an *engine.ShrinkError
	// without it); ShrinkConfirmed, if set, then runs before anything is
	// committed and records who confirmed it (its error publishes
	// nothing).
	ConfirmShrink   bool
	ShrinkConfirmed func(ctx context.Context, s engine.Shrink) error
}

// MaxShrink is the shrink guard's share (Config.MaxShrink).
func (p *Publisher) MaxShrink() float64 { return p.cfg.MaxShrink }

// guardShrink refuses an edition that takes the list from current to next
// entries by removing removed, past Config.MaxShrink, unless the edition
// confirms it; a confirmed shrink is recorded through ShrinkConfirmed
// before anything is committed.
func (p *Publisher) guardShrink(ctx context.Context, ed Edition, current, next, removed int) error {
	shrink := engine.Shrink{List: ed.List, Current: current, Next: next, Removed: removed, Limit: p.cfg.MaxShrink}
	if err := engine.CheckShrink(shrink, ed.ConfirmShrink, "--confirm-shrink"); err != nil {
		return err
	}
	if shrink.Exceeds() && ed.ShrinkConfirmed != nil {
		if err := ed.ShrinkConfirmed(ctx, shrink); err != nil {
			return fmt.Errorf("record the confirmed shrink, nothing published: %w", err)
		}
	}
	return nil
}

// Result says what a publication did.
type Result struct {
	List           string
	Epoch, Version uint64 // the list's position after the call
	// Created: the edition created the list (version 1, snapshot only).
	// Changed: it made a new version. Neither: the edition equals the
	// current version and nothing was published.
	Created, Changed bool
	Upserts, Deletes int
	Entries          int
	Hash             string
	// DeltaBytes is the size of the sealed delta (0 without one);
	// NoDelta says why a changed version has none.
	DeltaBytes int
	NoDelta    string
	// SnapshotFile and SnapshotBytes describe the version's snapshot;
	// HeadBytes is the size of the sealed head.
	SnapshotFile  string
	SnapshotBytes int64
	HeadBytes     int
	// HeadIssuedAt is the issued-at of the head published.
	HeadIssuedAt time.Time
}

// PublishEdition imports the edition at path with engine/importer and
// publishes it as the next version of the list (see the package doc).
func (p *Publisher) PublishEdition(ctx context.Context, ed Edition, path string) (Result, error) {
	if ed.Source == "" {
		ed.Source = path
	}
	if importer.IsDocumentFormat(ed.Format) {
		return p.PublishDocuments(ctx, ed, func(emit func(*engine.Document) error) error {
			return importer.ReadPath(ed.Format, path, nil, emit)
		})
	}
	return p.PublishEntries(ctx, ed, func(emit func(*engine.Entry) error) error {
		return importer.ReadPath(ed.Format, path, emit, nil)
	})
}

// PublishEntries publishes the entries src emits as the next version of
// the list. src may emit an id more than once; the last one wins, as in
// badgerstore.ReplaceEntries. An empty edition is refused.
func (p *Publisher) PublishEntries(ctx context.Context, ed Edition, src func(emit func(*engine.Entry) error) error) (Result, error) {
	return publish(ctx, p, ed, src, listOps[engine.Entry]{
		kind: engine.ListNames, replace: p.cfg.Store.ReplaceEntries, read: p.cfg.Store.Entries, check: checked,
		id: func(e *engine.Entry) string { return e.ID }, record: engine.MarshalEntry, clone: (*engine.Entry).Clone,
		change: func(d *protocol.Delta, upserts []engine.Entry, deletes []string) func(json.RawMessage) (engine.ListInfo, error) {
			d.Upserts, d.Deletes = upserts, deletes
			return func(replica json.RawMessage) (engine.ListInfo, error) {
				return p.cfg.Store.UpdateEntries(ctx, ed.List, d.FromVersion, upserts, deletes, badgerstore.WithReplica(replica))
			}
		},
	})
}

// listOps is what publishing a names list and a documents list differ in.
type listOps[T any] struct {
	kind engine.ListKind
	// replace writes version 1; read streams the current version.
	replace func(ctx context.Context, meta badgerstore.ListMeta, src func(emit func(*T) error) error) (engine.ListInfo, error)
	read    func(ctx context.Context, list string, fn func(*T) error) (engine.ListInfo, error)
	// id, record and clone are those of records.
	id     func(*T) string
	record func(*T) []byte
	clone  func(*T) T
	// check wraps emit with the protocol's limits on a record.
	check func(func(*T) error) func(*T) error
	// change puts the upserts and the deleted identities in the delta and
	// returns the update of HQ's store that applies them.
	change func(d *protocol.Delta, upserts []T, deletes []string) func(replica json.RawMessage) (engine.ListInfo, error)
}

// publish publishes the records src emits as the next version of the
// list ed.List: version 1 if HQ does not hold it, otherwise a delta.
func publish[T any](ctx context.Context, p *Publisher, ed Edition, src func(emit func(*T) error) error, k listOps[T]) (Result, error) {
	fail := func(err error) (Result, error) { return Result{}, fmt.Errorf("publish list %q: %w", ed.List, err) }
	if err := protocol.ValidListName(ed.List); err != nil {
		return fail(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()

	info, st, err := p.current(ctx, ed.List, k.kind)
	if errors.Is(err, badgerstore.ErrNoList) {
		return p.create(ctx, ed, func(meta badgerstore.ListMeta) (engine.ListInfo, error) {
			return k.replace(ctx, meta, func(emit func(*T) error) error {
				return nonEmpty(src, k.check(emit))
			})
		})
	}
	if err != nil {
		return fail(err)
	}

	rs := records[T]{
		read:   func(fn func(*T) error) (engine.ListInfo, error) { return k.read(ctx, ed.List, fn) },
		id:     k.id,
		record: k.record,
		clone:  k.clone,
	}
	upserts, deletes, after, next, err := diff(ctx, info, rs, src, k.check)
	if err != nil {
		return fail(err)
	}
	if err := p.guardShrink(ctx, ed, info.Entries, next, len(deletes)); err != nil {
		return fail(err)
	}
	res := Result{List: ed.List, Epoch: st.Epoch, Version: info.Version, Entries: info.Entries, Hash: info.Hash, Upserts: len(upserts), Deletes: len(deletes)}
	if len(upserts)+len(deletes) == 0 {
		return res, nil
	}

	// 3. The delta, applied to HQ's store, kept and announced.
	d := &protocol.Delta{List: ed.List, Epoch: st.Epoch, FromVersion: info.Version, ToVersion: info.Version + 1, HashAfter: after}
	return p.commit(ctx, ed, st, res, d, k.change(d, upserts, deletes))
}

// records describes one kind of list's records to diff.
type records[T any] struct {
	read   func(fn func(*T) error) (engine.ListInfo, error) // HQ's records at the current version
	id     func(*T) string                                  // a record's identity in the list
	record func(*T) []byte                                  // its canonical bytes, which the list hashes
	clone  func(*T) T                                       // a copy that shares nothing with the importer's
}

// diff compares the edition src emits (each record through check) with
// HQ's current version info: the records that are new or differ, sorted
// by identity, the identities of HQ's records the edition lacks, sorted,
// the edition's set hash and its number of records. An identity emitted
// twice: the last wins.
func diff[T any](ctx context.Context, info engine.ListInfo, k records[T], src func(emit func(*T) error) error, check func(func(*T) error) func(*T) error) (upserts []T, deletes []string, after engine.SetHash, next int, err error) {
	// 1. HQ's records, as digests.
	old := make(map[string][32]byte, info.Entries)
	var oldSum engine.SetHash
	got, err := k.read(func(r *T) error {
		d := sha256.Sum256(k.record(r))
		old[k.id(r)] = d
		addDigest(&oldSum, d)
		return nil
	})
	if err != nil {
		return nil, nil, after, 0, err
	}
	if got.Version != info.Version || oldSum.String() != got.Hash {
		return nil, nil, after, 0, fmt.Errorf("HQ's store: list at version %d reads as %s, recorded hash %s at version %d: run `watchpost verify` on HQ's store, publish nothing", got.Version, oldSum, got.Hash, info.Version)
	}

	// 2. The new edition: its digests, and the records that differ.
	fresh := make(map[string][32]byte, len(old))
	changed := map[string]T{}
	if err := src(check(func(r *T) error {
		id := k.id(r)
		d := sha256.Sum256(k.record(r))
		fresh[id] = d
		if o, ok := old[id]; ok && o == d {
			delete(changed, id) // an earlier duplicate of this id may have differed
		} else {
			changed[id] = k.clone(r)
		}
		return nil
	})); err != nil {
		return nil, nil, after, 0, fmt.Errorf("read edition: %w", err)
	}
	if len(fresh) == 0 {
		return nil, nil, after, 0, errEmpty
	}
	for _, d := range fresh {
		addDigest(&after, d)
	}
	ids := make([]string, 0, len(changed))
	for id := range changed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	upserts = make([]T, len(ids))
	for i, id := range ids {
		upserts[i] = changed[id]
	}
	for id := range old {
		if _, ok := fresh[id]; !ok {
			deletes = append(deletes, id)
		}
	}
	slices.Sort(deletes)
	return upserts, deletes, after, len(fresh), nil
}

// current reads the list's current version and HQ's state, refusing a
// list of another kind, and first finishes announcing a version that a
// crash or broker failure left unannounced. Called with p.mu held; an
// error matching badgerstore.ErrNoList when HQ does not hold the list.
func (p *Publisher) current(ctx context.Context, list string, kind engine.ListKind) (engine.ListInfo, state, error) {
	info, err := p.cfg.Store.List(list)
	if err != nil {
		return info, state{}, err
	}
	st, err := decodeState(list, info.Replica)
	if err != nil {
		return info, st, err
	}
	if info.Kind != kind {
		return info, st, fmt.Errorf("%w: HQ holds a %s list", ErrWrongKind, info.Kind)
	}
	if st.Published < info.Version {
		// A crash or broker failure after the last commit: announce it
		// before building on it.
		if _, err := p.announce(ctx, list); err != nil {
			return info, st, fmt.Errorf("finish publishing version %d first: %w", info.Version, err)
		}
		if info, err = p.cfg.Store.List(list); err != nil {
			return info, st, err
		}
		if st, err = decodeState(list, info.Replica); err != nil {
			return info, st, err
		}
	}
	return info, st, nil
}

// commit signs d (dated now; without a delta file when it exceeds the
// protocol's limits, posts then take the snapshot), applies it to HQ's
// store with update, which must commit version d.ToVersion with the
// given replication state and hash d.HashAfter, keeps the delta file and
// announces the version. res holds the counts of the diff.
func (p *Publisher) commit(ctx context.Context, ed Edition, st state, res Result, d *protocol.Delta, update func(replica json.RawMessage) (engine.ListInfo, error)) (Result, error) {
	fail := func(err error) (Result, error) { return Result{}, fmt.Errorf("publish list %q: %w", ed.List, err) }
	issued := p.nextIssued(st)
	d.IssuedAt, d.ValidUntil = issued, issued.Add(p.cfg.DeltaValidity)
	var sealed []byte
	if n := d.Ops(); n > protocol.MaxDeltaOps {
		res.NoDelta = fmt.Sprintf("%d operations exceed the %d of one delta", n, protocol.MaxDeltaOps)
	} else {
		payload, err := protocol.EncodeDelta(d)
		if err != nil {
			return fail(err)
		}
		if len(payload) > protocol.MaxEnvelopeSize-protocol.EnvelopeHeaderSize {
			res.NoDelta = fmt.Sprintf("%d bytes exceed the %d of one message", len(payload), protocol.MaxEnvelopeSize)
		} else if sealed, err = protocol.Seal(p.cfg.Signer, d.EnvelopeKind(), payload); err != nil {
			return fail(err)
		}
	}

	// Apply it to HQ's store; the store's hash must be HashAfter.
	next := st
	next.Source, next.EditionFormat = ed.Source, ed.Format
	ni, err := update(next.encode())
	if err != nil {
		return fail(err)
	}
	if ni.Hash != d.HashAfter.String() {
		return fail(fmt.Errorf("HQ's store committed version %d with hash %s, but the edition hashes to %s: nothing published; the list needs a new epoch", ni.Version, ni.Hash, d.HashAfter))
	}

	// Keep the delta.
	if sealed != nil {
		if err := writeAtomic(p.deltaPath(ed.List, st.Epoch, d.ToVersion), sealed); err != nil {
			return fail(fmt.Errorf("version %d committed, delta not kept (posts will take the snapshot): %w", ni.Version, err))
		}
		res.DeltaBytes = len(sealed)
	}
	if err := p.pruneDeltas(ed.List, st.Epoch, d.ToVersion); err != nil {
		p.log.Warn("Prune old deltas", logkey.List, ed.List, logkey.Reason, err)
	}

	// Announce.
	ann, err := p.announce(ctx, ed.List)
	if err != nil {
		return fail(fmt.Errorf("version %d committed, not yet announced (the next publish or `heads` retries): %w", ni.Version, err))
	}
	res.Changed = true
	res.Version, res.Entries, res.Hash = ni.Version, ni.Entries, ni.Hash
	res.SnapshotFile, res.SnapshotBytes, res.HeadBytes, res.HeadIssuedAt = ann.SnapshotFile, ann.SnapshotBytes, ann.HeadBytes, ann.HeadIssuedAt
	p.log.Info("Published list version", logkey.List, ed.List, logkey.Epoch, st.Epoch, logkey.Version, ni.Version,
		logkey.Upserts, res.Upserts, logkey.Deletes, res.Deletes, logkey.Bytes, len(sealed))
	return res, nil
}

// create publishes the first edition of a list: version 1 and its
// snapshot, no delta.
// replace writes the edition to HQ's store as the list's version 1.
func (p *Publisher) create(ctx context.Context, ed Edition, replace func(meta badgerstore.ListMeta) (engine.ListInfo, error)) (Result, error) {
	fail := func(err error) (Result, error) { return Result{}, fmt.Errorf("publish list %q: %w", ed.List, err) }
	st := state{Epoch: p.cfg.Epoch, Source: ed.Source, EditionFormat: ed.Format}
	info, err := replace(badgerstore.ListMeta{
		Name: ed.List, Source: ed.Source, Format: ed.Format, Action: ed.Action, Replica: st.encode(),
	})
	if err != nil {
		return fail(err)
	}
	if info.Version != 1 {
		return fail(fmt.Errorf("new list created at store version %d, want 1 (was it created concurrently?)", info.Version))
	}
	ann, err := p.announce(ctx, ed.List)
	if err != nil {
		return fail(fmt.Errorf("version 1 committed, not yet announced (the next publish or `heads` retries): %w", err))
	}
	p.log.Info("Published new list", logkey.List, ed.List, logkey.Epoch, st.Epoch, logkey.Version, 1, logkey.Entries, info.Entries)
	return Result{
		List: ed.List, Epoch: st.Epoch, Version: 1, Created: true, Changed: true,
		Upserts: info.Entries, Entries: info.Entries, Hash: info.Hash,
		SnapshotFile: ann.SnapshotFile, SnapshotBytes: ann.SnapshotBytes, HeadBytes: ann.HeadBytes, HeadIssuedAt: ann.HeadIssuedAt,
	}, nil
}

// ErrWrongKind: an edition of a names list for a documents list, or the
// reverse.
var ErrWrongKind = errors.New("edition of the other kind of list")

// errEmpty refuses an edition without entries: far more often a failed
// download or a wrong file than a list that was emptied.
var errEmpty = errors.New("the edition has no entries; refusing to publish an empty list")

// nonEmpty runs src with emit and refuses an edition that emitted nothing.
func nonEmpty[T any](src func(emit func(*T) error) error, emit func(*T) error) error {
	n := 0
	if err := src(func(r *T) error { n++; return emit(r) }); err != nil {
		return err
	}
	if n == 0 {
		return errEmpty
	}
	return nil
}

// checked wraps emit with the protocol's limits on entries, which the
// store does not enforce, so that nothing is committed that cannot be
// sent; it also refuses an empty edition.
func checked(emit func(*engine.Entry) error) func(*engine.Entry) error {
	return func(e *engine.Entry) error {
		if e == nil {
			return errors.New("nil entry")
		}
		if err := e.Validate(); err != nil {
			return err
		}
		if n := len(e.ID); n == 0 || n > protocol.MaxIDLen || strings.IndexByte(e.ID, 0) >= 0 {
			return fmt.Errorf("entry id %q: want 1 to %d bytes without NUL", e.ID, protocol.MaxIDLen)
		}
		if n := len(engine.MarshalEntry(e)); n > protocol.MaxEntrySize {
			return fmt.Errorf("entry %q: record of %d bytes exceeds the protocol's %d", e.ID, n, protocol.MaxEntrySize)
		}
		return emit(e)
	}
}

// announced is what announce did.
type announced struct {
	SnapshotFile  string
	SnapshotBytes int64
	HeadBytes     int
	HeadIssuedAt  time.Time
}

// announce makes the current version of list known: it writes the
// version's snapshot if it has none, publishes the kept deltas not yet
// published, then a new head, and records the version as published.
// Called with p.mu held.
func (p *Publisher) announce(ctx context.Context, list string) (announced, error) {
	var ann announced
	info, err := p.cfg.Store.List(list)
	if err != nil {
		return ann, err
	}
	st, err := decodeState(list, info.Replica)
	if err != nil {
		return ann, err
	}
	issued := p.nextIssued(st)
	ref := st.Snapshot
	if ref == nil || ref.Version != info.Version || !p.haveSnapshot(ref) {
		if ref, err = p.writeSnapshot(ctx, list, st.Epoch, info, issued); err != nil {
			return ann, err
		}
	}
	ann.SnapshotFile, ann.SnapshotBytes = ref.File, int64(ref.Size)
	for v := max(st.Published+1, 2); v <= info.Version; v++ {
		b, err := os.ReadFile(p.deltaPath(list, st.Epoch, v))
		if errors.Is(err, fs.ErrNotExist) {
			continue // too large to send, or pruned: posts take the snapshot
		}
		if err != nil {
			return ann, err
		}
		if err := p.cfg.Transport.Publish(ctx, protocol.DeltaTopic(list), b, false); err != nil {
			return ann, fmt.Errorf("publish delta %d->%d: %w", v-1, v, err)
		}
	}
	n, err := p.publishHead(ctx, list, info, st.Epoch, ref, issued)
	if err != nil {
		return ann, err
	}
	ann.HeadBytes, ann.HeadIssuedAt = n, issued
	st.Published, st.HeadIssuedAt, st.Snapshot = info.Version, issued, ref
	if err := p.cfg.Store.SetReplica(ctx, list, info.Version, st.encode()); err != nil {
		return ann, fmt.Errorf("head published, state not recorded: %w", err)
	}
	if err := p.pruneSnapshots(list, st.Epoch, info.Version); err != nil {
		p.log.Warn("Prune old snapshots", logkey.List, list, logkey.Reason, err)
	}
	return ann, nil
}

// publishHead signs and publishes (retained) the head of info.
func (p *Publisher) publishHead(ctx context.Context, list string, info engine.ListInfo, epoch uint64, ref *snapshotRef, issued time.Time) (int, error) {
	hash, err := protocol.ParseSetHash(info.Hash)
	if err != nil {
		return 0, err
	}
	h := &protocol.Head{
		List: list, Epoch: epoch, Version: info.Version, Hash: hash, Entries: uint64(info.Entries),
		IssuedAt: issued, ValidUntil: issued.Add(p.cfg.HeadValidity),
	}
	if ref != nil && p.cfg.SnapshotBaseURL != "" {
		sum, err := hex.DecodeString(ref.SHA256)
		if err != nil || len(sum) != sha256.Size {
			return 0, fmt.Errorf("snapshot %s: bad SHA-256 %q in HQ state", ref.File, ref.SHA256)
		}
		h.SnapshotURL = p.cfg.SnapshotBaseURL + "/" + ref.File
		h.SnapshotVersion, h.SnapshotSize = ref.Version, ref.Size
		copy(h.SnapshotSHA256[:], sum)
	}
	b, err := protocol.SealHead(p.cfg.Signer, h)
	if err != nil {
		return 0, err
	}
	if err := p.cfg.Transport.Publish(ctx, protocol.HeadTopic(list), b, true); err != nil {
		return 0, fmt.Errorf("publish head %s: %w", h.Position(), err)
	}
	p.log.Info("Published head", logkey.List, list, logkey.Epoch, epoch, logkey.Version, info.Version, logkey.Bytes, len(b))
	return len(b), nil
}

// haveSnapshot reports whether ref's file is in SnapshotDir with its size.
func (p *Publisher) haveSnapshot(ref *snapshotRef) bool {
	fi, err := os.Stat(filepath.Join(p.cfg.SnapshotDir, ref.File))
	return err == nil && uint64(fi.Size()) == ref.Size
}

// writeSnapshot writes the snapshot file of the list's current version.
func (p *Publisher) writeSnapshot(ctx context.Context, list string, epoch uint64, info engine.ListInfo, issued time.Time) (*snapshotRef, error) {
	fail := func(err error) (*snapshotRef, error) {
		return nil, fmt.Errorf("write snapshot of version %d: %w", info.Version, err)
	}
	hash, err := protocol.ParseSetHash(info.Hash)
	if err != nil {
		return fail(err)
	}
	name := protocol.SnapshotFileName(list, epoch, info.Version)
	f, err := os.CreateTemp(p.cfg.SnapshotDir, ".tmp-*")
	if err != nil {
		return fail(err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	sw, err := protocol.NewSnapshotWriter(bw, p.cfg.Signer, protocol.SnapshotHeader{
		List: list, Kind: info.Kind, Epoch: epoch, Version: info.Version, Hash: hash, Count: uint64(info.Entries), IssuedAt: issued,
	})
	if err != nil {
		return fail(err)
	}
	var got engine.ListInfo
	if info.Kind == engine.ListDocuments {
		got, err = p.cfg.Store.Documents(ctx, list, sw.AddDocument)
	} else {
		got, err = p.cfg.Store.Entries(ctx, list, sw.Add)
	}
	if err != nil {
		return fail(err)
	}
	if got.Version != info.Version {
		return fail(fmt.Errorf("the list moved to version %d while it was written", got.Version))
	}
	if err := sw.Close(); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	done = true
	if err := os.Rename(tmp, filepath.Join(p.cfg.SnapshotDir, name)); err != nil {
		os.Remove(tmp)
		return fail(err)
	}
	if err := syncDir(p.cfg.SnapshotDir); err != nil {
		return fail(err)
	}
	sum := sw.FileSHA256()
	return &snapshotRef{Version: info.Version, File: name, SHA256: hex.EncodeToString(sum[:]), Size: uint64(sw.Size())}, nil
}

// nextIssued is the issued-at of the next head (and delta) of a list:
// now in whole seconds, at least one second after the last head.
func (p *Publisher) nextIssued(st state) time.Time {
	t := p.cfg.Clock.Now().UTC().Truncate(time.Second)
	if floor := st.HeadIssuedAt.Add(time.Second); t.Before(floor) {
		t = floor.UTC()
	}
	return t
}

// HeadResult says what RepublishHeads did for one list.
type HeadResult struct {
	List           string
	Epoch, Version uint64
	IssuedAt       time.Time
	ValidUntil     time.Time
	Bytes          int
	// Announced: the version had not been announced yet (a crash or a
	// broker failure during its publish); its deltas were sent too.
	Announced bool
}

// RepublishHeads re-signs the head of every list HQ publishes with a
// fresh issued-at and valid-until and publishes it (retained), so that
// posts can tell a quiet feed from a frozen one. A list whose current
// version was never announced is announced in full. It returns what was
// done for each list and the errors of the lists that failed (the others
// are still re-signed).
//
// It also publishes again, retained and unchanged, the key rotation
// statements AnnounceKey recorded whose window has not ended (see
// AnnounceKey), so that a broker that lost its retained messages gets
// them back, and the seal-key statement of the signing key's encryption
// key (made on first use, SealKey), which posts seal hits, decisions and
// audit entries to; a failure there is among the errors returned.
func (p *Publisher) RepublishHeads(ctx context.Context) ([]HeadResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	lists, err := p.cfg.Store.Lists()
	if err != nil {
		return nil, fmt.Errorf("republish heads: %w", err)
	}
	var out []HeadResult
	var errs []error
	for _, info := range lists {
		r, err := p.republish(ctx, info)
		if err != nil {
			errs = append(errs, fmt.Errorf("republish head of list %q: %w", info.Name, err))
			continue
		}
		out = append(out, r)
	}
	if _, err := p.republishKeys(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := p.publishSealKey(ctx); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

func (p *Publisher) republish(ctx context.Context, info engine.ListInfo) (HeadResult, error) {
	st, err := decodeState(info.Name, info.Replica)
	if err != nil {
		return HeadResult{}, err
	}
	r := HeadResult{List: info.Name, Epoch: st.Epoch, Version: info.Version}
	if st.Published < info.Version || st.Snapshot == nil || !p.haveSnapshot(st.Snapshot) {
		ann, err := p.announce(ctx, info.Name)
		if err != nil {
			return r, err
		}
		r.Announced = st.Published < info.Version
		r.IssuedAt, r.ValidUntil, r.Bytes = ann.HeadIssuedAt, ann.HeadIssuedAt.Add(p.cfg.HeadValidity), ann.HeadBytes
		return r, nil
	}
	issued := p.nextIssued(st)
	n, err := p.publishHead(ctx, info.Name, info, st.Epoch, st.Snapshot, issued)
	if err != nil {
		return r, err
	}
	st.HeadIssuedAt = issued
	if err := p.cfg.Store.SetReplica(ctx, info.Name, info.Version, st.encode()); err != nil {
		return r, fmt.Errorf("head published, state not recorded: %w", err)
	}
	r.IssuedAt, r.ValidUntil, r.Bytes = issued, issued.Add(p.cfg.HeadValidity), n
	return r, nil
}

// ListStatus is HQ's view of one list in its store.
type ListStatus struct {
	Info engine.ListInfo
	// Epoch, Published, HeadIssuedAt and Snapshot come from HQ's state;
	// Err says why a list has none (not created by the publisher).
	Epoch        uint64
	Published    uint64
	HeadIssuedAt time.Time
	SnapshotFile string
	Err          error
}

// Pending reports whether the current version still awaits announcement.
func (s ListStatus) Pending() bool { return s.Err == nil && s.Published < s.Info.Version }

// Lists returns HQ's view of every list in st, sorted by name.
func Lists(st *badgerstore.Store) ([]ListStatus, error) {
	lists, err := st.Lists()
	if err != nil {
		return nil, err
	}
	out := make([]ListStatus, 0, len(lists))
	for _, info := range lists {
		ls := ListStatus{Info: info}
		s, err := decodeState(info.Name, info.Replica)
		if err != nil {
			ls.Err = err
		} else {
			ls.Epoch, ls.Published, ls.HeadIssuedAt = s.Epoch, s.Published, s.HeadIssuedAt
			if s.Snapshot != nil {
				ls.SnapshotFile = s.Snapshot.File
			}
		}
		out = append(out, ls)
	}
	return out, nil
}

// addDigest adds a record's SHA-256 to a set hash, as engine.SetHash.Add
// does with the record itself.
func addDigest(h *engine.SetHash, d [32]byte) {
	for i := range h {
		h[i] += binary.BigEndian.Uint64(d[i*8:])
	}
}
