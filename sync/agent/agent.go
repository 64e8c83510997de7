// Package agent is the post's side of the link to HQ, assembled: its one
// job is to keep the post's replicated lists current and its outbox
// draining, whatever the link does. It subscribes the replica applier to
// the list topics, fetches the deltas and snapshots the applier asks for,
// accepts HQ key rotations, runs the outbox publisher and publishes the
// post's status record.
//
// The pieces are built and tested in their own packages (sync/replica,
// sync/snapshot, sync/outbox, sync/transport); this package owns only the
// goroutines that connect them and the policy between them:
//
//   - Messages are handled on the transport's per-subscription goroutines
//     (bounded queues, never paho's). A delta or head whose outcome asks
//     for data (FetchDeltas, NeedSnapshot) wakes the sync worker.
//   - The sync worker (one goroutine) brings each list to the position
//     the newest verified head names: first by fetching the missing deltas
//     over HTTPS from HQ (protocol.DeltaURL, through the snapshot fetcher)
//     when the list is in the same epoch, not diverged and at most
//     MaxFetchDeltas behind; otherwise, or when a delta fetch fails, by the
//     snapshot that head names (PROTOCOL.md 5.5: always the newest head's).
//     A snapshot HQ has already pruned (404) is not an error: the head
//     that replaced it is on its way. Failures are retried with a jittered
//     back-off, and every CheckInterval the worker looks again anyway, so
//     a gap left open by a lost message closes without a new one.
//   - The status record (protocol.PostStatus) is put in the outbox (kind
//     status: it supersedes the older one and reaches HQ reliably) and
//     published retained on watchpost/v1/posts/<post>/status when the link
//     is up (fire-and-forget, readable with mosquitto_sub), every
//     StatusInterval and soon after a list changes or a key rotation is
//     accepted (the record names the trusted key ids, so HQ can tell when
//     every post has a new key).
//
// Run owns every goroutine it starts and returns once they have stopped.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/replica"
	"github.com/watchpost/watchpost/sync/snapshot"
	"github.com/watchpost/watchpost/sync/transport"
)

// Defaults for Config.
const (
	DefaultStatusInterval = time.Minute
	DefaultCheckInterval  = time.Minute
	DefaultMaxFetchDeltas = 100
	DefaultRetryMin       = 5 * time.Second
	DefaultRetryMax       = 10 * time.Minute
	// statusDebounce is how soon after a list change the status goes out.
	statusDebounce = 2 * time.Second
)

// Config configures an Agent.
type Config struct {
	// Post is the post id (topics, status). Required.
	Post string
	// Boot counts the post process's starts (see NextBoot); it goes into
	// the status and presence records.
	Boot uint64
	// Software is the version string in the status record.
	Software string

	// Transport is the link to the broker. Subscribe registers the
	// agent's handlers on it; the caller starts and closes it. Required.
	Transport transport.Transport
	// Applier applies HQ's updates to the post's store. Required.
	Applier *replica.Applier
	// Keys is the key set the applier verifies with; when set, rotation
	// statements on watchpost/v1/keys/+ are accepted into it and
	// OnKeysChanged is called.
	Keys          *protocol.KeySet
	OnKeysChanged func(*protocol.KeySet) error
	// AuditKey is the post's audit key (protocol.FormatPublicKey), put in
	// the status for HQ to pin; "" when the post keeps no audit chain.
	AuditKey string

	// Fetcher is the post's HTTPS client for HQ: it downloads snapshots
	// into WorkDir and, with DeltaBaseURL, the missing deltas. Nil: the
	// post cannot recover from a gap except by deltas over MQTT.
	Fetcher *snapshot.Fetcher
	WorkDir string
	// DeltaBaseURL is HQ's HTTPS base for deltas (protocol.DeltaURL);
	// they come through Fetcher, with its TLS, retries and back-off.
	// Empty: deltas come only over MQTT, gaps close by snapshot.
	DeltaBaseURL string
	// MaxFetchDeltas: a list further behind than this takes the snapshot.
	MaxFetchDeltas int

	// Outbox, if set, is drained to HQ by a publisher with
	// PublisherOptions (Post is filled in), and receives the status
	// records.
	Outbox           *outbox.Outbox
	PublisherOptions outbox.PublisherOptions
	// Store, if set, keeps the last accepted seal-key statement of each
	// HQ signing key; New loads them again (verified anew with Keys, the
	// ones that no longer verify dropped), so a restarted post seals at
	// once with the encryption key it already trusted.
	Store *badgerstore.Store

	// StatusInterval between status records; CheckInterval between the
	// worker's unprompted looks at every list; RetryMin and RetryMax
	// bound the back-off after a failed fetch.
	StatusInterval, CheckInterval time.Duration
	RetryMin, RetryMax            time.Duration

	// Screenings reports the post's screening count and the time of the
	// last one, for the status record. Nil: zero.
	Screenings func() (count uint64, last time.Time)
	// OnListChanged is called (on a handler or worker goroutine, must not
	// block long) after a list's held version changed.
	OnListChanged func(list string)

	// Room, if set, says whether the post's disk has room for about extra
	// more bytes beyond its reserve (nil), or why not (an error matching
	// badgerstore.ErrDiskLow). While it refuses, the worker fetches and
	// applies nothing: a snapshot download would take the space the store
	// keeps for its own writes. Wake the agent when space returns.
	Room func(extra uint64) error

	// OnOutcome, if set, sees every HQ message's outcome (kind "delta",
	// "head", "fetched-delta" or "snapshot"), for metrics and tests. It
	// runs on the handling goroutine and must not block.
	OnOutcome func(kind, list string, out replica.Outcome, err error)
	// OnCatchUpError, if set, sees every failed attempt to catch up
	// (fetching deltas or the snapshot); the worker retries.
	OnCatchUpError func(list string, err error)

	// Clock is the agent's time source (clock.System when nil).
	Clock clock.Clock
	// Logger; nil discards. Payloads are never logged.
	Logger *slog.Logger
}

// Agent is the post's sync agent. Create it with New, call Subscribe
// before starting the transport, then Run.
type Agent struct {
	cfg Config
	log *slog.Logger
	pub *outbox.Publisher

	kick       chan struct{}
	statusKick chan struct{}

	mu    sync.Mutex
	lists map[string]*listCounters

	// seals holds HQ's encryption keys as announced on the seal-key topics.
	seals *protocol.SealKeys

	lastSync  atomic.Int64 // unix nanos of the last verified message
	rejected  atomic.Uint64
	conflicts atomic.Uint64
	applied   atomic.Uint64
	snaps     atomic.Uint64
	fetched   atomic.Uint64
	statuses  atomic.Uint64
	ran       atomic.Bool
}

type listCounters struct {
	rejected  uint64
	lastError string
}

// Counters are the agent's running totals.
type Counters struct {
	// Applied deltas (from MQTT or fetched); Snapshots installed;
	// FetchedDeltas over HTTPS; Rejected messages and failed snapshots
	// (download, verification or install); Conflicts: signed heads that
	// contradict one already accepted (replica.Conflict); Statuses sent.
	Applied, Snapshots, FetchedDeltas, Rejected, Conflicts, Statuses uint64
}

// New checks cfg and returns an Agent.
func New(cfg Config) (*Agent, error) {
	switch {
	case cfg.Post == "":
		return nil, errors.New("agent: no post id")
	case cfg.Transport == nil:
		return nil, errors.New("agent: no transport")
	case cfg.Applier == nil:
		return nil, errors.New("agent: no replica applier")
	case cfg.Fetcher != nil && cfg.WorkDir == "":
		return nil, errors.New("agent: a snapshot fetcher needs a work directory")
	case cfg.DeltaBaseURL != "" && cfg.Fetcher == nil:
		return nil, errors.New("agent: a delta base URL needs the fetcher (deltas and snapshots come through one HTTPS client)")
	case cfg.Outbox != nil && cfg.Keys == nil:
		return nil, errors.New("agent: an outbox needs HQ's trusted keys (records are sealed to the encryption key they sign)")
	}
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = DefaultStatusInterval
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.MaxFetchDeltas <= 0 {
		cfg.MaxFetchDeltas = DefaultMaxFetchDeltas
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(DefaultRetryMax, cfg.RetryMin)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Agent{
		cfg:        cfg,
		log:        cfg.Logger.With(logkey.Component, "agent"),
		kick:       make(chan struct{}, 1),
		statusKick: make(chan struct{}, 1),
		lists:      make(map[string]*listCounters),
		seals:      protocol.NewSealKeys(),
	}
	for _, l := range cfg.Applier.Lists() {
		a.lists[l] = new(listCounters)
	}
	if cfg.Store != nil && cfg.Keys != nil {
		if err := a.loadSealKeys(context.Background()); err != nil {
			return nil, err
		}
	}
	if cfg.Outbox != nil {
		po := cfg.PublisherOptions
		po.Post = cfg.Post
		if po.Clock == nil {
			po.Clock = cfg.Clock
		}
		if po.Logger == nil {
			po.Logger = cfg.Logger
		}
		po.Sealer = sealer{a}
		var err error
		if a.pub, err = outbox.NewPublisher(cfg.Outbox, cfg.Transport, po); err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
	}
	return a, nil
}

// Subscribe registers the agent's handlers: each list's delta and head
// topics, HQ's acks for the outbox publisher, and the key rotations. Call it before the transport starts, so
// that messages the broker kept in the post's session find their handler.
func (a *Agent) Subscribe() error {
	ctx := context.Background() // handlers run until the transport closes
	for _, l := range a.cfg.Applier.Lists() {
		if err := a.cfg.Transport.Subscribe(protocol.DeltaTopic(l), func(m transport.Message) {
			out, err := a.cfg.Applier.HandleDelta(ctx, m.Payload)
			a.note("delta", l, out, err)
		}); err != nil {
			return fmt.Errorf("agent: subscribe %s: %w", protocol.DeltaTopic(l), err)
		}
		if err := a.cfg.Transport.Subscribe(protocol.HeadTopic(l), func(m transport.Message) {
			out, err := a.cfg.Applier.HandleHead(ctx, m.Payload)
			a.note("head", l, out, err)
		}); err != nil {
			return fmt.Errorf("agent: subscribe %s: %w", protocol.HeadTopic(l), err)
		}
	}
	if a.pub != nil {
		if err := a.pub.Subscribe(); err != nil {
			return fmt.Errorf("agent: %w", err)
		}
	}
	if a.cfg.Keys != nil {
		if err := a.cfg.Transport.Subscribe(protocol.KeysFilter, a.handleRotation); err != nil {
			return fmt.Errorf("agent: subscribe %s: %w", protocol.KeysFilter, err)
		}
		if err := a.cfg.Transport.Subscribe(protocol.SealKeysFilter, a.handleSealKey); err != nil {
			return fmt.Errorf("agent: subscribe %s: %w", protocol.SealKeysFilter, err)
		}
	}
	return nil
}

// handleSealKey accepts HQ's encryption key statement and lets the
// publisher send the sealed records that waited for one.
func (a *Agent) handleSealKey(m transport.Message) {
	id, err := a.seals.Accept(a.cfg.Keys, m.Payload, a.cfg.Clock.Now())
	switch {
	case errors.Is(err, protocol.ErrDuplicate):
		return
	case err != nil:
		a.rejected.Add(1)
		a.log.Warn("encryption key statement rejected", logkey.Topic, m.Topic, logkey.Error, err)
		return
	}
	a.log.Info("HQ encryption key accepted", logkey.KeyID, id.String())
	if a.cfg.Store != nil {
		if err := a.saveSealKey(context.Background(), id, m.Payload); err != nil {
			a.log.Error("keeping HQ encryption key failed; after a restart the post waits for HQ's statement again", logkey.KeyID, id.String(), logkey.Error, err)
		}
	}
	if a.pub != nil {
		a.pub.Wake()
	}
	select {
	case a.statusKick <- struct{}{}:
	default:
	}
}

// sealer seals records to HQ's current encryption key for the publisher.
type sealer struct{ a *Agent }

func (s sealer) Seal(r protocol.Record) (protocol.Record, error) {
	id, pub, err := s.a.seals.Current(s.a.cfg.Keys, s.a.cfg.Clock.Now())
	if err != nil {
		return protocol.Record{}, err
	}
	return protocol.SealRecord(s.a.cfg.Post, r, id, pub)
}

func (a *Agent) handleRotation(m transport.Message) {
	k, err := a.cfg.Keys.AcceptRotation(m.Payload, a.cfg.Clock.Now())
	switch {
	case errors.Is(err, protocol.ErrDuplicate):
		return
	case errors.Is(err, protocol.ErrExpired):
		// A rotation whose window has ended stays retained on the broker
		// and comes back on every connect: not an alarm.
		a.log.Debug("expired key rotation ignored", logkey.Topic, m.Topic, logkey.Error, err)
		return
	case err != nil:
		a.rejected.Add(1)
		a.log.Warn("key rotation rejected", logkey.Topic, m.Topic, logkey.Error, err)
		return
	}
	a.log.Info("key rotation accepted", logkey.KeyID, k.ID().String(), logkey.NotBefore, k.NotBefore, logkey.NotAfter, k.NotAfter)
	if a.cfg.OnKeysChanged != nil {
		if err := a.cfg.OnKeysChanged(a.cfg.Keys); err != nil {
			a.log.Error("persisting the key set failed; the key is trusted until restart", logkey.Error, err)
		}
	}
	// The status names the trusted keys: let HQ see the new one soon.
	select {
	case a.statusKick <- struct{}{}:
	default:
	}
}

// note acts on one message's outcome.
func (a *Agent) note(kind, list string, out replica.Outcome, err error) {
	if a.cfg.OnOutcome != nil {
		a.cfg.OnOutcome(kind, list, out, err)
	}
	switch out.Action {
	case replica.Rejected:
		a.reject(list, err)
		a.log.Warn("update rejected", logkey.List, list, logkey.Kind, kind, logkey.Error, err)
		return
	case replica.Conflict:
		a.conflicts.Add(1)
		a.mu.Lock()
		if c := a.lists[list]; c != nil {
			c.lastError = err.Error()
		}
		a.mu.Unlock()
		a.log.Error("HQ signed two different heads for one position; the post keeps the first", logkey.List, list, logkey.Kind, kind, logkey.Error, err)
		a.changed(list)
		return
	case replica.Failed:
		if err != nil {
			a.log.Error("update not applied", logkey.List, list, logkey.Kind, kind, logkey.Error, err)
		}
		a.wake()
		return
	}
	if err != nil { // divergence: an alarm, and a snapshot is on its way
		a.log.Warn("update applied with an alarm", logkey.List, list, logkey.Kind, kind, logkey.Action, out.Action.String(), logkey.Error, err)
	}
	a.lastSync.Store(a.cfg.Clock.Now().UnixNano())
	switch out.Action {
	case replica.Applied:
		a.applied.Add(1)
		a.changed(list)
	case replica.NeedSnapshot, replica.FetchDeltas:
		a.log.Info("list behind HQ", logkey.List, list, logkey.Kind, kind, logkey.Action, out.Action.String(),
			logkey.Held, out.FromVersion, logkey.Wanted, out.ToVersion, logkey.Reason, errString(out.Reason))
		a.wake()
	case replica.Buffered:
		a.wake()
	}
}

// reject counts a rejected message or failed snapshot of list.
func (a *Agent) reject(list string, err error) {
	a.rejected.Add(1)
	a.mu.Lock()
	if c := a.lists[list]; c != nil {
		c.rejected++
		c.lastError = err.Error()
	}
	a.mu.Unlock()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (a *Agent) changed(list string) {
	if a.cfg.OnListChanged != nil {
		a.cfg.OnListChanged(list)
	}
	select {
	case a.statusKick <- struct{}{}:
	default:
	}
}

// Wake makes the sync worker look at every list now (after the disk has
// room again, say).
func (a *Agent) Wake() { a.wake() }

func (a *Agent) wake() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// Run runs the sync worker, the outbox publisher and the status loop
// until ctx ends, then returns after all of them have stopped. It returns
// an error only when the outbox publisher fails (its store failed). Run
// may be called once.
func (a *Agent) Run(ctx context.Context) error {
	if !a.ran.CompareAndSwap(false, true) {
		return errors.New("agent: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var pubErr error
	if a.pub != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.pub.Run(ctx); err != nil {
				pubErr = err
				cancel()
			}
		}()
	}
	wg.Add(2)
	go func() { defer wg.Done(); a.syncLoop(ctx) }()
	go func() { defer wg.Done(); a.statusLoop(ctx) }()
	wg.Wait()
	if pubErr != nil {
		return fmt.Errorf("agent: outbox publisher: %w", pubErr)
	}
	return nil
}

// Flush waits until the outbox holds no hit or disposition, or ctx ends
// (a graceful stop gives HQ a bounded chance to receive them; whatever
// is left is sent after the next start).
func (a *Agent) Flush(ctx context.Context) error {
	if a.cfg.Outbox == nil {
		return nil
	}
	for {
		if a.cfg.Outbox.Depth().High == 0 {
			return nil
		}
		if !a.cfg.Transport.Connected() {
			return fmt.Errorf("agent: %d records for HQ kept for the next start: link down", a.cfg.Outbox.Depth().High)
		}
		t := a.cfg.Clock.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("agent: %d records for HQ kept for the next start: %w", a.cfg.Outbox.Depth().High, ctx.Err())
		case <-t.C():
		}
	}
}

// syncLoop brings every list to its newest head's position when woken,
// every CheckInterval, and after a failure's back-off.
func (a *Agent) syncLoop(ctx context.Context) {
	failures := 0
	for {
		wait := a.cfg.CheckInterval
		if failures > 0 {
			wait = a.backoff(failures)
		}
		t := a.cfg.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-a.kick:
			t.Stop()
		case <-t.C():
		}
		failed := false
		for _, l := range a.cfg.Applier.Lists() {
			if ctx.Err() != nil {
				return
			}
			if err := a.catchUp(ctx, l); err != nil && ctx.Err() == nil {
				failed = true
				a.mu.Lock()
				if c := a.lists[l]; c != nil {
					c.lastError = err.Error()
				}
				a.mu.Unlock()
				a.log.Warn("catching up with HQ failed; will retry", logkey.List, l, logkey.Error, err)
				if a.cfg.OnCatchUpError != nil {
					a.cfg.OnCatchUpError(l, err)
				}
			}
		}
		if failed {
			failures++
		} else {
			failures = 0
		}
	}
}

func (a *Agent) backoff(n int) time.Duration {
	d := a.cfg.RetryMin
	for i := 1; i < n && d < a.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, a.cfg.RetryMax)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// errPruned: the snapshot named by the newest head is gone at HQ; a newer
// head names a kept one and wakes the worker when it arrives.
var errPruned = errors.New("snapshot pruned at HQ")

// errPaused: the disk has no room for the catch-up (Config.Room).
var errPaused = errors.New("replication paused")

// catchUp brings list to the newest verified head's position.
func (a *Agent) catchUp(ctx context.Context, list string) error {
	head, ok := a.cfg.Applier.LastHead(list)
	if !ok {
		return nil // no verified head yet: nothing to aim at
	}
	st, err := a.cfg.Applier.Status(list)
	if err != nil {
		return err
	}
	usable := st.Replicated && !st.Diverged && st.Epoch == head.Epoch
	if usable && st.Version >= head.Version {
		return nil
	}
	if err := a.room(0); err != nil {
		return err
	}
	if usable && a.cfg.DeltaBaseURL != "" && head.Version-st.Version <= uint64(a.cfg.MaxFetchDeltas) {
		err := a.fetchDeltas(ctx, list, head.Epoch, st.Version, head.Version)
		if err == nil {
			return nil
		}
		a.log.Info("fetching deltas failed; taking the snapshot", logkey.List, list, logkey.Error, err)
	}
	if a.cfg.Fetcher == nil || head.SnapshotURL == "" {
		return fmt.Errorf("list %s is at %d, HQ at %d, and no snapshot is available", list, st.Version, head.Version)
	}
	err = a.installSnapshot(ctx, head)
	if errors.Is(err, errPruned) {
		if newer, ok := a.cfg.Applier.LastHead(list); ok && newer.Position().Compare(head.Position()) > 0 {
			err = a.installSnapshot(ctx, newer)
		} else {
			a.log.Info("snapshot pruned at HQ; waiting for the next head", logkey.List, list, logkey.Version, head.SnapshotVersion)
			return nil
		}
	}
	if err != nil && !errors.Is(err, errPruned) && !errors.Is(err, errPaused) && ctx.Err() == nil {
		a.reject(list, fmt.Errorf("snapshot %s: %w", head.SnapshotURL, err))
	}
	return err
}

// room asks Config.Room for extra bytes; an error pauses the catch-up.
func (a *Agent) room(extra uint64) error {
	if a.cfg.Room == nil {
		return nil
	}
	if err := a.cfg.Room(extra); err != nil {
		return fmt.Errorf("%w: %w", errPaused, err)
	}
	return nil
}

func (a *Agent) installSnapshot(ctx context.Context, head protocol.Head) error {
	// The download, then the list's rows written from it: about twice
	// the file.
	if err := a.room(2 * head.SnapshotSize); err != nil {
		return err
	}
	path, err := a.cfg.Fetcher.Fetch(ctx, head, a.cfg.WorkDir)
	if err != nil {
		var se *snapshot.StatusError
		if errors.As(err, &se) && se.Code == http.StatusNotFound {
			return errPruned
		}
		return err
	}
	defer os.Remove(path)
	out, err := a.cfg.Applier.InstallSnapshot(ctx, head, path)
	if a.cfg.OnOutcome != nil {
		a.cfg.OnOutcome("snapshot", head.List, out, err)
	}
	if err != nil && out.Action != replica.Applied {
		return err
	}
	if out.Action == replica.Applied {
		a.snaps.Add(1)
		a.lastSync.Store(a.cfg.Clock.Now().UnixNano())
		a.log.Info("snapshot installed", logkey.List, head.List, logkey.Epoch, head.Epoch, logkey.Version, out.ToVersion)
		a.changed(head.List)
	}
	return err
}

// fetchDeltas fetches versions held+1 .. to of list over HTTPS and
// applies them in order.
func (a *Agent) fetchDeltas(ctx context.Context, list string, epoch, held, to uint64) error {
	for v := held + 1; v <= to; v++ {
		b, err := a.getDelta(ctx, list, epoch, v)
		if err != nil {
			return err
		}
		out, err := a.cfg.Applier.HandleDelta(ctx, b)
		a.fetched.Add(1)
		if a.cfg.OnOutcome != nil {
			a.cfg.OnOutcome("fetched-delta", list, out, err)
		}
		switch out.Action {
		case replica.Applied:
			a.applied.Add(1)
			a.lastSync.Store(a.cfg.Clock.Now().UnixNano())
			a.changed(list)
			v = out.ToVersion // buffered deltas may have followed
		case replica.Dropped:
		default:
			if err == nil {
				err = fmt.Errorf("delta %d-%d: %s (%v)", epoch, v, out.Action, out.Reason)
			}
			return err
		}
	}
	return nil
}

// getDelta fetches the sealed delta to version to over HTTPS, through
// the fetcher (at most protocol.MaxEnvelopeSize bytes).
func (a *Agent) getDelta(ctx context.Context, list string, epoch, to uint64) ([]byte, error) {
	return a.cfg.Fetcher.Get(ctx, protocol.DeltaURL(a.cfg.DeltaBaseURL, list, epoch, to), protocol.MaxEnvelopeSize)
}

// statusLoop sends the status record every StatusInterval and soon after
// a list change.
func (a *Agent) statusLoop(ctx context.Context) {
	if err := a.sendStatus(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("status record not stored", logkey.Error, err)
	}
	for {
		t := a.cfg.Clock.NewTimer(a.cfg.StatusInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		case <-a.statusKick:
			t.Stop()
			d := a.cfg.Clock.NewTimer(statusDebounce)
			select {
			case <-ctx.Done():
				d.Stop()
				return
			case <-d.C():
			}
		}
		if err := a.sendStatus(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("status record not stored", logkey.Error, err)
		}
	}
}

func (a *Agent) sendStatus(ctx context.Context) error {
	st := a.Status().PostStatus
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if a.cfg.Outbox != nil {
		if _, err := a.cfg.Outbox.Put(ctx, outbox.Record{Kind: protocol.RecordStatus, Payload: b}); err != nil {
			return err
		}
	}
	a.statuses.Add(1)
	if a.cfg.Transport.Connected() {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := a.cfg.Transport.Publish(pctx, protocol.StatusTopic(a.cfg.Post), b, true); err != nil {
			a.log.Debug("retained status not published", logkey.Error, err)
		}
	}
	return nil
}

// Status is the post's sync state: the status record HQ gets, plus the
// link and the agent's counters.
type Status struct {
	protocol.PostStatus
	// Connected: the link to the broker is up.
	Connected bool
	// LastSync is when a verified message from HQ was last applied or
	// confirmed the held version (zero: never since start).
	LastSync time.Time
	// UnackedSince: the broker has taken records HQ has not acknowledged
	// since then (outbox.PublisherStats.UnackedSince; zero: none wait).
	UnackedSince time.Time
	Counters     Counters
}

// Status returns the post's sync state now.
func (a *Agent) Status() Status {
	now := a.cfg.Clock.Now()
	ps := protocol.PostStatus{
		Post:     a.cfg.Post,
		Software: a.cfg.Software,
		Boot:     a.cfg.Boot,
		Clock:    now.UTC(),
		Lists:    []protocol.ListHeld{},
	}
	sts, err := a.cfg.Applier.Statuses()
	if err != nil {
		a.log.Warn("list status unavailable", logkey.Error, err)
	}
	a.mu.Lock()
	for _, s := range sts {
		h := protocol.ListHeld{
			List: s.List, Epoch: s.Epoch, Version: s.Version, Hash: s.Hash, Entries: s.Entries,
			HeadIssuedAt: s.HeadIssuedAt.UTC(), HeadValidUntil: s.HeadValidUntil.UTC(),
			Behind: s.Behind, Diverged: s.Diverged,
		}
		if !s.Conflict.IsZero() {
			h.Conflict = s.Conflict.Error(s.List)
		}
		if s.HeadIssuedAt.IsZero() {
			h.HeadIssuedAt, h.HeadValidUntil = time.Time{}, time.Time{}
		}
		if s.Stale != nil {
			h.Stale = s.Stale.Error()
		}
		if c := a.lists[s.List]; c != nil {
			h.Rejected, h.LastError = c.rejected, c.lastError
		}
		ps.Lists = append(ps.Lists, h)
	}
	a.mu.Unlock()
	if a.cfg.Outbox != nil {
		d := a.cfg.Outbox.Depth()
		ps.Outbox = protocol.OutboxState{Records: d.Records, High: d.High, Bytes: d.Bytes, Budget: d.Budget, OverBudget: d.OverBudget, Dropped: d.Dropped}
	}
	if a.cfg.Screenings != nil {
		n, last := a.cfg.Screenings()
		ps.Screenings = n
		if !last.IsZero() {
			ps.LastScreening = last.UTC()
		}
	}
	if a.cfg.Keys != nil {
		for _, k := range a.cfg.Keys.Keys() {
			ps.Keys = append(ps.Keys, k.ID().String())
		}
		if id, _, err := a.seals.Current(a.cfg.Keys, now); err == nil {
			ps.SealKey = id.String()
		}
	}
	ps.AuditKey = a.cfg.AuditKey
	s := Status{PostStatus: ps, Connected: a.cfg.Transport.Connected(), Counters: a.Counters()}
	if a.pub != nil {
		s.UnackedSince = a.pub.Stats().UnackedSince
	}
	if ns := a.lastSync.Load(); ns != 0 {
		s.LastSync = time.Unix(0, ns).UTC()
	}
	return s
}

// Counters returns the running totals.
func (a *Agent) Counters() Counters {
	return Counters{
		Applied: a.applied.Load(), Snapshots: a.snaps.Load(), FetchedDeltas: a.fetched.Load(),
		Rejected: a.rejected.Load(), Conflicts: a.conflicts.Load(), Statuses: a.statuses.Load(),
	}
}

// Publisher returns the outbox publisher (nil without an outbox), for its
// statistics.
func (a *Agent) Publisher() *outbox.Publisher { return a.pub }

// WorkDir returns the directory for snapshot downloads under dataDir.
func WorkDir(dataDir string) string { return filepath.Join(dataDir, "snapshots") }
