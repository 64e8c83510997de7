package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/transport"
)

// Publisher defaults.
const (
	// DefaultWindow: records sent and not yet acknowledged by HQ. At a
	// 600 ms round trip 32 records in flight drain about 50 records/s,
	// far above a post's hit rate, while a reconnect sends at most 32
	// messages at once instead of flooding a thin link.
	DefaultWindow = 32
	// DefaultAckTimeout: a record published without an ack for this long
	// is sent again (same id; HQ deduplicates). Long enough for HQ to
	// store and ack over a slow link, short enough that a lost ack costs
	// minutes, not hours.
	DefaultAckTimeout = 2 * time.Minute
	// DefaultPublishTimeout bounds the wait for one PUBACK.
	DefaultPublishTimeout = 60 * time.Second
	// DefaultBackoffMin and DefaultBackoffMax bound the jittered
	// exponential back-off after a failed publish. A publish while the
	// link is down fails locally (transport.ErrNotConnected) and costs no
	// traffic, so the cap is short: delivery resumes within about 30 s of
	// the link returning, and the jitter keeps a fleet of posts that come
	// back together from hitting HQ in the same second.
	DefaultBackoffMin = 500 * time.Millisecond
	DefaultBackoffMax = 30 * time.Second
	// ackQueue is the number of ack messages buffered between the
	// transport's handler and the publisher's loop.
	ackQueue = 64
)

// PublisherOptions configure a Publisher.
type PublisherOptions struct {
	// Post is the post id (protocol.ValidatePostID): records go to
	// protocol.HitsTopic(Post), acks come on protocol.AcksTopic(Post).
	// Required.
	Post string
	// Window, AckTimeout, PublishTimeout, BackoffMin, BackoffMax: the
	// Default* values when 0.
	Window         int
	AckTimeout     time.Duration
	PublishTimeout time.Duration
	BackoffMin     time.Duration
	BackoffMax     time.Duration
	// MaxRate, if > 0, bounds the records published per second (first
	// sends and resends together), evenly spaced: for a metered or shared
	// link.
	MaxRate float64
	// Clock drives back-off, ack timeouts and the rate (the outbox's clock
	// when nil).
	Clock clock.Clock
	// Jitter returns a number in [0, 1) for the back-off jitter
	// (math/rand/v2 when nil).
	Jitter func() float64
	// Sealer seals the records of the kinds that travel sealed to HQ
	// (protocol.RecordKind.Sealed: hits, decisions, audit). While it knows
	// no HQ encryption key (protocol.ErrNoSealKey) those records wait in
	// the outbox and the others go on; call Wake when a key arrives. Nil:
	// every record goes in clear (tests of the delivery rules only; the
	// post's agent always sets one).
	Sealer Sealer
	// Logger; nil discards.
	Logger *slog.Logger
}

// Sealer seals a record for HQ (protocol.SealRecord with HQ's current
// encryption key), or fails with protocol.ErrNoSealKey.
type Sealer interface {
	Seal(r protocol.Record) (protocol.Record, error)
}

// PublisherStats are running totals since NewPublisher.
type PublisherStats struct {
	// Published counts PUBACKed publishes (first sends and resends);
	// Resent counts sends after an ack timeout.
	Published, Resent uint64
	// PublishErrors counts failed publishes (each starts or extends the
	// back-off).
	PublishErrors uint64
	// Acked counts records deleted on HQ's ack; AckedUnknown counts acked
	// ids that were not in the outbox (duplicates, or records dropped by
	// the budget); BadAcks counts ack messages that did not parse.
	Acked, AckedUnknown, BadAcks uint64
	// InFlight is the records published or being published and not acked.
	InFlight int
	// UnackedSince is when the broker took (PUBACKed) a publish that HQ
	// has not acknowledged since, with no ack from HQ at all after it;
	// zero while nothing waits. A broker whose ACL refuses the post's
	// topics PUBACKs and drops (MQTT 3.1.1 cannot say no), so a link that
	// is up with this far in the past means the publishes are refused.
	UnackedSince time.Time
}

// Publisher drains an Outbox to HQ over a transport.Transport. See the
// package doc for the delivery rules.
type Publisher struct {
	ob *Outbox
	tr transport.Transport

	subMu      sync.Mutex
	subscribed bool

	opts  PublisherOptions
	clock clock.Clock
	log   *slog.Logger
	hits  string
	acks  string

	started  atomic.Bool
	done     chan struct{} // closed when Run returns
	ackCh    chan []string
	sealKick chan struct{} // Wake: a seal key may have arrived

	published, resent, pubErrs  atomic.Uint64
	acked, ackedUnknown, badAck atomic.Uint64
	inflight                    atomic.Int64
	unackedSince                atomic.Int64 // unix nanoseconds; 0: none (PublisherStats.UnackedSince)
	linkSeen                    atomic.Bool  // the transport has been connected at least once
}

// NewPublisher returns a publisher for ob over tr; call Run.
func NewPublisher(ob *Outbox, tr transport.Transport, opts PublisherOptions) (*Publisher, error) {
	if ob == nil || tr == nil {
		return nil, errors.New("new publisher: nil outbox or transport")
	}
	if err := protocol.ValidatePostID(opts.Post); err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	def(&opts.AckTimeout, DefaultAckTimeout)
	def(&opts.PublishTimeout, DefaultPublishTimeout)
	def(&opts.BackoffMin, DefaultBackoffMin)
	def(&opts.BackoffMax, DefaultBackoffMax)
	opts.BackoffMax = max(opts.BackoffMax, opts.BackoffMin)
	if opts.Clock == nil {
		opts.Clock = ob.clock
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{
		ob:    ob,
		tr:    tr,
		opts:  opts,
		clock: opts.Clock,
		log:   log.With(logkey.Component, "outbox-publisher", logkey.Post, opts.Post),
		hits:  protocol.HitsTopic(opts.Post),
		acks:  protocol.AcksTopic(opts.Post),
		done:  make(chan struct{}),
		ackCh: make(chan []string, ackQueue),

		sealKick: make(chan struct{}, 1),
	}, nil
}

// Wake tells the publisher that the Sealer may now have a key: records
// held for want of one are tried again.
func (p *Publisher) Wake() {
	select {
	case p.sealKick <- struct{}{}:
	default:
	}
}

// Stats returns the running totals.
func (p *Publisher) Stats() PublisherStats {
	return PublisherStats{
		Published:     p.published.Load(),
		Resent:        p.resent.Load(),
		PublishErrors: p.pubErrs.Load(),
		Acked:         p.acked.Load(),
		AckedUnknown:  p.ackedUnknown.Load(),
		BadAcks:       p.badAck.Load(),
		InFlight:      int(p.inflight.Load()),
		UnackedSince:  unixTime(p.unackedSince.Load()),
	}
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// Depth is the outbox's depth (for status and metrics).
func (p *Publisher) Depth() Depth { return p.ob.Depth() }

// onAck is the transport handler for the acks topic. It parses and
// queues; the loop deletes. After Run returned, acks are dropped (the
// records are resent next time and acked again).
func (p *Publisher) onAck(m transport.Message) {
	ids, err := protocol.DecodeAck(m.Payload)
	if err != nil {
		p.badAck.Add(1)
		p.log.Warn("ignoring a bad ack message", logkey.Error, err)
		return
	}
	if len(ids) == 0 {
		return
	}
	select {
	case p.ackCh <- ids:
	case <-p.done:
	}
}

// flight is a record the publisher has taken from the outbox and not yet
// seen acknowledged.
type flight struct {
	seq      uint64
	id       string
	msg      []byte
	sending  bool      // a publish is running
	acked    bool      // the ack arrived while publishing
	deadline time.Time // while awaiting the ack: resend after it
	sends    int
}

type pubResult struct {
	f   *flight
	err error
}

// run state, owned by Run's goroutine.
type runState struct {
	inflight map[string]*flight
	resend   []*flight         // published before, to send again
	cursor   [3]uint64         // next sequence to scan, by priority
	buf      [3][]storedRecord // scanned, not yet sent, by priority
	dry      [3]bool           // the last scan found nothing more; cleared by a wake
	sealWait [3]bool           // the next record waits for a seal key; cleared by Wake
	attempt  int               // consecutive failed publishes
	holdTill time.Time         // no publishes before this (back-off)
	holdFor  time.Duration     // the back-off that set holdTill
	nextSend time.Time         // rate limit
	blocked  bool              // the last fill stopped for holdTill or nextSend with work left
	results  chan pubResult
}

// Subscribe registers the publisher's handler for HQ's acks. Run does it
// if it has not been done; call it before the transport starts, so that
// acks the broker kept in the post's session while it was away find their
// handler (they wait in the subscription's queue until Run reads them).
func (p *Publisher) Subscribe() error {
	p.subMu.Lock()
	defer p.subMu.Unlock()
	if p.subscribed {
		return nil
	}
	if err := p.tr.Subscribe(p.acks, p.onAck); err != nil {
		return fmt.Errorf("outbox publisher: subscribe %s: %w", p.acks, err)
	}
	p.subscribed = true
	return nil
}

// Run drains the outbox until ctx ends, then returns nil after every
// goroutine it started has stopped. It returns an error only if the
// outbox cannot be read or written (the store failed) or the ack topic
// cannot be subscribed. Run may be called once.
func (p *Publisher) Run(ctx context.Context) error {
	if !p.started.CompareAndSwap(false, true) {
		return errors.New("outbox publisher: Run called twice")
	}
	defer close(p.done)
	if err := p.Subscribe(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		p.inflight.Store(0)
	}()
	st := &runState{
		inflight: map[string]*flight{},
		results:  make(chan pubResult, p.opts.Window),
	}
	var timer clock.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		p.settle(st, p.clock.Now())
		if err := p.fill(ctx, st, &wg); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		p.inflight.Store(int64(len(st.inflight)))
		// A fresh timer per wait: simpler than re-arming one, and cheap
		// next to a publish.
		if timer != nil {
			timer.Stop()
			timer = nil
		}
		var timerC <-chan time.Time
		if at, ok := p.nextWake(st); ok {
			timer = p.clock.NewTimer(at.Sub(p.clock.Now()))
			timerC = timer.C()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.ob.wake:
			st.dry = [3]bool{}
		case <-p.sealKick:
			st.sealWait = [3]bool{}
		case ids := <-p.ackCh:
			if err := p.handleAcks(ctx, st, ids); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		case r := <-st.results:
			p.handleResult(st, r)
		case <-timerC:
			timer = nil
			p.expire(st)
		}
	}
}

// nextWake is when the loop must look again without an event: the end of
// the back-off or rate wait if there is work waiting for it, or the
// earliest ack deadline.
func (p *Publisher) nextWake(st *runState) (time.Time, bool) {
	var at time.Time
	set := func(t time.Time) {
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	if st.blocked {
		// fill stopped for the back-off or the rate, not for lack of
		// work: wake when it ends, at once if it already has (the clock
		// moved since fill looked).
		set(latest(st.holdTill, st.nextSend))
	}
	for _, f := range st.inflight {
		if !f.sending && !f.deadline.IsZero() {
			set(f.deadline)
		}
	}
	return at, !at.IsZero()
}

// fill starts publishes while the window has room: resends first, then
// new records, high priority before low.
func (p *Publisher) fill(ctx context.Context, st *runState, wg *sync.WaitGroup) error {
	st.blocked = false
	for {
		now := p.clock.Now()
		if st.holdTill.After(now) || st.nextSend.After(now) {
			// Blocked only if there is something to send.
			st.blocked = len(st.resend) > 0 || len(st.inflight) < p.opts.Window
			return nil
		}
		f, err := p.next(ctx, st)
		if err != nil || f == nil {
			return err
		}
		if !p.linkSeen.Load() && p.tr.Connected() {
			p.linkSeen.Store(true)
		}
		if p.opts.MaxRate > 0 {
			st.nextSend = now.Add(time.Duration(float64(time.Second) / p.opts.MaxRate))
		}
		f.sending, f.deadline = true, time.Time{}
		f.sends++
		if f.sends > 1 {
			p.resent.Add(1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, p.opts.PublishTimeout)
			defer cancel()
			err := p.tr.Publish(pctx, p.hits, f.msg, false)
			st.results <- pubResult{f, err} // buffered to the window: never blocks
		}()
	}
}

// next picks the next record to send, or nil.
func (p *Publisher) next(ctx context.Context, st *runState) (*flight, error) {
	for len(st.resend) > 0 {
		f := st.resend[0]
		st.resend = st.resend[1:]
		if f.acked || !p.ob.has(f.seq) {
			// Acked, dropped by the budget or superseded meanwhile.
			delete(st.inflight, f.id)
			continue
		}
		return f, nil
	}
	if len(st.inflight) >= p.opts.Window {
		return nil, nil
	}
	for _, prio := range []Priority{PriorityHigh, PriorityLow} {
		if st.sealWait[prio] {
			continue
		}
	scan:
		for {
			if len(st.buf[prio]) == 0 {
				if st.dry[prio] {
					break
				}
				recs, next, err := p.ob.scan(ctx, prio, st.cursor[prio], p.opts.Window, func(id string) bool {
					_, ok := st.inflight[id]
					return ok
				})
				if err != nil {
					return nil, err
				}
				if len(recs) < p.opts.Window {
					st.dry[prio] = true
				}
				st.cursor[prio] = next
				st.buf[prio] = recs
				if len(recs) == 0 {
					break
				}
			}
			r := st.buf[prio][0]
			st.buf[prio] = st.buf[prio][1:]
			if _, ok := st.inflight[r.rec.ID]; ok || !p.ob.has(r.seq) {
				// In flight (scanned again behind an open transaction),
				// or acked, dropped or superseded since the scan.
				continue
			}
			w := r.rec.wire()
			if w.Kind.Sealed() && p.opts.Sealer != nil {
				sealed, err := p.opts.Sealer.Seal(w)
				if errors.Is(err, protocol.ErrNoSealKey) {
					// Never in clear: it waits, in order, for a key.
					st.buf[prio] = append([]storedRecord{r}, st.buf[prio]...)
					if !st.sealWait[prio] {
						p.log.Warn("no HQ encryption key yet; sealed records wait in the outbox")
					}
					st.sealWait[prio] = true
					break scan
				}
				if err != nil {
					return nil, err
				}
				w = sealed
			}
			msg, err := protocol.EncodeRecord(w)
			if err != nil {
				return nil, err
			}
			f := &flight{seq: r.seq, id: r.rec.ID, msg: msg}
			st.inflight[f.id] = f
			return f, nil
		}
	}
	return nil, nil
}

func (p *Publisher) handleResult(st *runState, r pubResult) {
	f := r.f
	f.sending = false
	if r.err == nil {
		p.published.Add(1)
		st.attempt = 0
		p.unackedSince.CompareAndSwap(0, p.clock.Now().UnixNano())
	}
	if f.acked {
		// HQ's ack overtook our PUBACK (it can: different topics), or
		// came from an earlier send while this one failed.
		delete(st.inflight, f.id)
		return
	}
	if r.err != nil {
		p.pubErrs.Add(1)
		st.resend = append(st.resend, f)
		f.sends-- // a failed publish is not a send
		now := p.clock.Now()
		if st.holdTill.After(now) {
			return // the publishes of one window fail together: one step
		}
		st.attempt++
		wait := backoff(st.attempt, p.opts.BackoffMin, p.opts.BackoffMax, p.opts.Jitter())
		st.holdTill, st.holdFor = now.Add(wait), wait
		// Before the link has ever come up (a post starting, its first
		// connection attempt under way) "not connected" is expected, not
		// news.
		lvl := slog.LevelWarn
		if errors.Is(r.err, transport.ErrNotConnected) && !p.linkSeen.Load() {
			lvl = slog.LevelDebug
		}
		if st.attempt == 1 || st.attempt%20 == 0 {
			p.log.Log(context.Background(), lvl, "publish failed; backing off", logkey.Error, r.err, logkey.Attempt, st.attempt, logkey.Wait, wait)
		}
		return
	}
	f.deadline = p.clock.Now().Add(p.opts.AckTimeout)
}

// settle undoes what a clock set back did to the publisher's waits. They
// are instants of the post's clock; when the clock ran fast and was then
// set right (by NTP, or by hand), a wait set meanwhile would end as far
// ahead as the clock was off: a back-off or an ack deadline of seconds or
// minutes would hold the outbox for an hour after a one-hour error, and
// with the in-flight window full of such records, no new hit would leave
// either. A wait that ends further ahead than it lasts is therefore cut
// to its length from now. (Go's own clock readings carry a monotonic
// part that a clock step does not move, but the clock the publisher is
// given need not, and a stored instant never does.)
func (p *Publisher) settle(st *runState, now time.Time) {
	st.holdTill = capWait(st.holdTill, now, st.holdFor)
	if p.opts.MaxRate > 0 {
		st.nextSend = capWait(st.nextSend, now, time.Duration(float64(time.Second)/p.opts.MaxRate))
	}
	for _, f := range st.inflight {
		if !f.deadline.IsZero() {
			f.deadline = capWait(f.deadline, now, p.opts.AckTimeout)
		}
	}
}

// capWait returns t, or now+d when t is further ahead than that.
func capWait(t, now time.Time, d time.Duration) time.Time {
	if end := now.Add(d); t.After(end) {
		return end
	}
	return t
}

// expire queues for resending the records whose ack is overdue.
func (p *Publisher) expire(st *runState) {
	now := p.clock.Now()
	n := 0
	for _, f := range st.inflight {
		if !f.sending && !f.deadline.IsZero() && !now.Before(f.deadline) {
			f.deadline = time.Time{}
			st.resend = append(st.resend, f)
			n++
		}
	}
	if n > 0 {
		p.log.Info("no ack from HQ; resending", logkey.Records, n)
	}
}

// handleAcks deletes acked records: this batch and any other queued.
func (p *Publisher) handleAcks(ctx context.Context, st *runState, ids []string) error {
	for more := true; more && len(ids) < ackChunk; {
		select {
		case more2 := <-p.ackCh:
			ids = append(ids, more2...)
		default:
			more = false
		}
	}
	n, err := p.ob.Ack(ctx, ids)
	if err != nil {
		return fmt.Errorf("outbox publisher: %w", err)
	}
	p.acked.Add(uint64(n))
	p.ackedUnknown.Add(uint64(len(ids) - n))
	defer func() {
		// HQ answers: what is still in flight waits from now on.
		since := int64(0)
		if len(st.inflight) > 0 {
			since = p.clock.Now().UnixNano()
		}
		p.unackedSince.Store(since)
	}()
	for _, id := range ids {
		f, ok := st.inflight[id]
		if !ok {
			continue
		}
		if f.sending {
			f.acked = true // removed when its publish returns
			continue
		}
		f.acked = true // if queued in resend, next skips it
		delete(st.inflight, id)
	}
	return nil
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// backoff returns the wait before retrying after the attempt-th
// consecutive failure: min·2^(attempt-1) capped at max, then "equal
// jitter", a uniform draw from [d/2, d) with j in [0, 1).
func backoff(attempt int, minD, maxD time.Duration, j float64) time.Duration {
	d := minD
	for i := 1; i < attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d/2 + time.Duration(j*float64(d/2))
}
