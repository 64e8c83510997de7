package outbox_test

import (
	"crypto/rand"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/transport"
)

// keySealer seals to key once it is set, and knows no key before.
type keySealer struct {
	mu  sync.Mutex
	pub []byte
}

func (s *keySealer) Seal(r protocol.Record) (protocol.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub == nil {
		return protocol.Record{}, protocol.ErrNoSealKey
	}
	return protocol.SealRecord(testPost, r, protocol.KeyID{1}, s.pub)
}

// TestSealedKindsWaitForAKey: without an HQ encryption key, hits and
// decisions stay in the outbox and never go in clear, while status goes;
// once the key comes (Wake), they go sealed.
func TestSealedKindsWaitForAKey(t *testing.T) {
	b := fake.NewBroker()
	var mu sync.Mutex
	var got []protocol.Record
	hq := connect(t, b, "hq")
	if err := hq.Subscribe(protocol.HitsTopic(testPost), func(m transport.Message) {
		r, err := protocol.DecodeRecord(m.Payload)
		if err != nil {
			t.Errorf("bad record: %v", err)
			return
		}
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	received := func() []protocol.Record {
		mu.Lock()
		defer mu.Unlock()
		return append([]protocol.Record(nil), got...)
	}
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{})
	hit := put(t, ob, protocol.RecordHit, string(hitPayload(1)))
	dec := put(t, ob, protocol.RecordDisposition, `{"hit_id":"x","decision":"confirmed"}`)
	status := put(t, ob, protocol.RecordStatus, `{"post":"post-1"}`)
	s := &keySealer{}
	r := startPublisher(t, ob, connect(t, b, testPost), outbox.PublisherOptions{Sealer: s})
	testkit.CheckFor(t, waitLong, "the status to go", testkit.True(func() bool { return len(received()) >= 1 }), testkit.Every(time.Millisecond))
	for _, x := range received() {
		if x.ID != status.ID || x.Sealed != nil {
			t.Fatalf("before a key HQ got %s (%s, sealed %v)", x.ID, x.Kind, x.Sealed != nil)
		}
	}
	priv, err := protocol.GenerateSealKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.pub = priv.Public()
	s.mu.Unlock()
	r.p.Wake()
	testkit.CheckFor(t, waitLong, "the hit and the decision to go", testkit.True(func() bool { return len(received()) >= 3 }), testkit.Every(time.Millisecond))
	recs := received()
	// Both go once the key is there. Records in one window are published
	// side by side, so their arrival order is not the outbox's order.
	if got := []string{recs[1].ID, recs[2].ID}; !slices.Contains(got, hit.ID) || !slices.Contains(got, dec.ID) {
		t.Fatalf("after the key HQ got %v; want the hit %s and the decision %s", got, hit.ID, dec.ID)
	}
	for _, x := range recs[1:] {
		if x.Sealed == nil || x.Payload != nil {
			t.Fatalf("%s went in clear", x.ID)
		}
		opened, err := protocol.OpenRecord(testPost, x, func(protocol.KeyID) (*protocol.SealPrivateKey, bool) { return priv, true })
		if err != nil {
			t.Fatal(err)
		}
		if x.ID == hit.ID && string(opened.Payload) != string(hitPayload(1)) {
			t.Errorf("opened hit %s", opened.Payload)
		}
	}
}
