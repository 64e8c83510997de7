package agent

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/replica"
	"github.com/watchpost/watchpost/sync/transport"
)

// sealRig is a post (store, outbox, agent over sync/mqtt) on a real
// embedded broker, and HQ's client on it.
type sealRig struct {
	url    string
	dir    string
	signer *protocol.Signer
	keys   *protocol.KeySet
	seal   *protocol.SealPrivateKey
	hq     *mqtt.Client

	mu   sync.Mutex        // guards seal (HQ's current key) and hits
	hits []protocol.Record // opened
}

func newSealRig(t *testing.T) *sealRig {
	t.Helper()
	r := &sealRig{url: brokertest.StartMochi(t), dir: t.TempDir()}
	var err error
	if r.signer, err = protocol.GenerateSigner(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if r.keys, err = protocol.NewKeySet(protocol.TrustedKey{Public: r.signer.Public()}); err != nil {
		t.Fatal(err)
	}
	if r.seal, err = protocol.GenerateSealKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	r.hq = r.client(t, "watchpost-hq")
	if err := r.hq.Subscribe(protocol.HitsTopic("p1"), func(m transport.Message) {
		rec, err := protocol.DecodeRecord(m.Payload)
		if err == nil && rec.Kind == protocol.RecordHit {
			rec, err = protocol.OpenRecord("p1", rec, func(protocol.KeyID) (*protocol.SealPrivateKey, bool) { return r.sealKey(), true })
		}
		if err != nil {
			t.Errorf("HQ: %v", err)
			return
		}
		r.mu.Lock()
		r.hits = append(r.hits, rec)
		r.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	r.start(t, r.hq)
	return r
}

func (r *sealRig) sealKey() *protocol.SealPrivateKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seal
}

func (r *sealRig) client(t *testing.T, id string) *mqtt.Client {
	t.Helper()
	c, err := mqtt.New(mqtt.Options{Brokers: []string{r.url}, ClientID: id, ConnectRetryInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func (r *sealRig) start(t *testing.T, c *mqtt.Client) {
	t.Helper()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, "connected", testkit.True(c.Connected))
}

// announce publishes HQ's seal-key statement retained, or with stmt nil
// clears the retained one (a broker that lost it).
func (r *sealRig) announce(t *testing.T, stmt []byte) {
	t.Helper()
	if err := r.hq.Publish(context.Background(), protocol.SealKeyTopic(r.signer.ID()), stmt, true); err != nil {
		t.Fatal(err)
	}
}

func (r *sealRig) statement(t *testing.T, issued time.Time) []byte {
	t.Helper()
	stmt, err := protocol.SealSealKey(r.signer, &protocol.SealKeyStatement{Public: r.seal.Public(), IssuedAt: issued.UTC().Truncate(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return stmt
}

// post is one run of the post process: its store opened from dir, an
// outbox with a hit put in it, and its agent running on a fresh client.
type post struct {
	store  *badgerstore.Store
	ob     *outbox.Outbox
	agent  *Agent
	client *mqtt.Client
	stop   func()
}

func (r *sealRig) startPost(t *testing.T, keys *protocol.KeySet) *post {
	t.Helper()
	p := &post{store: storetest.Open(t, filepath.Join(r.dir, "store"))}
	var err error
	if p.ob, err = outbox.Open(context.Background(), p.store, outbox.Options{}); err != nil {
		t.Fatal(err)
	}
	app, err := replica.New(replica.FromBadger(p.store), replica.Config{Keys: keys, Lists: []string{"un"}})
	if err != nil {
		t.Fatal(err)
	}
	p.client = r.client(t, "watchpost-post-p1")
	if p.agent, err = New(Config{Post: "p1", Transport: p.client, Applier: app, Keys: keys, Outbox: p.ob, Store: p.store}); err != nil {
		t.Fatal(err)
	}
	if err := p.agent.Subscribe(); err != nil {
		t.Fatal(err)
	}
	r.start(t, p.client)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.agent.Run(ctx) }()
	p.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		p.client.Close(context.Background())
		p.store.Close()
	}
	return p
}

func (r *sealRig) hit(t *testing.T, p *post) string {
	t.Helper()
	rec, err := p.ob.Put(context.Background(), outbox.Record{Kind: protocol.RecordHit, Payload: []byte(`{"list":"un","entry_id":"QDi.001","score":0.97}`)})
	if err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

func (r *sealRig) received(id string) func() bool {
	return func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, h := range r.hits {
			if h.ID == id {
				return h.Sealed != nil
			}
		}
		return false
	}
}

// TestSealKeyKeptAcrossRestart: a post that accepted HQ's encryption key
// seals with it after a restart at once, although the broker no longer
// holds the retained statement and HQ has not announced it again.
func TestSealKeyKeptAcrossRestart(t *testing.T) {
	r := newSealRig(t)
	r.announce(t, r.statement(t, time.Now()))
	p := r.startPost(t, r.keys)
	id := r.hit(t, p)
	testkit.CheckFor(t, 10*time.Second, "the first run's hit at HQ, sealed", testkit.True(r.received(id)))
	p.stop()

	r.announce(t, nil) // the broker lost it
	p = r.startPost(t, r.keys)
	defer p.stop()
	if p.agent.Status().SealKey != r.signer.ID().String() {
		t.Errorf("after the restart the status names seal key %q, want %s", p.agent.Status().SealKey, r.signer.ID())
	}
	id = r.hit(t, p)
	testkit.CheckFor(t, 10*time.Second, "the restarted post's hit at HQ, sealed", testkit.True(r.received(id)))
}

// TestKeptSealKeyReverified: a kept statement is checked again at start:
// one whose signing key is no longer trusted is dropped (from the store
// too), and hits wait for a statement HQ announces.
func TestKeptSealKeyReverified(t *testing.T) {
	r := newSealRig(t)
	r.announce(t, r.statement(t, time.Now()))
	p := r.startPost(t, r.keys)
	testkit.CheckFor(t, 10*time.Second, "the key accepted", func() error {
		if p.agent.Status().SealKey == "" {
			return testErr("not yet")
		}
		return nil
	})
	p.stop()
	r.announce(t, nil)

	other, err := protocol.GenerateSigner(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	untrusting, err := protocol.NewKeySet(protocol.TrustedKey{Public: other.Public()})
	if err != nil {
		t.Fatal(err)
	}
	p = r.startPost(t, untrusting)
	if got := p.agent.Status().SealKey; got != "" {
		t.Errorf("a statement of an untrusted key was loaded: seal key %q", got)
	}
	n := 0
	if err := p.store.Records(bootNamespace).View(context.Background(), func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate([]byte(sealKeyPrefix), func(_, _ []byte) error { n++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d kept statements after loading with other keys, want the untrusted one dropped", n)
	}
	p.stop()
}

// TestNewerSealKeyReplacesKept: a newer statement of the same signing key
// replaces the kept one, and the next start seals to its key.
func TestNewerSealKeyReplacesKept(t *testing.T) {
	r := newSealRig(t)
	first := time.Now().Add(-time.Hour)
	r.announce(t, r.statement(t, first))
	p := r.startPost(t, r.keys)
	testkit.CheckFor(t, 10*time.Second, "the first key accepted", func() error {
		if p.agent.Status().SealKey == "" {
			return testErr("not yet")
		}
		return nil
	})
	newer, err := protocol.GenerateSealKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.seal = newer
	r.mu.Unlock()
	r.announce(t, r.statement(t, time.Now()))
	stored := func() error {
		var b []byte
		err := p.store.Records(bootNamespace).View(context.Background(), func(tx *badgerstore.RecordsTxn) (err error) {
			b, err = tx.Get(sealStoreKey(r.signer.ID()))
			return err
		})
		if err != nil {
			return err
		}
		pl, _, err := r.keys.Open(b, protocol.KindSealKey, time.Now())
		if err != nil {
			return err
		}
		st, err := protocol.DecodeSealKey(pl)
		if err != nil {
			return err
		}
		if string(st.Public) != string(newer.Public()) {
			return testErr("not yet")
		}
		return nil
	}
	testkit.CheckFor(t, 10*time.Second, "the newer statement kept", stored)
	p.stop()
	r.announce(t, nil)
	p = r.startPost(t, r.keys)
	defer p.stop()
	id := r.hit(t, p)
	// HQ opens with the newer key only: the hit arrives only if sealed to it.
	testkit.CheckFor(t, 10*time.Second, "the hit sealed to the newer key", testkit.True(r.received(id)))
}
