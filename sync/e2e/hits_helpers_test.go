package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/mqtt/mqtttest"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/outbox/outboxtest"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/transport"
)

// The hit-delivery tests (hits_test.go) run HQ's receiving side
// (sync/hqserver over its own Badger store and MQTT client) and a post's
// outbox (sync/outbox over its own store and MQTT client, with the
// post's client id), through a real broker.

// hqClientID is HQ's MQTT client id (not a post's: the embedded broker
// treats any other anonymous loopback client as HQ).
const hqClientID = "watchpost-hq"

// hitPayload is a valid protocol.HitReport of post, the i-th one of a
// test (HQ validates it: an invalid payload would be stored as INVALID).
func hitPayload(tb testing.TB, post string, i int) []byte {
	tb.Helper()
	b, err := json.Marshal(protocol.HitReport{
		Post:       post,
		ScreenedAt: time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Source:     "api",
		Ref:        fmt.Sprintf("flight-%d", i%97),
		Traveller:  engine.Query{Name: fmt.Sprintf("Traveller %d", i), BirthDate: "1970-01-01", Nationality: "XXA"},
		Hits: []engine.Hit{{
			List: "un", ListVersion: 7, EntryID: fmt.Sprintf("QDi.%03d", i%500), Score: 0.93,
			Band: engine.BandMatch, MatchedName: fmt.Sprintf("Traveller %d", i),
		}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ackGate is HQ's transport: the MQTT client, with a switch that holds
// HQ's ack publishes (on .../acks) until released. It puts a moment
// "stored at HQ, ack not sent" under the test's control without touching
// hqserver: HQ's acker blocks in Publish as it would on a slow link.
type ackGate struct {
	transport.Transport
	mu   sync.Mutex
	cur  *gateHold // nil: acks pass
	held atomic.Int64
	ids  atomic.Int64 // ids in the acks held now
}

type gateHold struct {
	ch   chan struct{}
	drop bool // set before ch is closed: fail the held publishes
}

// Hold makes ack publishes wait from now on.
func (g *ackGate) Hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cur == nil {
		g.cur = &gateHold{ch: make(chan struct{})}
	}
}

// Release lets the held ack publishes go on (or fail, with drop: HQ
// counts an ack error and the post must resend) and stops holding.
func (g *ackGate) Release(drop bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cur != nil {
		g.cur.drop = drop
		close(g.cur.ch)
		g.cur = nil
	}
}

// Held returns the ack publishes held now and the ids in them.
func (g *ackGate) Held() (acks, ids int64) { return g.held.Load(), g.ids.Load() }

func (g *ackGate) Publish(ctx context.Context, topic string, payload []byte, retained bool) error {
	if strings.HasSuffix(topic, "/acks") {
		g.mu.Lock()
		h := g.cur
		g.mu.Unlock()
		if h != nil {
			ids, err := protocol.DecodeAck(payload)
			if err != nil {
				return err
			}
			n := int64(len(ids))
			g.held.Add(1)
			g.ids.Add(n)
			defer func() {
				g.held.Add(-1)
				g.ids.Add(-n)
			}()
			select {
			case <-h.ch:
			case <-ctx.Done():
				return ctx.Err()
			}
			if h.drop {
				return errors.New("ack dropped by the test's gate")
			}
		}
	}
	return g.Transport.Publish(ctx, topic, payload, retained)
}

// hqRecv is HQ's receiving side: hqserver.Server over its own store and
// MQTT client (subscriptions registered before the client starts).
type hqRecv struct {
	srv   *hqserver.Server
	cli   *mqtt.Client
	store *badgerstore.Store
	gate  *ackGate // nil unless asked for
}

func startHQRecv(tb testing.TB, url string, gated bool) *hqRecv {
	tb.Helper()
	h := &hqRecv{store: openStore(tb, filepath.Join(tb.TempDir(), "hq"))}
	var err error
	if h.cli, err = mqtt.New(mqtttest.Options(url, hqClientID)); err != nil {
		tb.Fatal(err)
	}
	var tr transport.Transport = h.cli
	if gated {
		h.gate = &ackGate{Transport: h.cli}
		tr = h.gate
	}
	if h.srv, err = hqserver.New(hqserver.Config{Store: h.store, Transport: tr}); err != nil {
		tb.Fatal(err)
	}
	if err := h.cli.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { mqtttest.Close(h.cli) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Run(ctx) }()
	tb.Cleanup(func() {
		if h.gate != nil {
			h.gate.Release(true)
		}
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("hqserver Run: %v", err)
		}
	})
	testkit.CheckFor(tb, 10*time.Second, "HQ connected", func() error {
		if !h.cli.Connected() {
			return errors.New("not connected")
		}
		return nil
	})
	return h
}

// ids returns every record of post that HQ stored, with how many times
// it holds each id, read through Server.Hits (kind hit). It fails when
// HQ holds MaxHitsLimit records or more (the answer could be cut).
func (h *hqRecv) ids(tb testing.TB, post string) map[string]int {
	tb.Helper()
	recs, err := h.srv.Hits(context.Background(), hqserver.HitFilter{Post: post, Kind: "hit", Limit: hqserver.MaxHitsLimit})
	if err != nil {
		tb.Fatal(err)
	}
	if len(recs) >= hqserver.MaxHitsLimit {
		tb.Fatalf("HQ returned %d records, the query's limit: use scanIDs", len(recs))
	}
	got := make(map[string]int, len(recs))
	for _, r := range recs {
		if r.Post != post || r.Kind != "hit" {
			tb.Errorf("record %s: post %q kind %q", r.ID, r.Post, r.Kind)
		}
		if r.Invalid != "" {
			tb.Errorf("record %s stored as invalid: %s", r.ID, r.Invalid)
		}
		got[r.ID]++
	}
	return got
}

// scanIDs reads every record row of HQ's store (namespace hq-records,
// t/<time><post>/<id> → the stored record; hqserver's documented
// layout), for backlogs larger than a Hits query returns. A record
// stored twice would be two rows.
func (h *hqRecv) scanIDs(tb testing.TB, post string) map[string]int {
	tb.Helper()
	got := map[string]int{}
	err := h.store.Records(hqserver.DefaultNamespace).View(context.Background(), func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate([]byte("t/"), func(_, v []byte) error {
			var r hqserver.Record
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			if r.Post != post || r.Kind != "hit" || r.Invalid != "" {
				return fmt.Errorf("record %s: post %q kind %q invalid %q", r.ID, r.Post, r.Kind, r.Invalid)
			}
			got[r.ID]++
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

// checkExactlyOnce fails unless got holds exactly the ids of want, each
// once.
func checkExactlyOnce(tb testing.TB, got map[string]int, want []string) {
	tb.Helper()
	wantSet := make(map[string]bool, len(want))
	for _, id := range want {
		if wantSet[id] {
			tb.Fatalf("test bug: id %s put twice", id)
		}
		wantSet[id] = true
	}
	var lost, dup, extra []string
	for _, id := range want {
		switch n := got[id]; {
		case n == 0:
			lost = append(lost, id)
		case n > 1:
			dup = append(dup, fmt.Sprintf("%s×%d", id, n))
		}
	}
	for id := range got {
		if !wantSet[id] {
			extra = append(extra, id)
		}
	}
	if len(lost)+len(dup)+len(extra) > 0 {
		slices.Sort(lost)
		slices.Sort(extra)
		tb.Fatalf("HQ holds %d distinct ids, want %d: %d lost %v, %d stored more than once %v, %d never put %v",
			len(got), len(want), len(lost), head(lost), len(dup), head(dup), len(extra), head(extra))
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// checkCounts fails unless HQ stored exactly n records, none invalid or
// malformed, and every other receipt was a duplicate (a resend, acked
// again).
func checkCounts(tb testing.TB, c hqserver.Counts, n int) {
	tb.Helper()
	if c.Stored != uint64(n) || c.Invalid != 0 || c.Malformed != 0 || c.StoreErrors != 0 || c.Received != c.Stored+c.Duplicates {
		tb.Fatalf("HQ counts %+v: want Stored %d, no invalid, malformed or store errors, Received = Stored + Duplicates", c, n)
	}
}

// postSide is a post's outbox over its own store, and (while linked) an
// MQTT client with the post's client id and a publisher draining it.
type postSide struct {
	name  string
	dir   string
	store *badgerstore.Store
	ob    *outbox.Outbox

	cli    *mqtt.Client
	pub    *outbox.Publisher
	cancel context.CancelFunc
	done   chan error
}

// openPostSide opens (or reopens) the post's store and outbox in dir;
// close releases them (the test's cleanup does too).
func openPostSide(tb testing.TB, name, dir string) *postSide {
	tb.Helper()
	st, err := badgerstore.Open(dir, badgerstore.Options{MemTableSize: 8 << 20, BlockCacheSize: 4 << 20, IndexCacheSize: 4 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	p := &postSide{name: name, dir: dir, store: st}
	tb.Cleanup(func() { p.close(tb) })
	if p.ob, err = outbox.Open(context.Background(), st, outbox.Options{}); err != nil {
		tb.Fatal(err)
	}
	return p
}

// putHits puts n hits one by one (each durable when Put returns) and
// returns their ids; first numbers the payloads.
func (p *postSide) putHits(tb testing.TB, first, n int) []string {
	tb.Helper()
	ids := make([]string, 0, n)
	for i := first; i < first+n; i++ {
		r, err := p.ob.Put(context.Background(), outbox.Record{Kind: protocol.RecordHit, Payload: hitPayload(tb, p.name, i)})
		if err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

// putBacklog puts n hits 500 to a transaction (as a screening API
// writes its records with PutTx), for large backlogs.
func (p *postSide) putBacklog(tb testing.TB, first, n int) []string {
	tb.Helper()
	return outboxtest.PutHits(tb, p.store, p.ob, first, n, func(i int) []byte { return hitPayload(tb, p.name, i) })
}

// subSignal closes done once filter has been subscribed: the post starts
// its client only after the publisher registered its acks handler, so
// acks the broker kept in the session find it.
type subSignal struct {
	transport.Transport
	filter string
	done   chan struct{}
	once   sync.Once
}

func (s *subSignal) Subscribe(filter string, h transport.Handler) error {
	err := s.Transport.Subscribe(filter, h)
	if filter == s.filter {
		s.once.Do(func() { close(s.done) })
	}
	return err
}

// postPublisherOptions are the publisher's options for loopback tests:
// short back-off; ackTimeout as given.
func postPublisherOptions(post string, ackTimeout time.Duration) outbox.PublisherOptions {
	return outbox.PublisherOptions{
		Post: post, AckTimeout: ackTimeout,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
	}
}

// link creates the post's MQTT client (client id protocol.PostClientID) and
// runs a publisher over it; with start, it starts the client once the
// publisher has subscribed to its acks (else call startClient).
func (p *postSide) link(tb testing.TB, url string, o outbox.PublisherOptions, start bool) {
	tb.Helper()
	id, err := protocol.PostClientID(p.name)
	if err != nil {
		tb.Fatal(err)
	}
	if p.cli, err = mqtt.New(mqtttest.Options(url, id)); err != nil {
		tb.Fatal(err)
	}
	sig := &subSignal{Transport: p.cli, filter: protocol.AcksTopic(p.name), done: make(chan struct{})}
	if p.pub, err = outbox.NewPublisher(p.ob, sig, o); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan error, 1)
	go func(pub *outbox.Publisher, done chan error) { done <- pub.Run(ctx) }(p.pub, p.done)
	select {
	case <-sig.done:
	case err := <-p.done:
		tb.Fatalf("publisher stopped before subscribing: %v", err)
	case <-time.After(10 * time.Second):
		tb.Fatal("publisher did not subscribe to its acks within 10 s")
	}
	if start {
		p.startClient(tb)
	}
}

func (p *postSide) startClient(tb testing.TB) {
	tb.Helper()
	if err := p.cli.Start(); err != nil {
		tb.Fatal(err)
	}
}

// unlink stops the publisher and closes the client (the post goes
// offline); idempotent.
func (p *postSide) unlink(tb testing.TB) {
	tb.Helper()
	if p.cancel == nil {
		return
	}
	p.cancel()
	if err := <-p.done; err != nil {
		tb.Errorf("%s: publisher: %v", p.name, err)
	}
	mqtttest.Close(p.cli)
	p.cancel, p.done = nil, nil
}

// close unlinks and closes the store; idempotent.
func (p *postSide) close(tb testing.TB) {
	tb.Helper()
	p.unlink(tb)
	if p.store != nil {
		if err := p.store.Close(); err != nil {
			tb.Errorf("%s: close store: %v", p.name, err)
		}
		p.store = nil
	}
}

// outboxIDs lists the ids in the post's outbox (records namespace
// "outbox", i/<id> index rows: sync/outbox's documented layout).
func (p *postSide) outboxIDs(tb testing.TB) map[string]bool {
	tb.Helper()
	ids := map[string]bool{}
	err := p.store.Records(outbox.DefaultNamespace).View(context.Background(), func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate([]byte("i/"), func(k, _ []byte) error {
			ids[string(k[len("i/"):])] = true
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}

// waitDrained waits until the post's outbox is empty and HQ has stored n
// records.
func waitDrained(tb testing.TB, d time.Duration, p *postSide, h *hqRecv, n int) {
	tb.Helper()
	testkit.CheckFor(tb, d, fmt.Sprintf("%s drained (%d records at HQ)", p.name, n), func() error {
		dep, c := p.ob.Depth(), h.srv.Counts()
		if dep.Records != 0 || c.Stored < uint64(n) {
			st := ""
			if p.pub != nil {
				st = fmt.Sprintf(", publisher %+v", p.pub.Stats())
			}
			return fmt.Errorf("outbox holds %d, HQ stored %d of %d (counts %+v%s)", dep.Records, c.Stored, n, c, st)
		}
		return nil
	})
}
