package ledger

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/option"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
)

// Namespace is the records namespace of the ledger in the store.
const Namespace = "ledger"

// schemaVersion is the key layout described in the package doc: 2 adds
// the audit chain (a store of version 1 is upgraded in place: its older
// entries stay outside the chain).
const schemaVersion = 2

const (
	// DefaultRetention keeps a non-hit screening's row (which holds no
	// traveller data) for a day, GTAS's default for API/PNR data; the
	// national law may ask for less.
	DefaultRetention = 24 * time.Hour
	// DefaultHitRetention keeps a hit record, with the traveller's data,
	// for 90 days: long enough for the secondary check, a complaint or an
	// inquiry, short of the EU PNR Directive's six months before
	// depersonalisation.
	DefaultHitRetention = 90 * 24 * time.Hour
	// DefaultPageLimit and MaxPageLimit bound Hits and Audit pages.
	DefaultPageLimit = 50
	MaxPageLimit     = 1000
	// MaxNote bounds an officer's note (bytes), well inside an outbox
	// record.
	MaxNote = 4096
)

// Sources of a screening (protocol.HitReport.Source).
const (
	SourceAPI      = "api"
	SourceManifest = "manifest"
	SourceIntake   = "intake"
	SourceDemo     = "demo"
)

// ActorSystem is the actor of actions no person asked for (purges, and
// screenings whose caller named nobody).
const ActorSystem = "system"

// Errors for errors.Is.
var (
	// ErrNotFound: no hit with that id (never recorded, or purged).
	ErrNotFound = errors.New("hit not found")
	// ErrInvalid: the caller's input is wrong (a screening, a decision, a
	// filter or a cursor); the message says what. Nothing was written.
	ErrInvalid = errors.New("invalid ledger request")
	// ErrSchemaTooNew: the store holds a ledger written by a newer
	// Watchpost.
	ErrSchemaTooNew = errors.New("ledger schema is newer than this program")
)

// Options configure a Ledger.
type Options struct {
	// Post is the post id put in the reports for HQ. Required.
	Post string
	// Clock (clock.System when nil): recording times, retention and the purge loop.
	Clock clock.Clock
	// Retention is how long a non-hit screening's row is kept
	// (DefaultRetention when 0).
	Retention time.Duration
	// HitRetention is how long a hit record is kept (DefaultHitRetention
	// when 0). It must not be shorter than Retention.
	HitRetention time.Duration
	// CheckpointEvery: an audit checkpoint is due once this many entries
	// wait (DefaultCheckpointEvery when 0); RunCheckpoints also signs one
	// every interval.
	CheckpointEvery int
	// Logger; nil discards. Nothing it receives names a traveller.
	Logger *slog.Logger
	// MaxBatch bounds the screenings of one RecordBatch (the MaxBatch
	// constant when 0).
	MaxBatch int
	// PurgeBatch bounds the rows one purge transaction deletes; its zero
	// fields take DefaultPurgeBatch's.
	PurgeBatch PurgeBatch
	// GroupWindow and GroupRows shape the group commit of screenings
	// without a hit while RunGroupCommit runs: a queued row is committed
	// at most GroupWindow after it was queued (DefaultGroupWindow when
	// 0), or at once when GroupRows wait (DefaultGroupRows when 0).
	GroupWindow time.Duration
	GroupRows   int
	// InTxn, if set, runs inside Record's and Dispose's transaction after
	// every row is written and before the commit, inside RecordBatch's
	// after each screening ("record") and after the marker ("batch"),
	// and inside a group commit's ("group"); an error aborts the
	// transaction. It injects faults in
	// tests; production leaves it nil.
	InTxn func(op string) error
}

// PurgeBatch bounds the rows of one purge transaction, by kind of row.
type PurgeBatch struct {
	Screenings   int // non-hit screening rows
	Hits         int // hit records with their index rows
	BatchMarkers int // RecordBatch markers
}

// DefaultPurgeBatch keeps each purge transaction, with its one audit
// entry, well inside Badger's transaction limit.
var DefaultPurgeBatch = PurgeBatch{Screenings: 2000, Hits: 500, BatchMarkers: 2000}

// Screening is one screened traveller, as the API or the intake hands it
// over.
type Screening struct {
	// Source: SourceAPI, SourceManifest, SourceIntake or SourceDemo.
	Source string
	// Ref names the flight or the file, if any. No personal data.
	Ref string
	// Actor is who asked: the API token's name, "intake"; ActorSystem
	// when empty.
	Actor string
	// Traveller as screened. Stored only when there are hits.
	Traveller engine.Query
	// Hits the screening found; none is a non-hit.
	Hits []engine.Hit
	// ScreenedAt is when the screening ran (the ledger's clock when zero).
	ScreenedAt time.Time
}

// Recorded says what Record stored.
type Recorded struct {
	ScreeningID string
	// HitID is the hit record's id, "" for a non-hit. It is also the id of
	// the outbox record (HQ deduplicates on it) and never changes.
	HitID      string
	RecordedAt time.Time
}

// Status is a hit's state: StatusOpen until an officer decides, then the
// decision in force.
type Status string

// Hit statuses.
const (
	StatusOpen          Status = "open"
	StatusConfirmed     Status = protocol.DispositionConfirmed
	StatusFalsePositive Status = protocol.DispositionFalsePositive
	StatusReferred      Status = protocol.DispositionReferred
	// StatusDecided is not a status but a HitFilter value: every hit with
	// a decision (not open).
	StatusDecided Status = "decided"
)

func (s Status) valid() bool {
	switch s {
	case StatusOpen, StatusConfirmed, StatusFalsePositive, StatusReferred:
		return true
	}
	return false
}

// HitRecord is a screening that hit, awaiting or carrying an officer's
// decision. It holds the traveller's data and is purged after
// HitRetention.
type HitRecord struct {
	ID          string `json:"id"`
	ScreeningID string `json:"screening_id"`
	Status      Status `json:"status"`
	Source      string `json:"source"`
	Ref         string `json:"ref,omitempty"`
	// Actor is who asked for the screening (Screening.Actor).
	Actor      string       `json:"actor"`
	ScreenedAt time.Time    `json:"screened_at"`
	RecordedAt time.Time    `json:"recorded_at"`
	Traveller  engine.Query `json:"traveller"`
	Hits       []engine.Hit `json:"hits"`
	// Decisions, oldest first; the last one is in force.
	Decisions []Decision `json:"decisions,omitempty"`
}

// Decision is one officer's decision on a hit, as recorded.
type Decision struct {
	// ID is the id of the decision's outbox record (HQ deduplicates on it).
	ID       string `json:"id"`
	Decision string `json:"decision"`
	Officer  string `json:"officer"`
	Note     string `json:"note,omitempty"`
	// Actor is the API token (or other channel) the decision came
	// through, as in its audit entry's Via.
	Actor     string    `json:"actor,omitempty"`
	DecidedAt time.Time `json:"decided_at"`
}

// storedHit is a hit record as stored: with the tie-break number of its
// index keys.
type storedHit struct {
	HitRecord
	Seq uint64 `json:"seq"`
}

// Disposition is what an officer submits about a hit.
type Disposition struct {
	// Decision: protocol.DispositionConfirmed, DispositionFalsePositive or
	// DispositionReferred.
	Decision string
	// Officer is the deciding officer's id. Required.
	Officer string
	// Note is free text, at most MaxNote bytes. It may hold personal data:
	// it is stored with the hit and sent to HQ, never audited or logged.
	Note string
	// Actor is the channel the decision came through (the API token's
	// name), audited as Via; optional. The officer is the audit's actor.
	Actor string
}

// Ledger is the post's record of screenings, hits and decisions. Its
// methods are safe for concurrent use. It starts no goroutine (RunPurge
// runs on the caller's) and does not own the store or the outbox.
type Ledger struct {
	store *badgerstore.Store
	recs  *badgerstore.Records
	ob    *outbox.Outbox
	opts  Options
	clock clock.Clock
	log   *slog.Logger

	// mu serialises the read-modify-write transactions (Dispose, Purge):
	// the store runs Badger without conflict detection.
	mu sync.Mutex
	// batchMu serialises RecordBatch calls, so that two calls with one key
	// cannot both miss its marker. It is never held with mu.
	batchMu sync.Mutex

	stats statsState
	group group

	// chainMu is held from an entry's append until its transaction has
	// ended (lockChain), so that entries link in commit order. It is
	// always taken last, after mu or batchMu.
	chainMu        sync.Mutex
	head           chainHead // the committed chain's last entry
	headHash       protocol.AuditHash
	checkpointed   uint64 // the last seq covered by a checkpoint
	auditKey       ed25519.PrivateKey
	checkpointKick chan struct{}

	// seq breaks ties between keys of the same nanosecond (<n> in the
	// package doc): one transaction writes several audit entries at one
	// time, and a coarse clock (Windows) gives many actions the same one.
	// It starts at Open from the system's wall clock, so that it also
	// grows across restarts; it never decides anything but the order of
	// simultaneous entries.
	seq atomic.Uint64
}

// inTxn runs Options.InTxn, if set.
func (l *Ledger) inTxn(op string) error {
	if l.opts.InTxn == nil {
		return nil
	}
	return l.opts.InTxn(op)
}

// Open prepares the ledger in store (writing its schema key on first use)
// and counts the open hits. ob is the outbox hits and decisions go to; it
// must be opened over the same store.
func Open(ctx context.Context, store *badgerstore.Store, ob *outbox.Outbox, opts Options) (*Ledger, error) {
	if store == nil || ob == nil {
		return nil, errors.New("ledger open: store and outbox are required")
	}
	if opts.Post == "" {
		return nil, errors.New("ledger open: no post id")
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	opts.Retention = option.Or(opts.Retention, DefaultRetention)
	opts.MaxBatch = option.Positive(opts.MaxBatch, MaxBatch)
	opts.PurgeBatch.Screenings = option.Positive(opts.PurgeBatch.Screenings, DefaultPurgeBatch.Screenings)
	opts.PurgeBatch.Hits = option.Positive(opts.PurgeBatch.Hits, DefaultPurgeBatch.Hits)
	opts.PurgeBatch.BatchMarkers = option.Positive(opts.PurgeBatch.BatchMarkers, DefaultPurgeBatch.BatchMarkers)
	opts.HitRetention = option.Or(opts.HitRetention, DefaultHitRetention)
	opts.GroupWindow = option.Positive(opts.GroupWindow, DefaultGroupWindow)
	opts.GroupRows = option.Positive(opts.GroupRows, DefaultGroupRows)
	opts.CheckpointEvery = option.Positive(opts.CheckpointEvery, DefaultCheckpointEvery)
	if opts.Retention < 0 || opts.HitRetention < opts.Retention {
		return nil, fmt.Errorf("ledger open: retention %s and hit retention %s: want 0 < retention <= hit retention",
			opts.Retention, opts.HitRetention)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Ledger{
		store: store,
		recs:  store.Records(Namespace),
		ob:    ob,
		opts:  opts,
		clock: opts.Clock,
		log:   log.With(logkey.Component, "ledger"),

		checkpointKick: make(chan struct{}, 1),
		group:          group{kick: make(chan struct{}, 1), full: make(chan struct{}, 1)},
	}
	l.stats.init()
	l.seq.Store(uint64(max(time.Now().UnixNano(), 0)))
	open := 0
	err := l.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		switch v, err := tx.Get(keySchema); {
		case errors.Is(err, badgerstore.ErrRecordNotFound):
			if err := tx.Set(keySchema, []byte(strconv.Itoa(schemaVersion))); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			n, err := strconv.Atoi(string(v))
			if err != nil {
				return fmt.Errorf("schema key %q: %w", v, err)
			}
			if n > schemaVersion {
				return fmt.Errorf("%w: %d > %d", ErrSchemaTooNew, n, schemaVersion)
			}
			if n < schemaVersion {
				if err := tx.Set(keySchema, []byte(strconv.Itoa(schemaVersion))); err != nil {
					return err
				}
			}
		}
		if err := l.openChain(tx); err != nil {
			return err
		}
		return tx.Iterate(statusPrefix(StatusOpen), func(_, _ []byte) error {
			open++
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("ledger open: %w", err)
	}
	l.stats.setOpen(open)
	return l, nil
}

// Record stores a screening (see the package doc for what is kept) and,
// if it hit, the hit record, its audit entries and the outbox record for
// HQ (kind hit, id = the hit id, payload protocol.HitReport), all in one
// transaction. While RunGroupCommit runs, the row of a screening without
// a hit is queued instead and committed with others within GroupWindow,
// and a hit shares the next commit with them (see RunGroupCommit); a
// hit is always durable when Record returns.
func (l *Ledger) Record(ctx context.Context, s Screening) (Recorded, error) {
	if rec, ok, err := l.queue(ctx, s); ok {
		return rec, err
	}
	now := l.clock.Now()
	p, err := l.prepare(s, now)
	if err != nil {
		return Recorded{}, err
	}
	err = l.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		if err := l.write(l.lockChain(tx), p, now); err != nil {
			return err
		}
		if err := l.inTxn("record"); err != nil {
			return err
		}
		tx.OnDone(func(committed bool) {
			if committed {
				l.stats.recorded(now, p.s.Hits)
			}
		})
		return nil
	})
	if err != nil {
		if errors.Is(err, outbox.ErrInvalidRecord) {
			err = fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return Recorded{}, fmt.Errorf("record screening: %w", err)
	}
	l.logHit(p)
	return p.rec, nil
}

// pending is a screening checked and ready to write: its ids, rows and
// outbox payload are built.
type pending struct {
	s        Screening
	rec      Recorded
	screened AuditEntry
	hit      *storedHit // nil for a non-hit
	payload  []byte     // the protocol.HitReport of a hit
	// done, for a hit in the group commit, receives its commit's error.
	done chan error
}

// prepare checks s and builds what write stores, recorded at now.
func (l *Ledger) prepare(s Screening, now time.Time) (*pending, error) {
	switch s.Source {
	case SourceAPI, SourceManifest, SourceIntake, SourceDemo:
	default:
		return nil, fmt.Errorf("%w: source %q is not one of api, manifest, intake, demo", ErrInvalid, s.Source)
	}
	if s.Actor == "" {
		s.Actor = ActorSystem
	}
	if s.ScreenedAt.IsZero() {
		s.ScreenedAt = now
	}
	p := &pending{s: s, rec: Recorded{ScreeningID: outbox.NewID(now), RecordedAt: now}}
	p.screened = AuditEntry{
		ID: p.rec.ScreeningID, Time: now, Action: ActionScreened, Actor: s.Actor,
		ScreeningID: p.rec.ScreeningID, Source: s.Source, Ref: s.Ref, Matches: len(s.Hits),
	}
	if len(s.Hits) == 0 {
		return p, nil
	}
	p.rec.HitID = outbox.NewID(now)
	p.screened.HitID = p.rec.HitID
	report := protocol.HitReport{
		Post: l.opts.Post, ScreenedAt: s.ScreenedAt, Source: s.Source, Ref: s.Ref,
		Traveller: s.Traveller, Hits: s.Hits,
	}
	if err := report.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var err error
	if p.payload, err = json.Marshal(&report); err != nil {
		return nil, fmt.Errorf("record screening: encode hit report: %w", err)
	}
	p.hit = &storedHit{HitRecord: HitRecord{
		ID: p.rec.HitID, ScreeningID: p.rec.ScreeningID, Status: StatusOpen,
		Source: s.Source, Ref: s.Ref, Actor: s.Actor, ScreenedAt: s.ScreenedAt, RecordedAt: now,
		Traveller: s.Traveller, Hits: s.Hits,
	}, Seq: l.seq.Add(1)}
	return p, nil
}

// write stores a prepared screening in c's transaction: the non-hit row,
// or the hit record, its two audit entries and its outbox record.
func (l *Ledger) write(c *chainTx, p *pending, now time.Time) error {
	tx := c.tx
	if p.hit == nil {
		return c.append(timeKey(prefixScreening, now, l.seq.Add(1), p.rec.ScreeningID), &p.screened)
	}
	if err := l.putHit(tx, p.hit, ""); err != nil {
		return err
	}
	if err := c.append(timeKey(prefixAudit, now, l.seq.Add(1), p.rec.ScreeningID), &p.screened); err != nil {
		return err
	}
	opened := AuditEntry{
		ID: outbox.NewID(now), Time: now, Action: ActionHitOpened, Actor: p.s.Actor,
		ScreeningID: p.rec.ScreeningID, HitID: p.rec.HitID, OutboxID: p.rec.HitID,
		Source: p.s.Source, Ref: p.s.Ref, Matches: len(p.s.Hits),
	}
	if err := c.append(timeKey(prefixAudit, now, l.seq.Add(1), opened.ID), &opened); err != nil {
		return err
	}
	_, err := l.ob.PutTx(tx, outbox.Record{ID: p.rec.HitID, Kind: protocol.RecordHit, Payload: p.payload, CreatedAt: now})
	return err
}

// logHit logs a committed hit (ids, source, ref and count only).
func (l *Ledger) logHit(p *pending) {
	if p.hit != nil {
		l.log.Info("Hit recorded", logkey.HitID, p.rec.HitID, logkey.ScreeningID, p.rec.ScreeningID,
			logkey.Source, p.s.Source, logkey.Ref, p.s.Ref, logkey.Matches, len(p.s.Hits))
	}
}

// Dispose records an officer's decision on hit id: the hit's new status and
// history, an audit entry and an outbox record of kind disposition
// (protocol.DispositionReport), in one transaction. A decision on a decided
// hit supersedes the one in force; repeating the decision in force changes
// nothing. It returns the hit as stored, ErrNotFound for an unknown (or
// purged) hit, ErrInvalid for a bad decision.
func (l *Ledger) Dispose(ctx context.Context, id string, d Disposition) (HitRecord, error) {
	now := l.clock.Now()
	report := protocol.DispositionReport{
		Post: l.opts.Post, HitID: id, Decision: d.Decision, Officer: d.Officer, Note: d.Note, DecidedAt: now,
	}
	if err := report.Validate(); err != nil {
		return HitRecord{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(d.Note) > MaxNote {
		return HitRecord{}, fmt.Errorf("%w: note of %d bytes, limit %d", ErrInvalid, len(d.Note), MaxNote)
	}
	if !validID(id) {
		return HitRecord{}, fmt.Errorf("dispose %q: %w", id, ErrNotFound)
	}
	payload, err := json.Marshal(&report)
	if err != nil {
		return HitRecord{}, fmt.Errorf("dispose %s: encode report: %w", id, err)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	var hit storedHit
	var changed bool
	var wasOpen bool
	err = l.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		if err := getJSON(tx, hitKey(id), &hit); err != nil {
			return err
		}
		if n := len(hit.Decisions); n > 0 {
			last := hit.Decisions[n-1]
			if last.Decision == d.Decision && last.Officer == d.Officer && last.Note == d.Note {
				return nil // a repeated submit: nothing to do
			}
		}
		changed = true
		wasOpen = hit.Status == StatusOpen
		dec := Decision{ID: outbox.NewID(now), Decision: d.Decision, Officer: d.Officer, Note: d.Note, Actor: d.Actor, DecidedAt: now}
		oldStatus := hit.Status
		hit.Decisions = append(hit.Decisions, dec)
		hit.Status = Status(d.Decision)
		if err := l.putHit(tx, &hit, oldStatus); err != nil {
			return err
		}
		entry := AuditEntry{
			ID: outbox.NewID(now), Time: now, Action: ActionDisposition, Actor: d.Officer,
			ScreeningID: hit.ScreeningID, HitID: hit.ID, OutboxID: dec.ID,
			Decision: d.Decision, Previous: string(oldStatus), Via: d.Actor,
		}
		if err := l.lockChain(tx).append(timeKey(prefixAudit, now, l.seq.Add(1), entry.ID), &entry); err != nil {
			return err
		}
		if _, err := l.ob.PutTx(tx, outbox.Record{ID: dec.ID, Kind: protocol.RecordDisposition, Payload: payload, CreatedAt: now}); err != nil {
			return err
		}
		if err := l.inTxn("dispose"); err != nil {
			return err
		}
		tx.OnDone(func(committed bool) {
			if committed {
				l.stats.disposed(d.Decision, wasOpen)
			}
		})
		return nil
	})
	if errors.Is(err, badgerstore.ErrRecordNotFound) {
		return HitRecord{}, fmt.Errorf("dispose %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return HitRecord{}, fmt.Errorf("dispose %s: %w", id, err)
	}
	if changed {
		l.log.Info("Hit decided", logkey.HitID, id, logkey.Decision, d.Decision, logkey.Officer, d.Officer)
	}
	return hit.HitRecord, nil
}

// putHit writes a hit record and its index rows; oldStatus, if not "",
// is the status whose index row to move.
func (l *Ledger) putHit(tx *badgerstore.RecordsTxn, h *storedHit, oldStatus Status) error {
	if err := setJSON(tx, hitKey(h.ID), h); err != nil {
		return err
	}
	idx := invTimeID(h.RecordedAt, h.Seq, h.ID)
	if oldStatus == "" {
		if err := tx.Set(append([]byte(prefixHitIndex), idx...), nil); err != nil {
			return err
		}
	} else if oldStatus != h.Status {
		if err := tx.Delete(append(statusPrefix(oldStatus), idx...)); err != nil {
			return err
		}
	}
	return tx.Set(append(statusPrefix(h.Status), idx...), nil)
}

func setJSON(tx *badgerstore.RecordsTxn, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", key, err)
	}
	return tx.Set(key, b)
}

// getJSON returns badgerstore.ErrRecordNotFound (unwrapped) when the key
// is absent.
func getJSON(tx *badgerstore.RecordsTxn, key []byte, v any) error {
	b, err := tx.Get(key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %q: %w: %w", key, engine.ErrCorruptRecord, err)
	}
	return nil
}
