package hqserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/option"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
	"github.com/watchpost/watchpost/sync/transport"
)

// Defaults for Config.
const (
	// DefaultNamespace is the records namespace of HQ's received records
	// and post states.
	DefaultNamespace = "hq-records"
	// DefaultAckDelay: ids stored within this long are acknowledged in one
	// message per post. Short enough to be invisible next to a satellite
	// round trip, long enough to turn a drain of thousands of records into
	// tens of acks.
	DefaultAckDelay = 20 * time.Millisecond
	// DefaultHeadInterval: heads are re-signed every 6 h (PROTOCOL.md 4),
	// well inside their 48 h validity.
	DefaultHeadInterval = 6 * time.Hour
	// DefaultHeadRetry: after a failed re-sign (broker down), try again
	// this soon rather than a whole HeadInterval later.
	DefaultHeadRetry = time.Minute
	// DefaultAckTimeout bounds one ack publish (the PUBACK wait).
	DefaultAckTimeout = 30 * time.Second
	// DefaultFutureSlack: a held status whose clock is further ahead of
	// HQ's than this is implausible, and any later status replaces it.
	DefaultFutureSlack = 10 * time.Minute
	// DefaultQueueLen is the number of decoded records waiting for the
	// writer before the hits handler blocks (and the transport's own
	// bounded queue starts dropping; posts resend).
	DefaultQueueLen = 4096
)

// Limits of one write transaction of the record writer: well inside
// Badger's transaction limit (15% of a 32 MB memtable).
const (
	maxBatchRecords = 256
	maxBatchBytes   = 1 << 20
	// finalFlushTimeout bounds the sending of the acks pending when Run
	// stops.
	finalFlushTimeout = 2 * time.Second
	// maxStatusSize bounds status and presence payloads.
	maxStatusSize = protocol.MaxRecordPayload
)

// Config configures a Server.
type Config struct {
	// Store is HQ's store (the one sync/publish publishes from); required.
	Store *badgerstore.Store
	// Transport receives the posts' messages and carries the acks. Nil:
	// the server only answers queries (Posts, Hits, Handler's /v1/) from
	// the store, and Run only waits for ctx.
	Transport transport.Transport
	// Publisher re-signs heads every HeadInterval; nil: no re-signing.
	Publisher *publish.Publisher
	// SnapshotDir and DeltaDir are served by Handler (publish.Config's
	// directories); empty: that part of the tree is 404.
	SnapshotDir string
	DeltaDir    string
	// Namespace of the records (DefaultNamespace when empty).
	Namespace string
	// AckDelay, HeadInterval, HeadRetry, AckTimeout, FutureSlack: the
	// Default* values when 0.
	AckDelay     time.Duration
	HeadInterval time.Duration
	HeadRetry    time.Duration
	AckTimeout   time.Duration
	FutureSlack  time.Duration
	// QueueLen: DefaultQueueLen when 0.
	QueueLen int
	// UploadDir receives the editions POSTed to /v1/lists/<list>/editions
	// while they are published (temporary files, removed afterwards and
	// by New after a crash); os.TempDir() when empty. Put it on the
	// data volume: an edition may be large.
	UploadDir string
	// MaxEditionSize bounds an uploaded edition (DefaultMaxEditionSize
	// when 0); a larger one is refused with 413.
	MaxEditionSize int64
	// AuditSinglePerson, if set, makes editions POSTed to
	// /v1/lists/<list>/editions a deliberate act of one person: the
	// request must say single_person=true (403 without), and the hook
	// records who (the request's actor and address) before anything is
	// published; its error refuses the publication. Editions are
	// normally published by two people in HQ's console.
	AuditSinglePerson func(ctx context.Context, actor, list string) error
	// AuditShrink, if set, records who confirmed (confirm_shrink=true)
	// an edition past the shrink guard, before it is published; its
	// error refuses the publication.
	AuditShrink func(ctx context.Context, actor string, s engine.Shrink) error
	// Accounts, if set, returns the HQ console's accounts, without their
	// password hashes, for GET /v1/users (served as JSON as returned);
	// nil: the path is not served.
	Accounts func(ctx context.Context) (any, error)
	// AdminToken, if set, is the bearer token /v1/ requests must carry;
	// if empty, /v1/ answers loopback clients only.
	AdminToken string
	// Retention of the stored records by kind (Retention's defaults for
	// zero fields; negative: forever); PurgeInterval between purges
	// (DefaultPurgeInterval when 0). Run purges only with a Transport.
	Retention     Retention
	PurgeInterval time.Duration
	// Clock (clock.System when nil); it drives received-at and last-seen times, the ack delay and the head re-sign timer.
	Clock clock.Clock
	// Logger; nil discards. Payloads are never logged above debug.
	Logger *slog.Logger
}

// Counts are the server's running totals since New.
type Counts struct {
	// Received counts messages on the hits topic; Stored the records
	// written (Invalid of them flagged invalid); Duplicates the records
	// whose id was already stored; Malformed the messages rejected
	// without an ack.
	Received, Stored, Invalid, Duplicates, Malformed uint64
	// StoreErrors counts failed write transactions (their records are not
	// acked, so posts resend them).
	StoreErrors uint64
	// Unopened counts sealed records HQ could not open (no such key, or a
	// box that does not open with its routing fields): not acked, so the
	// post keeps them. Unsealed counts hits, decisions and audit records
	// that came in clear (a post older than sealing): stored all the same.
	Unopened, Unsealed uint64
	// AcksSent counts ack messages published, AckedIDs the ids in them,
	// AckErrors the ack publishes that failed (the posts resend).
	AcksSent, AckedIDs, AckErrors uint64
	// Statuses counts status updates applied, StaleStatuses the older
	// ones ignored; Presences the presence records applied,
	// StalePresences the older-boot ones ignored.
	Statuses, StaleStatuses, Presences, StalePresences uint64
	// HeadRuns counts head re-sign runs, HeadErrors the failed ones.
	HeadRuns, HeadErrors uint64
	// Purged counts the records deleted past their retention; PurgeRuns
	// the purges, PurgeErrors the failed ones.
	Purged, PurgeRuns, PurgeErrors uint64
}

type counters struct {
	received, stored, invalid, duplicates, malformed, storeErrors atomic.Uint64
	unopened, unsealed                                            atomic.Uint64
	acksSent, ackedIDs, ackErrors                                 atomic.Uint64
	statuses, staleStatuses, presences, stalePresences            atomic.Uint64
	headRuns, headErrors                                          atomic.Uint64
	purged, purgeRuns, purgeErrors                                atomic.Uint64
}

// Server is HQ's receiving and serving side. Its methods are safe for
// concurrent use.
type Server struct {
	cfg Config
	// reconnected wakes the heads loop (see Reconnected).
	reconnected chan struct{}
	rec         *badgerstore.Records
	log         *slog.Logger
	clock       clock.Clock
	n           counters

	in   chan incoming // decoded records for the writer
	done chan struct{} // closed when Run has returned

	postMu sync.Mutex // guards posts and serialises writes of p/ rows
	posts  map[string]*postState

	ackMu   sync.Mutex
	pending map[string][]string // post -> ids awaiting an ack
	ackKick chan struct{}       // something is pending
	ackFull chan struct{}       // a post reached MaxAckIDs

	runOnce atomic.Bool

	// sealMu guards seals, HQ's encryption keys by signing key id, read
	// from the store (publish.SealKeys) at New and again for an unknown id.
	sealMu sync.Mutex
	seals  map[protocol.KeyID]*protocol.SealPrivateKey

	// Admin operations (publish, heads) in flight; Run waits for them.
	opMu      sync.Mutex
	opStopped bool
	ops       sync.WaitGroup
	opCtx     context.Context // ends when Run stops
	opCancel  context.CancelFunc
}

// incoming is one decoded record on its way to the writer.
type incoming struct {
	post     string
	rec      protocol.Record
	received time.Time
	live     bool
}

// New checks cfg, loads the post states from the store and, with a
// Transport, subscribes to the posts' hits, status and presence topics.
// Call it before starting the transport's client.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("hqserver: no store")
	}
	cfg.Namespace = option.Or(cfg.Namespace, DefaultNamespace)
	cfg.AckDelay = option.Positive(cfg.AckDelay, DefaultAckDelay)
	cfg.HeadInterval = option.Positive(cfg.HeadInterval, DefaultHeadInterval)
	cfg.HeadRetry = option.Positive(cfg.HeadRetry, DefaultHeadRetry)
	cfg.HeadRetry = min(cfg.HeadRetry, cfg.HeadInterval)
	cfg.AckTimeout = option.Positive(cfg.AckTimeout, DefaultAckTimeout)
	cfg.FutureSlack = option.Positive(cfg.FutureSlack, DefaultFutureSlack)
	cfg.QueueLen = option.Positive(cfg.QueueLen, DefaultQueueLen)
	cfg.MaxEditionSize = option.Positive(cfg.MaxEditionSize, DefaultMaxEditionSize)
	cfg.Retention = cfg.Retention.withDefaults()
	cfg.PurgeInterval = option.Positive(cfg.PurgeInterval, DefaultPurgeInterval)
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:         cfg,
		reconnected: make(chan struct{}, 1),
		rec:         cfg.Store.Records(cfg.Namespace),
		log:         cfg.Logger.With(logkey.Component, "hqserver"),
		clock:       cfg.Clock,
		in:          make(chan incoming, cfg.QueueLen),
		done:        make(chan struct{}),
		pending:     map[string][]string{},
		ackKick:     make(chan struct{}, 1),
		ackFull:     make(chan struct{}, 1),
	}
	s.opCtx, s.opCancel = context.WithCancel(context.Background())
	removeUploads(cfg.UploadDir)
	var err error
	if s.posts, err = loadPosts(context.Background(), s.rec); err != nil {
		return nil, fmt.Errorf("hqserver: %w", err)
	}
	if s.seals, err = publish.SealKeys(context.Background(), cfg.Store); err != nil {
		return nil, fmt.Errorf("hqserver: %w", err)
	}
	if err := hitIndexed(context.Background(), s.rec); err != nil {
		return nil, fmt.Errorf("hqserver: index the stored hits: %w", err)
	}
	if cfg.Transport != nil {
		for _, sub := range []struct {
			filter string
			h      transport.Handler
		}{
			{protocol.PostsHitsFilter, s.onHits},
			{protocol.PostsStatusFilter, s.onStatus},
			{protocol.PostsPresenceFilter, s.onPresence},
		} {
			if err := cfg.Transport.Subscribe(sub.filter, sub.h); err != nil {
				return nil, fmt.Errorf("hqserver: subscribe %s: %w", sub.filter, err)
			}
		}
	}
	return s, nil
}

// Counts returns the running totals.
func (s *Server) Counts() Counts {
	n := &s.n
	return Counts{
		Received: n.received.Load(), Stored: n.stored.Load(), Invalid: n.invalid.Load(),
		Duplicates: n.duplicates.Load(), Malformed: n.malformed.Load(), StoreErrors: n.storeErrors.Load(),
		Unopened: n.unopened.Load(), Unsealed: n.unsealed.Load(),
		AcksSent: n.acksSent.Load(), AckedIDs: n.ackedIDs.Load(), AckErrors: n.ackErrors.Load(),
		Statuses: n.statuses.Load(), StaleStatuses: n.staleStatuses.Load(),
		Presences: n.presences.Load(), StalePresences: n.stalePresences.Load(),
		HeadRuns: n.headRuns.Load(), HeadErrors: n.headErrors.Load(),
		Purged: n.purged.Load(), PurgeRuns: n.purgeRuns.Load(), PurgeErrors: n.purgeErrors.Load(),
	}
}

// Run runs the record writer, the ack batcher, the purge timer and the
// head re-sign timer until ctx ends, then returns nil once all of them
// have stopped. Acks
// pending at that moment are sent within 2 s (the records are stored; an
// ack that is not sent costs a resend). Store and broker
// errors have no caller to return to: they are counted and logged, and
// the records concerned are not acked, so posts resend them. When ctx
// ends, admin publications in flight (POST /v1/lists/…, /v1/heads) are
// cancelled and waited for, and new ones are refused with 503, so the
// caller may close the store once Run has returned. Run may be called
// once.
func (s *Server) Run(ctx context.Context) error {
	if !s.runOnce.CompareAndSwap(false, true) {
		return errors.New("hqserver: Run called twice")
	}
	defer close(s.done)
	// The admin publications use the store the caller closes after Run:
	// cancel them when ctx ends, and wait for them before returning.
	defer context.AfterFunc(ctx, s.opCancel)()
	defer s.stopOps()
	if s.cfg.Transport == nil {
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.writer(ctx) })
	wg.Go(func() { s.acker(ctx) })
	wg.Go(func() { s.purger(ctx) })
	if s.cfg.Publisher != nil {
		wg.Go(func() { s.heads(ctx) })
	}
	wg.Wait()
	return nil
}

// postOf returns the post id of a message on one of HQ's topics.
func postOf(topic string) (string, error) {
	post, _, ok := protocol.PostOfTopic(topic)
	if !ok {
		return "", fmt.Errorf("topic %q is not a post topic", topic)
	}
	if err := protocol.ValidatePostID(post); err != nil {
		return "", err
	}
	return post, nil
}

// malformed counts and logs a message rejected without an ack.
func (s *Server) malformed(post, topic string, reason error) {
	s.n.malformed.Add(1)
	s.log.Warn("Rejected a malformed message", logkey.Post, post, logkey.Topic, topic, logkey.Reason, reason.Error())
}

// onHits decodes a record and queues it for the writer.
func (s *Server) onHits(m transport.Message) {
	s.n.received.Add(1)
	post, err := postOf(m.Topic)
	if err != nil {
		s.malformed("", m.Topic, err)
		return
	}
	if len(m.Payload) > protocol.MaxRecordMessage {
		s.malformed(post, m.Topic, fmt.Errorf("message of %d bytes, limit %d", len(m.Payload), protocol.MaxRecordMessage))
		return
	}
	rec, err := protocol.DecodeRecord(m.Payload)
	if err != nil {
		s.malformed(post, m.Topic, err)
		return
	}
	switch {
	case rec.Sealed != nil:
		if rec, err = protocol.OpenRecord(post, rec, s.sealKey); err != nil {
			// Not acked: the post keeps it until HQ can open it (an HQ
			// store restored without its newest key).
			s.n.unopened.Add(1)
			s.log.Warn("Could not open a sealed record", logkey.Post, post, logkey.ID, rec.ID, logkey.Reason, err.Error())
			return
		}
	case rec.Kind.Sealed():
		s.n.unsealed.Add(1)
		s.log.Warn("A record that travels sealed came in clear", logkey.Post, post, logkey.ID, rec.ID, logkey.Kind, rec.Kind.String())
	}
	now := s.clock.Now()
	s.touch(post, now, !m.Retained)
	select {
	case s.in <- incoming{post: post, rec: rec, received: now, live: !m.Retained}:
	case <-s.done:
		// Not stored, not acked: the post sends it again.
	}
}

// sealKey returns HQ's encryption key of signing key id, reading the
// store again for an id it does not know (a key made since New).
func (s *Server) sealKey(id protocol.KeyID) (*protocol.SealPrivateKey, bool) {
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	if k, ok := s.seals[id]; ok {
		return k, true
	}
	keys, err := publish.SealKeys(context.Background(), s.cfg.Store)
	if err != nil {
		s.log.Error("Could not read HQ's encryption keys", logkey.Error, err.Error())
		return nil, false
	}
	s.seals = keys
	k, ok := keys[id]
	return k, ok
}

// touch records a live message's arrival in memory; it is persisted with
// the next write of the post's state.
func (s *Server) touch(post string, now time.Time, live bool) {
	if !live {
		return
	}
	s.postMu.Lock()
	ps := s.postLocked(post)
	if now.After(ps.LastSeen) {
		ps.LastSeen = now
	}
	s.postMu.Unlock()
}

// postLocked returns the post's state, creating it; postMu is held.
func (s *Server) postLocked(post string) *postState {
	ps := s.posts[post]
	if ps == nil {
		ps = &postState{Post: post}
		s.posts[post] = ps
	}
	return ps
}

func (s *Server) onStatus(m transport.Message) {
	post, err := postOf(m.Topic)
	if err != nil {
		s.malformed("", m.Topic, err)
		return
	}
	st, err := decodeStatus(post, m.Payload)
	if err != nil {
		s.malformed(post, m.Topic, err)
		return
	}
	now := s.clock.Now()
	err = s.updatePost(post, func(ps *postState) bool {
		if !m.Retained && now.After(ps.LastSeen) {
			ps.LastSeen = now
		}
		return s.applyStatus(ps, st, now, !m.Retained)
	}, func(tx *badgerstore.RecordsTxn, ps *postState) error {
		if m.Retained || ps.Status != st {
			return nil // an old status: no sample of now
		}
		return sample(tx, ps, st, now)
	})
	if err != nil {
		s.n.storeErrors.Add(1)
		s.log.Error("Could not store a post's status", logkey.Post, post, logkey.Error, err.Error())
	}
}

func decodeStatus(post string, b []byte) (*protocol.PostStatus, error) {
	if len(b) > maxStatusSize {
		return nil, fmt.Errorf("status of %d bytes, limit %d", len(b), maxStatusSize)
	}
	var st protocol.PostStatus
	if err := protocol.DecodeJSON(b, &st); err != nil {
		return nil, fmt.Errorf("decode status: %w", err)
	}
	switch {
	case st.Post != "" && st.Post != post:
		return nil, fmt.Errorf("status names post %q, topic %q", st.Post, post)
	case st.Clock.IsZero():
		return nil, errors.New("status has no clock")
	}
	st.Post = post
	return &st, nil
}

// applyStatus replaces the post's status with st if st is newer (see the
// package doc) and reports whether it did.
func (s *Server) applyStatus(ps *postState, st *protocol.PostStatus, now time.Time, live bool) bool {
	if old := ps.Status; old != nil {
		newer := st.Boot > old.Boot || st.Clock.After(old.Clock) || old.Clock.After(now.Add(s.cfg.FutureSlack))
		if !newer {
			s.n.staleStatuses.Add(1)
			return false
		}
	}
	if st.AuditKey != "" {
		if ps.Audit == nil {
			ps.Audit = &AuditState{}
		}
		ps.Audit.pinKey(st.AuditKey)
	}
	ps.Status = st
	ps.StatusAt = now
	if live {
		ps.ClockOffset = st.Clock.Sub(now)
		ps.OffsetAt = now
	}
	s.n.statuses.Add(1)
	return true
}

func (s *Server) onPresence(m transport.Message) {
	post, err := postOf(m.Topic)
	if err != nil {
		s.malformed("", m.Topic, err)
		return
	}
	if len(m.Payload) > maxStatusSize {
		s.malformed(post, m.Topic, fmt.Errorf("presence of %d bytes", len(m.Payload)))
		return
	}
	var pr protocol.PresenceRecord
	if err := protocol.DecodeJSON(m.Payload, &pr); err != nil {
		s.malformed(post, m.Topic, fmt.Errorf("decode presence: %w", err))
		return
	}
	switch {
	case pr.Post != "" && pr.Post != post:
		s.malformed(post, m.Topic, fmt.Errorf("presence names post %q", pr.Post))
		return
	case pr.State != protocol.Online && pr.State != protocol.Offline:
		s.malformed(post, m.Topic, fmt.Errorf("presence state %q", pr.State))
		return
	}
	pr.Post = post
	now := s.clock.Now()
	err = s.updatePost(post, func(ps *postState) bool {
		if !m.Retained && now.After(ps.LastSeen) {
			ps.LastSeen = now
		}
		if ps.Presence != nil && pr.Boot < ps.Presence.Boot {
			s.n.stalePresences.Add(1)
			return !m.Retained // the last-seen time changed
		}
		ps.Presence = &pr
		ps.PresenceAt = now
		s.n.presences.Add(1)
		return true
	})
	if err != nil {
		s.n.storeErrors.Add(1)
		s.log.Error("Could not store a post's presence", logkey.Post, post, logkey.Error, err.Error())
	}
}

// writer stores queued records in batches and hands their ids to the
// ack batcher once the batch has committed.
func (s *Server) writer(ctx context.Context) {
	batch := make([]incoming, 0, maxBatchRecords)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case it := <-s.in:
			batch = append(batch, it)
		}
		size := len(batch[0].rec.Payload)
	fill:
		for len(batch) < maxBatchRecords && size < maxBatchBytes {
			select {
			case it := <-s.in:
				batch = append(batch, it)
				size += len(it.rec.Payload)
			default:
				break fill
			}
		}
		acks, err := s.storeBatch(ctx, batch)
		if err != nil {
			s.n.storeErrors.Add(1)
			if ctx.Err() == nil {
				s.log.Error("Could not store records; they are not acked and the posts will resend them",
					logkey.Count, len(batch), logkey.Error, err.Error())
			}
			continue
		}
		s.queueAcks(acks)
	}
}

// queueAcks adds stored ids to the pending acks.
func (s *Server) queueAcks(acks map[string][]string) {
	if len(acks) == 0 {
		return
	}
	full := false
	s.ackMu.Lock()
	for post, ids := range acks {
		s.pending[post] = append(s.pending[post], ids...)
		if len(s.pending[post]) >= protocol.MaxAckIDs {
			full = true
		}
	}
	s.ackMu.Unlock()
	select {
	case s.ackKick <- struct{}{}:
	default:
	}
	if full {
		select {
		case s.ackFull <- struct{}{}:
		default:
		}
	}
}

// acker publishes the pending acks at once when no record is waiting to
// be stored, else AckDelay after the first of them arrived, or at once
// when a post has MaxAckIDs pending.
func (s *Server) acker(ctx context.Context) {
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(s.cfg.AckTimeout, finalFlushTimeout))
		defer cancel()
		s.flushAcks(fctx)
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.ackKick:
		case <-s.ackFull:
		}
		if len(s.in) == 0 {
			// Nothing more is waiting to be stored: waiting would only
			// delay the posts (their in-flight window is full of records
			// awaiting these acks). Under load the writer's batches, and
			// the wait below, group the ids.
			s.flushAcks(ctx)
			continue
		}
		t := s.clock.NewTimer(s.cfg.AckDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		case <-s.ackFull:
			t.Stop()
		}
		s.flushAcks(ctx)
	}
}

// flushAcks publishes one ack per post (several if more than MaxAckIDs
// are pending). A failed publish is counted and logged; the post resends
// and the duplicate is acked again.
func (s *Server) flushAcks(ctx context.Context) {
	s.ackMu.Lock()
	pending := s.pending
	s.pending = map[string][]string{}
	s.ackMu.Unlock()
	for post, ids := range pending {
		for len(ids) > 0 {
			n := min(len(ids), protocol.MaxAckIDs)
			chunk := ids[:n]
			ids = ids[n:]
			if err := s.publishAck(ctx, post, chunk); err != nil {
				s.n.ackErrors.Add(1)
				if ctx.Err() == nil {
					s.log.Warn("Could not send an ack; the post will resend the records", logkey.Post, post,
						logkey.Count, len(chunk), logkey.Error, err.Error())
				}
				continue
			}
			s.n.acksSent.Add(1)
			s.n.ackedIDs.Add(uint64(len(chunk)))
		}
	}
}

func (s *Server) publishAck(ctx context.Context, post string, ids []string) error {
	b, err := protocol.EncodeAck(ids)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, s.cfg.AckTimeout)
	defer cancel()
	if err := s.cfg.Transport.Publish(pctx, protocol.AcksTopic(post), b, false); err != nil {
		return fmt.Errorf("publish ack to %s: %w", post, err)
	}
	return nil
}

// heads re-signs every list's head at start (finishing any announcement
// a crash interrupted), then every HeadInterval and each time HQ's link to
// the broker comes back (Reconnected); after a failure it tries again
// HeadRetry later.
func (s *Server) heads(ctx context.Context) {
	s.every(ctx, s.reconnected, func() time.Duration { return s.republish(ctx) })
}

// Reconnected tells the server that HQ's link to the broker has been
// (re)established. A broker restarted without its persistence (or one
// that lost the last writes of it to a kill) has lost the retained
// heads, key rotations and the seal-key statement that a post reads when
// it subscribes, so a post that restarts meanwhile would wait for HQ's
// next re-signing (hours) before it can seal a hit: the heads loop
// publishes them again at once.
func (s *Server) Reconnected() {
	select {
	case s.reconnected <- struct{}{}:
	default:
	}
}

// republish re-signs and publishes every head, the key rotations and the
// seal-key statement, and returns the wait before the next run.
func (s *Server) republish(ctx context.Context) time.Duration {
	s.n.headRuns.Add(1)
	res, err := s.cfg.Publisher.RepublishHeads(ctx)
	if err != nil && ctx.Err() != nil {
		return 0 // the loop returns: ctx has ended
	}
	wait := s.cfg.HeadInterval
	if err != nil {
		s.n.headErrors.Add(1)
		wait = s.cfg.HeadRetry
		s.log.Error("Could not re-sign heads; retrying", logkey.Error, err.Error(), logkey.Retry, wait)
	}
	lists := make([]string, 0, len(res))
	for _, r := range res {
		lists = append(lists, r.List)
	}
	s.log.Info("Re-signed heads", logkey.Lists, lists)
	return wait
}
