package outbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/protocol"
)

// Defaults.
const (
	// DefaultNamespace is the records namespace of the outbox.
	DefaultNamespace = "outbox"
	// DefaultBudget is the outbox's disk budget: about 100,000 hits of
	// 600 bytes, a week of a busy post's hits with the link down.
	DefaultBudget = 64 << 20
	// DefaultClearFraction: the alarm clears when the outbox is back
	// under this fraction of the budget.
	DefaultClearFraction = 0.9
	// ackChunk bounds the records deleted in one transaction.
	ackChunk = 512
)

// Options configure an Outbox. The zero value is usable.
type Options struct {
	// Namespace is the records namespace (DefaultNamespace when empty).
	// One Outbox per namespace and store.
	Namespace string
	// Budget is the disk budget in logical bytes (keys plus values of the
	// outbox's rows; Badger's own overhead comes on top). DefaultBudget
	// when 0. See the package doc for what happens over it.
	Budget int64
	// ClearBelow is where the alarm clears (DefaultClearFraction of the
	// budget when 0).
	ClearBelow int64
	// OnAlarm, if set, is called on each change of the over-budget alarm,
	// with the depth at the time. Calls are serialised; it must not call
	// Put.
	OnAlarm func(over bool, d Depth)
	// Clock for CreatedAt and ids (clock.System when nil).
	Clock clock.Clock
	// Logger for budget drops and errors that have no caller to return
	// to; nil discards.
	Logger *slog.Logger
}

// Depth describes the outbox, for status and metrics.
type Depth struct {
	// Records in the outbox, in total and by priority.
	Records, High, Low int
	// Bytes is the outbox's logical size, compared with Budget.
	Bytes, Budget int64
	// OverBudget is the alarm (see Outbox.OverBudget).
	OverBudget bool
	// Dropped counts low-priority records dropped by the budget since
	// Open; Superseded counts status records replaced by a newer one.
	Dropped, Superseded uint64
}

// Outbox is the post's durable queue of records for HQ. Its methods are
// safe for concurrent use. It holds no goroutines; Publisher drains it.
type Outbox struct {
	recs  *badgerstore.Records
	opts  Options
	clock clock.Clock
	log   *slog.Logger

	seq  atomic.Uint64 // last sequence number allocated; incremented under mu
	wake chan struct{} // a record was committed

	mu         sync.Mutex
	meta       map[uint64]recMeta  // committed records by sequence
	low        []uint64            // sequences of low-priority records, ascending; may hold removed ones
	statuses   map[uint64]string   // committed status records: sequence -> id
	pending    map[uint64]struct{} // allocated in a transaction that has not ended
	bytes      int64
	high, nlow int
	dropped    uint64
	superseded uint64
	over       bool

	trimMu sync.Mutex // one budget enforcement at a time

	alarmMu   sync.Mutex
	alarmSent bool // last state given to OnAlarm
}

type recMeta struct {
	id   string
	kind protocol.RecordKind
	size int64
}

// Key layout, relative to the namespace (r/<ns>/ in Badger):
//
//	q/<p><seq>   the record (encodeValue); p is the priority byte (1 high,
//	             2 low), seq 8 bytes big-endian: FIFO per priority
//	i/<id>       <p><seq> of the record with that id, for Ack
var (
	queuePrefix = []byte("q/")
	idPrefix    = []byte("i/")
)

const seqRefLen = 9 // priority byte + 8-byte sequence

func queueKey(p Priority, seq uint64) []byte {
	k := make([]byte, 0, len(queuePrefix)+seqRefLen)
	k = append(k, queuePrefix...)
	k = append(k, byte(p))
	return binary.BigEndian.AppendUint64(k, seq)
}

func seqRef(p Priority, seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{byte(p)}, seq)
}

// queueRow parses a row of the queue: the priority and seq its key
// holds, and its record.
func queueRow(k, v []byte) (Priority, uint64, Record, error) {
	p, seq, err := parseSeqRef(k[len(queuePrefix):])
	if err != nil {
		return 0, 0, Record{}, err
	}
	r, err := decodeValue(v)
	if err != nil {
		return 0, 0, Record{}, fmt.Errorf("record %d: %w", seq, err)
	}
	return p, seq, r, nil
}

func parseSeqRef(b []byte) (Priority, uint64, error) {
	if len(b) != seqRefLen || (Priority(b[0]) != PriorityHigh && Priority(b[0]) != PriorityLow) {
		return 0, 0, fmt.Errorf("bad sequence reference %x", b)
	}
	return Priority(b[0]), binary.BigEndian.Uint64(b[1:]), nil
}

func idKey(id string) []byte { return append(slices.Clip(idPrefix), id...) }

// rowBytes is the logical size of a record: its two rows, with the
// namespace prefix Badger stores in each key.
func (o *Outbox) rowBytes(idLen, valueLen int) int64 {
	ns := len("r/") + len(o.opts.Namespace) + 1
	return int64(2*ns + len(queuePrefix) + seqRefLen + valueLen + len(idPrefix) + idLen + seqRefLen)
}

// Open loads the outbox kept in store: it scans the records to rebuild
// the counters and the sequence, then enforces the budget.
func Open(ctx context.Context, store *badgerstore.Store, opts Options) (*Outbox, error) {
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	if opts.ClearBelow <= 0 || opts.ClearBelow > opts.Budget {
		opts.ClearBelow = int64(float64(opts.Budget) * DefaultClearFraction)
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := &Outbox{
		recs:     store.Records(opts.Namespace),
		opts:     opts,
		clock:    opts.Clock,
		log:      log.With(logkey.Component, "outbox"),
		wake:     make(chan struct{}, 1),
		meta:     map[uint64]recMeta{},
		statuses: map[uint64]string{},
		pending:  map[uint64]struct{}{},
	}
	var maxSeq uint64
	err := o.recs.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate(queuePrefix, func(k, v []byte) error {
			p, seq, r, err := queueRow(k, v)
			if err != nil {
				return err
			}
			if r.Priority != p {
				return fmt.Errorf("record %d: a %s stored at %s priority", seq, r.Kind, p)
			}
			o.addLocked(seq, recMeta{id: r.ID, kind: r.Kind, size: o.rowBytes(len(r.ID), len(v))})
			maxSeq = max(maxSeq, seq)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", opts.Namespace, err)
	}
	o.seq.Store(maxSeq)
	o.mu.Lock()
	o.evalAlarmLocked()
	o.mu.Unlock()
	if err := o.trim(ctx); err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", opts.Namespace, err)
	}
	o.deliverAlarm()
	return o, nil
}

// addLocked counts a committed record.
func (o *Outbox) addLocked(seq uint64, m recMeta) {
	o.meta[seq] = m
	o.bytes += m.size
	if PriorityOf(m.kind) == PriorityHigh {
		o.high++
		return
	}
	o.nlow++
	if n := len(o.low); n == 0 || o.low[n-1] < seq {
		o.low = append(o.low, seq)
	} else if i, found := slices.BinarySearch(o.low, seq); !found {
		o.low = slices.Insert(o.low, i, seq)
	}
	if m.kind == protocol.RecordStatus {
		o.statuses[seq] = m.id
	}
}

// removeLocked uncounts a record; false if it was already gone.
func (o *Outbox) removeLocked(seq uint64) (recMeta, bool) {
	m, ok := o.meta[seq]
	if !ok {
		return m, false
	}
	delete(o.meta, seq)
	o.bytes -= m.size
	if PriorityOf(m.kind) == PriorityHigh {
		o.high--
	} else {
		o.nlow--
		delete(o.statuses, seq)
		// o.low keeps seq until compacted.
		if len(o.low) > 2*o.nlow+1024 {
			o.low = slices.DeleteFunc(o.low, func(s uint64) bool { _, ok := o.meta[s]; return !ok })
		}
	}
	return m, true
}

// Put stores rec durably and returns it as stored (id, priority and
// creation time filled in). A hit or disposition is accepted whatever the
// budget; a low-priority record may make older low-priority records go
// (see the package doc).
func (o *Outbox) Put(ctx context.Context, rec Record) (Record, error) {
	var out Record
	err := o.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		var err error
		out, err = o.putTx(tx, rec, false)
		return err
	})
	if err != nil {
		return Record{}, fmt.Errorf("outbox put: %w", err)
	}
	o.trimLogged(ctx)
	return out, nil
}

// PutTx adds rec inside the caller's Records transaction (of any
// namespace of the same store): the record exists if and only if that
// transaction commits. This is how the screening API (issue 5) writes a
// screening record and its hit atomically:
//
//	err := store.Records("screenings").Update(ctx, func(tx *badgerstore.RecordsTxn) error {
//		if err := tx.Set(screeningKey, screening); err != nil {
//			return err
//		}
//		_, err := ob.PutTx(tx, outbox.Record{Kind: protocol.RecordHit, Payload: hit})
//		return err
//	})
//
// The returned record (with its id) is valid once the transaction has
// committed. The publisher is woken, and the budget enforced, after the
// commit.
func (o *Outbox) PutTx(tx *badgerstore.RecordsTxn, rec Record) (Record, error) {
	out, err := o.putTx(tx, rec, true)
	if err != nil {
		return Record{}, fmt.Errorf("outbox put: %w", err)
	}
	return out, nil
}

func (o *Outbox) putTx(tx *badgerstore.RecordsTxn, rec Record, trimAfter bool) (Record, error) {
	if !tx.Writable() {
		return Record{}, errors.New("transaction is read-only or over")
	}
	rec.Payload = slices.Clone(rec.Payload)
	if err := rec.normalise(o.clock.Now()); err != nil {
		return Record{}, err
	}
	otx := tx
	if tx.Namespace() != o.opts.Namespace {
		var err error
		if otx, err = tx.Records(o.opts.Namespace); err != nil {
			return Record{}, err
		}
	}
	ik := idKey(rec.ID)
	switch _, err := otx.Get(ik); {
	case err == nil:
		return Record{}, fmt.Errorf("%w: %s", ErrDuplicateID, rec.ID)
	case !errors.Is(err, badgerstore.ErrRecordNotFound):
		return Record{}, err
	}

	// Allocate and register under one lock: a scan that reads the
	// watermark must never miss a sequence that is allocated but not yet
	// pending.
	o.mu.Lock()
	seq := o.seq.Add(1)
	o.pending[seq] = struct{}{}
	var older map[uint64]string // status records this one supersedes
	if rec.Kind == protocol.RecordStatus && len(o.statuses) > 0 {
		older = maps(o.statuses)
	}
	o.mu.Unlock()
	val := encodeValue(&rec)
	m := recMeta{id: rec.ID, kind: rec.Kind, size: o.rowBytes(len(rec.ID), len(val))}
	otx.OnDone(func(committed bool) { o.afterPut(seq, m, older, committed, trimAfter) })

	if err := otx.Set(queueKey(rec.Priority, seq), val); err != nil {
		return Record{}, err
	}
	if err := otx.Set(ik, seqRef(rec.Priority, seq)); err != nil {
		return Record{}, err
	}
	for s, id := range older {
		if err := otx.Delete(queueKey(PriorityLow, s)); err != nil {
			return Record{}, err
		}
		if err := otx.Delete(idKey(id)); err != nil {
			return Record{}, err
		}
	}
	return rec, nil
}

func maps(m map[uint64]string) map[uint64]string {
	c := make(map[uint64]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (o *Outbox) afterPut(seq uint64, m recMeta, older map[uint64]string, committed, trim bool) {
	o.mu.Lock()
	delete(o.pending, seq)
	if committed {
		o.addLocked(seq, m)
		for s := range older {
			if _, ok := o.removeLocked(s); ok {
				o.superseded++
			}
		}
		o.evalAlarmLocked()
	}
	o.mu.Unlock()
	if !committed {
		return
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	if trim {
		o.trimLogged(context.Background())
	}
	o.deliverAlarm()
}

// trimLogged enforces the budget after a put that has committed. The put
// stands whatever happens here, so a failure has no caller to go to: it
// is logged, and the next put or Open tries again.
func (o *Outbox) trimLogged(ctx context.Context) {
	if err := o.trim(ctx); err != nil {
		o.log.Error("outbox budget enforcement failed", logkey.Error, err)
	}
	o.deliverAlarm()
}

// trim drops low-priority records, telemetry oldest-first and then status,
// until the outbox fits its budget or only high-priority records are left.
func (o *Outbox) trim(ctx context.Context) error {
	o.trimMu.Lock()
	defer o.trimMu.Unlock()
	o.mu.Lock()
	excess := o.bytes - o.opts.Budget
	if excess <= 0 || o.nlow == 0 {
		o.mu.Unlock()
		return nil
	}
	var victims []uint64
	for pass := 0; pass < 2 && excess > 0; pass++ {
		for _, s := range o.low {
			m, ok := o.meta[s]
			if !ok || (pass == 0) == (m.kind == protocol.RecordStatus) {
				continue
			}
			victims = append(victims, s)
			if excess -= m.size; excess <= 0 {
				break
			}
		}
	}
	ids := make([]string, len(victims))
	for i, s := range victims {
		ids[i] = o.meta[s].id
	}
	o.mu.Unlock()

	for len(victims) > 0 {
		n := min(len(victims), ackChunk)
		chunk, chunkIDs := victims[:n], ids[:n]
		err := o.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
			for i, s := range chunk {
				if err := tx.Delete(queueKey(PriorityLow, s)); err != nil {
					return err
				}
				if err := tx.Delete(idKey(chunkIDs[i])); err != nil {
					return err
				}
			}
			o.forgetOnCommit(tx, chunk, func(m recMeta) {
				o.dropped++
				o.log.Debug("outbox over budget: record dropped", logkey.ID, m.id, logkey.Kind, m.kind.String())
			})
			return nil
		})
		if err != nil {
			return fmt.Errorf("drop low-priority records: %w", err)
		}
		victims, ids = victims[n:], ids[n:]
	}
	o.log.Warn("outbox over budget: low-priority records dropped", logkey.Count, len(ids), logkey.Budget, o.opts.Budget)
	return nil
}

// forgetOnCommit removes the records seqs from the queue in memory once
// tx commits, calls removed (with o.mu held) for each one it held, and
// re-evaluates the alarm.
func (o *Outbox) forgetOnCommit(tx *badgerstore.RecordsTxn, seqs []uint64, removed func(recMeta)) {
	tx.OnDone(func(committed bool) {
		if !committed {
			return
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, s := range seqs {
			if m, ok := o.removeLocked(s); ok {
				removed(m)
			}
		}
		o.evalAlarmLocked()
	})
}

// Ack deletes the records with these ids (HQ has stored them) and
// returns how many it deleted. Unknown ids (already acked, dropped,
// superseded, or never ours) are ignored.
func (o *Outbox) Ack(ctx context.Context, ids []string) (int, error) {
	total := 0
	for len(ids) > 0 {
		n := min(len(ids), ackChunk)
		chunk := ids[:n]
		var gone []uint64
		err := o.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
			gone = gone[:0]
			for _, id := range chunk {
				ik := idKey(id)
				ref, err := tx.Get(ik)
				if errors.Is(err, badgerstore.ErrRecordNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				p, seq, err := parseSeqRef(ref)
				if err != nil {
					return fmt.Errorf("id %s: %w", id, err)
				}
				if err := tx.Delete(queueKey(p, seq)); err != nil {
					return err
				}
				if err := tx.Delete(ik); err != nil {
					return err
				}
				gone = append(gone, seq)
			}
			o.forgetOnCommit(tx, gone, func(recMeta) { total++ })
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("outbox ack: %w", err)
		}
		ids = ids[n:]
	}
	o.deliverAlarm()
	return total, nil
}

func (o *Outbox) evalAlarmLocked() {
	switch {
	case !o.over && o.bytes > o.opts.Budget:
		o.over = true
		o.log.Warn("outbox over its disk budget", logkey.Bytes, o.bytes, logkey.Budget, o.opts.Budget)
	case o.over && o.bytes <= o.opts.ClearBelow:
		o.over = false
		o.log.Info("outbox back under its disk budget", logkey.Bytes, o.bytes, logkey.Budget, o.opts.Budget)
	}
}

// deliverAlarm calls OnAlarm if the alarm changed since the last call.
func (o *Outbox) deliverAlarm() {
	if o.opts.OnAlarm == nil {
		return
	}
	o.alarmMu.Lock()
	defer o.alarmMu.Unlock()
	d := o.Depth()
	if d.OverBudget != o.alarmSent {
		o.alarmSent = d.OverBudget
		o.opts.OnAlarm(d.OverBudget, d)
	}
}

// OverBudget reports the alarm: raised when the outbox grew past its
// budget, cleared when it is back under ClearBelow.
func (o *Outbox) OverBudget() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.over
}

// Depth returns the outbox's counters.
func (o *Outbox) Depth() Depth {
	o.mu.Lock()
	defer o.mu.Unlock()
	return Depth{
		Records:    o.high + o.nlow,
		High:       o.high,
		Low:        o.nlow,
		Bytes:      o.bytes,
		Budget:     o.opts.Budget,
		OverBudget: o.over,
		Dropped:    o.dropped,
		Superseded: o.superseded,
	}
}

// storedRecord is a record with its place in the queue.
type storedRecord struct {
	seq uint64
	rec Record
}

// has reports whether the record with this sequence is still in the
// outbox.
func (o *Outbox) has(seq uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.meta[seq]
	return ok
}

// scan returns up to limit records of priority p with sequence >= from,
// in order, leaving out those skip names (the publisher's in-flight
// ids), and the sequence the next scan should start from.
//
// The cursor never passes a record that may still commit: a sequence in
// an open transaction (wm), nor one allocated after this scan looked
// (hi): such a record can commit before the snapshot is taken while a
// lower one allocated just before it is still open. Records past the
// cursor are returned anyway and seen again by the next scan, which the
// caller skips.
func (o *Outbox) scan(ctx context.Context, p Priority, from uint64, limit int, skip func(id string) bool) ([]storedRecord, uint64, error) {
	o.mu.Lock()
	wm := o.seq.Load() + 1
	for s := range o.pending {
		wm = min(wm, s)
	}
	o.mu.Unlock()
	var out []storedRecord
	prefix := append(slices.Clip(queuePrefix), byte(p))
	err := o.recs.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.IterateFrom(prefix, queueKey(p, from), func(k, v []byte) error {
			if len(out) >= limit {
				return badgerstore.StopIteration
			}
			_, seq, r, err := queueRow(k, v)
			if err != nil {
				return err
			}
			if skip != nil && skip(r.ID) {
				return nil
			}
			out = append(out, storedRecord{seq: seq, rec: r})
			return nil
		})
	})
	if err != nil {
		return nil, from, fmt.Errorf("outbox scan: %w", err)
	}
	next := from
	if len(out) > 0 {
		next = out[len(out)-1].seq + 1
	}
	return out, max(from, min(next, wm)), nil
}
