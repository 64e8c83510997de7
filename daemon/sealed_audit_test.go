package daemon_test

// End-to-end tests of the two promises of sealing and the audit chain,
// through a real broker (the embedded mochi and Mosquitto): a post (its
// ledger, outbox and agent over Badger) and HQ (its publisher and
// server over Badger) wired as the daemon wires them, and a spy with full
// rights on the broker subscribed to everything.

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/daemon/ledger/ledgertest"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/agent"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
	"github.com/watchpost/watchpost/sync/replica"
	"github.com/watchpost/watchpost/sync/transport"
)

const wait = 20 * time.Second

// The traveller and the officers' words that must never cross the broker
// readable.
var (
	secretTraveller = engine.Query{
		Surname: "ZZTESTOVA", GivenNames: "QUILLANE", BirthDate: "1971-03-14",
		Nationality: "UTO", Sex: "F", DocumentNumber: "X9Q7W3K1", DocumentCountry: "UTO",
	}
	secretNote = "sent to secondary: QUILLANE travels with a second passport"
	secrets    = []string{"ZZTESTOVA", "QUILLANE", "1971-03-14", "X9Q7W3K1", "secondary", "officer-anna", "officer-omar"}
)

func mqttOpts(url, id string) mqtt.Options {
	return mqtt.Options{
		Brokers: []string{url}, ClientID: id,
		KeepAlive: 5 * time.Second, PingTimeout: 2 * time.Second, ConnectTimeout: 2 * time.Second,
		WriteTimeout: 5 * time.Second, ConnectRetryInterval: 100 * time.Millisecond, MaxReconnectInterval: 200 * time.Millisecond,
	}
}

func storeAt(t *testing.T, dir string) *badgerstore.Store {
	t.Helper()
	return storetest.Open(t, dir)
}

func startClient(t *testing.T, c *mqtt.Client) {
	t.Helper()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, wait, "connected", func() error {
		if !c.Connected() {
			return fmt.Errorf("not connected")
		}
		return nil
	})
}

func closeMQTT(c *mqtt.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// hqRig is HQ's receiving side and publisher with one signing key.
type hqRig struct {
	store  *badgerstore.Store
	signer *protocol.Signer
	pub    *publish.Publisher
	srv    *hqserver.Server
	stop   func()
}

func startHQRig(t *testing.T, url string, store *badgerstore.Store, signer *protocol.Signer) *hqRig {
	t.Helper()
	dir := t.TempDir()
	cli, err := mqtt.New(mqttOpts(url, "watchpost-hq-serve"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publish.New(publish.Config{Store: store, Signer: signer, Transport: cli,
		DeltaDir: filepath.Join(dir, "deltas"), SnapshotDir: filepath.Join(dir, "snapshots")})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := hqserver.New(hqserver.Config{Store: store, Transport: cli, Publisher: pub})
	if err != nil {
		t.Fatal(err)
	}
	startClient(t, cli)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	var once sync.Once
	h := &hqRig{store: store, signer: signer, pub: pub, srv: srv}
	h.stop = func() { once.Do(func() { cancel(); <-done; closeMQTT(cli) }) }
	t.Cleanup(h.stop)
	return h
}

// postRig is a post's ledger, outbox and agent.
type postRig struct {
	name  string
	store *badgerstore.Store
	led   *ledger.Ledger
	keys  *protocol.KeySet
	agent *agent.Agent
}

func startPostRig(t *testing.T, url, name string, hqKey *protocol.Signer) *postRig {
	t.Helper()
	ctx := context.Background()
	p := &postRig{name: name, store: storeAt(t, t.TempDir())}
	ob, err := outbox.Open(ctx, p.store, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.led, err = ledger.Open(ctx, p.store, ob, ledger.Options{Post: name}); err != nil {
		t.Fatal(err)
	}
	if p.keys, err = protocol.NewKeySet(protocol.TrustedKey{Public: hqKey.Public()}); err != nil {
		t.Fatal(err)
	}
	app, err := replica.New(replica.FromBadger(p.store), replica.Config{Keys: p.keys, Lists: []string{"un"}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := protocol.PostClientID(name)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := mqtt.New(mqttOpts(url, id))
	if err != nil {
		t.Fatal(err)
	}
	p.agent, err = agent.New(agent.Config{
		Post: name, Transport: cli, Applier: app, Keys: p.keys, Outbox: ob,
		AuditKey: protocol.FormatPublicKey(p.led.AuditKey()),
		PublisherOptions: outbox.PublisherOptions{AckTimeout: 2 * time.Second,
			BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond},
		StatusInterval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.agent.Subscribe(); err != nil {
		t.Fatal(err)
	}
	startClient(t, cli)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = p.agent.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done; closeMQTT(cli) })
	return p
}

func (p *postRig) waitSealKey(t *testing.T, id protocol.KeyID) {
	t.Helper()
	testkit.CheckFor(t, wait, p.name+" to seal to "+id.String(), func() error {
		if got := p.agent.Status().SealKey; got != id.String() {
			return fmt.Errorf("seals to %q", got)
		}
		return nil
	})
}

// spy subscribes to everything with full rights and keeps every payload.
type spy struct {
	mu   sync.Mutex
	msgs []transport.Message
}

func startSpy(t *testing.T, url string) *spy {
	t.Helper()
	s := &spy{}
	cli, err := mqtt.New(mqttOpts(url, "spy"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Subscribe("#", func(m transport.Message) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.msgs = append(s.msgs, m)
	}); err != nil {
		t.Fatal(err)
	}
	startClient(t, cli)
	t.Cleanup(func() { closeMQTT(cli) })
	return s
}

// onTopic counts the payloads seen on topic.
func (s *spy) onTopic(topic string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.msgs {
		if m.Topic == topic {
			n++
		}
	}
	return n
}

// leaks returns every payload that shows one of the secrets.
func (s *spy) leaks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.msgs {
		for _, sec := range secrets {
			if bytes.Contains(bytes.ToLower(m.Payload), bytes.ToLower([]byte(sec))) {
				out = append(out, fmt.Sprintf("%s shows %q", m.Topic, sec))
			}
		}
	}
	return out
}

func hitOf(t *testing.T, srv *hqserver.Server, post, id string) (hqserver.Record, error) {
	t.Helper()
	recs, err := srv.Hits(context.Background(), hqserver.HitFilter{Post: post, Kind: "hit"})
	if err != nil {
		return hqserver.Record{}, err
	}
	for _, r := range recs {
		if r.ID == id {
			return r, nil
		}
	}
	return hqserver.Record{}, fmt.Errorf("hit %s not at HQ", id)
}

func auditOf(srv *hqserver.Server, post string) (*hqserver.AuditState, error) {
	posts, err := srv.Posts(context.Background())
	if err != nil {
		return nil, err
	}
	for _, p := range posts {
		if p.Post == post && p.Audit != nil {
			return p.Audit, nil
		}
	}
	return nil, fmt.Errorf("no audit state of %s", post)
}

func TestSealedHitsAndAuditMochi(t *testing.T) { testSealedHitsAndAudit(t, brokertest.StartMochi(t)) }
func TestSealedHitsAndAuditMosquitto(t *testing.T) {
	testSealedHitsAndAudit(t, mosquittoURL(t))
}

func mosquittoURL(t *testing.T) string {
	t.Helper()
	var conf []string
	if os.Geteuid() == 0 {
		conf = append(conf, "user root")
	}
	return brokertest.StartMosquitto(t, conf...).URL()
}

func testSealedHitsAndAudit(t *testing.T, url string) {
	ctx := context.Background()
	sp := startSpy(t, url)
	signer, err := protocol.GenerateSigner(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hq := startHQRig(t, url, storeAt(t, t.TempDir()), signer)
	p := startPostRig(t, url, "post-1", signer)
	p.waitSealKey(t, signer.ID())

	// A hit, then two decisions: the second supersedes the first.
	rec, err := p.led.Record(ctx, ledger.Screening{Source: ledger.SourceAPI, Ref: "XY123", Actor: "desk-2",
		Traveller: secretTraveller, Hits: []engine.Hit{{List: "un", ListVersion: 3, EntryID: "QDi.001", Score: 0.97, Band: engine.BandMatch, MatchedName: "ZZTESTOVA QUILLANE"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.led.Record(ctx, ledger.Screening{Source: ledger.SourceAPI, Actor: "desk-2", Traveller: secretTraveller}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []ledger.Disposition{
		{Decision: protocol.DispositionReferred, Officer: "officer-anna", Note: secretNote},
		{Decision: protocol.DispositionConfirmed, Officer: "officer-omar"},
	} {
		if _, err := p.led.Dispose(ctx, rec.HitID, d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.led.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	head, _ := p.led.ChainHead()

	// HQ stores the hit opened, with both decisions in order, and the
	// chain verified to its head.
	var hit hqserver.Record
	testkit.CheckFor(t, wait, "the hit and both decisions at HQ", func() error {
		var err error
		if hit, err = hitOf(t, hq.srv, "post-1", rec.HitID); err != nil {
			return err
		}
		if len(hit.Decisions) != 2 {
			return fmt.Errorf("%d decisions", len(hit.Decisions))
		}
		return nil
	})
	if hit.Decisions[0].Decision != protocol.DispositionReferred || hit.Decisions[1].Decision != protocol.DispositionConfirmed ||
		hit.Decisions[0].Note != secretNote || hit.Decisions[1].Officer != "officer-omar" {
		t.Errorf("decisions at HQ = %+v", hit.Decisions)
	}
	if !bytes.Contains(hit.Payload, []byte("ZZTESTOVA")) || !bytes.Contains(hit.Payload, []byte("X9Q7W3K1")) || hit.SealedTo != signer.ID().String() {
		t.Errorf("HQ's stored hit: sealed to %q, payload %s", hit.SealedTo, hit.Payload)
	}
	testkit.CheckFor(t, wait, "the audit chain verified at HQ", func() error {
		a, err := auditOf(hq.srv, "post-1")
		if err != nil {
			return err
		}
		if a.Fault != nil || a.Verified != head || a.Key != protocol.FormatPublicKey(p.led.AuditKey()) {
			return fmt.Errorf("audit state %+v, want verified to %d", a, head)
		}
		return nil
	})

	// The spy saw the hits go by, and nothing readable in them.
	if n := sp.onTopic(protocol.HitsTopic("post-1")); n < 5 { // hit, 2 decisions, audit, status
		t.Fatalf("the spy saw %d records on the hits topic", n)
	}
	if sp.onTopic(protocol.StatusTopic("post-1")) == 0 {
		t.Fatal("the spy saw no status: it does not see everything")
	}
	if leaks := sp.leaks(); len(leaks) > 0 {
		t.Errorf("the broker shows personal data: %v", leaks)
	}
	if c := hq.srv.Counts(); c.Unsealed != 0 || c.Unopened != 0 {
		t.Errorf("counts %+v: a record came in clear or did not open", c)
	}

	// Tampering with the post's store shows at the post and at HQ, at the
	// entry changed. Each on a post of its own (HQ keeps a post's first
	// fault).
	for _, c := range []struct {
		name string
		kind string
		do   func(t *testing.T, p *postRig, seq uint64)
	}{
		{"delete", protocol.FaultMissing, func(t *testing.T, p *postRig, seq uint64) {
			k := entryKeyOf(t, p, seq)
			tamperStore(t, p, func(tx *badgerstore.RecordsTxn) error { return tx.Delete(k) })
		}},
		{"edit", protocol.FaultEdited, func(t *testing.T, p *postRig, seq uint64) {
			k := entryKeyOf(t, p, seq)
			tamperStore(t, p, func(tx *badgerstore.RecordsTxn) error {
				v, err := tx.Get(k)
				if err != nil {
					return err
				}
				return tx.Set(k, bytes.Replace(v, []byte("officer-anna"), []byte("officer-bob"), 1))
			})
		}},
		{"reorder", protocol.FaultOutOfOrder, func(t *testing.T, p *postRig, seq uint64) {
			a, b := entryKeyOf(t, p, seq), entryKeyOf(t, p, seq+1)
			ledgertest.Swap(t, p.store.Records(ledger.Namespace), a, b)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := "post-" + c.name
			p := startPostRig(t, url, name, signer)
			p.waitSealKey(t, signer.ID())
			hitRec := p.recordHit(t, "QDi.002")
			if _, err := p.led.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			// Entries 3 and 4: a decision and a non-hit, not yet sent.
			if _, err := p.led.Dispose(ctx, hitRec.HitID, ledger.Disposition{Decision: protocol.DispositionFalsePositive, Officer: "officer-anna"}); err != nil {
				t.Fatal(err)
			}
			if _, err := p.led.Record(ctx, ledger.Screening{Source: ledger.SourceAPI, Actor: "desk-1", Traveller: secretTraveller}); err != nil {
				t.Fatal(err)
			}
			const bad = 3
			c.do(t, p, bad)
			rep, err := p.led.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Faults) == 0 || rep.Faults[0].Seq != bad || rep.Faults[0].Kind != c.kind {
				t.Fatalf("post's verify: %v, want entry %d (%s)", rep.Faults, bad, c.kind)
			}
			if _, err := p.led.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			testkit.CheckFor(t, wait, "HQ to flag entry 3", func() error {
				a, err := auditOf(hq.srv, name)
				if err != nil {
					return err
				}
				if a.Fault == nil {
					return fmt.Errorf("no fault yet: %+v", a)
				}
				if a.Fault.Seq != bad || a.Fault.Kind != c.kind {
					t.Fatalf("HQ's first fault: %v, want entry %d (%s)", a.Fault, bad, c.kind)
				}
				return nil
			})
			posts, err := hq.srv.Posts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(posts, func(x hqserver.Post) bool { return x.Post == name })
			if want := fmt.Sprintf("%s@%d", c.kind, bad); i < 0 || posts[i].AuditFlag != want {
				t.Errorf("fleet row %+v, want audit flag %s", posts[i], want)
			}
			hqRep, err := hq.srv.VerifyAudit(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if hqRep.State.Fault == nil || hqRep.State.Fault.Seq != bad {
				t.Errorf("HQ's audit verify: %+v", hqRep)
			}
		})
	}
}

// recordHit records, through the post's ledger, a screening of the secret
// traveller that hit the UN list's entry id.
func (p *postRig) recordHit(t *testing.T, id string) ledger.Recorded {
	t.Helper()
	rec, err := p.led.Record(context.Background(), ledger.Screening{Source: ledger.SourceAPI, Actor: "desk-1", Traveller: secretTraveller,
		Hits: []engine.Hit{{List: "un", EntryID: id, Score: 0.9, Band: engine.BandMatch}}})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// entryKeyOf finds the key of the post's audit entry seq (a/ or s/ rows).
func entryKeyOf(t *testing.T, p *postRig, seq uint64) []byte {
	t.Helper()
	return ledgertest.EntryKey(t, p.store.Records(ledger.Namespace), seq, "a/", "s/")
}

func tamperStore(t *testing.T, p *postRig, fn func(tx *badgerstore.RecordsTxn) error) {
	t.Helper()
	ledgertest.Tamper(t, p.store.Records(ledger.Namespace), fn)
}

func TestSealKeyRotationOverlapMochi(t *testing.T) {
	testSealKeyRotationOverlap(t, brokertest.StartMochi(t))
}
func TestSealKeyRotationOverlapMosquitto(t *testing.T) {
	testSealKeyRotationOverlap(t, mosquittoURL(t))
}

// testSealKeyRotationOverlap: a hit sealed to the old key that reaches HQ
// only after HQ switched to the new one is still opened, and the post
// seals to the new key once HQ announces it.
func testSealKeyRotationOverlap(t *testing.T, url string) {
	ctx := context.Background()
	old, err := protocol.GenerateSigner(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	next, err := protocol.GenerateSigner(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hqStore := storeAt(t, t.TempDir())
	hq := startHQRig(t, url, hqStore, old)
	p := startPostRig(t, url, "post-r", old)
	p.waitSealKey(t, old.ID())
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := hq.pub.AnnounceKey(ctx, next.Public(), now, now.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, wait, "the post to trust the next key", func() error {
		if !slices.Contains(p.agent.Status().Keys, next.ID().String()) {
			return fmt.Errorf("keys %v", p.agent.Status().Keys)
		}
		return nil
	})
	// HQ goes down to switch keys; meanwhile the post seals a hit to the
	// old key, and the broker keeps it in HQ's session.
	hq.stop()
	sent := p.agent.Publisher().Stats().Published
	hitOld := p.recordHit(t, "QDi.003")
	testkit.CheckFor(t, wait, "the hit sealed to the old key to reach the broker", func() error {
		if p.agent.Publisher().Stats().Published <= sent {
			return fmt.Errorf("not published")
		}
		return nil
	})
	hq2 := startHQRig(t, url, hqStore, next)
	p.waitSealKey(t, next.ID())
	hitNew := p.recordHit(t, "QDi.004")
	for _, c := range []struct {
		id  string
		key protocol.KeyID
	}{{hitOld.HitID, old.ID()}, {hitNew.HitID, next.ID()}} {
		testkit.CheckFor(t, wait, "hit "+c.id+" at HQ", func() error {
			r, err := hitOf(t, hq2.srv, "post-r", c.id)
			if err != nil {
				return err
			}
			if r.SealedTo != c.key.String() || !bytes.Contains(r.Payload, []byte("ZZTESTOVA")) {
				t.Fatalf("hit %s sealed to %s, want %s; payload %s", c.id, r.SealedTo, c.key, r.Payload)
			}
			return nil
		})
	}
	if c := hq2.srv.Counts(); c.Unopened != 0 {
		t.Errorf("%d records did not open", c.Unopened)
	}
}
