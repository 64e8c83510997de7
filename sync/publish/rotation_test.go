package publish

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/protocol"
)

// keyRig is a publisher over a real store and the fake broker whose
// clock the test moves.
type keyRig struct {
	st     *badgerstore.Store
	pub    *Publisher
	signer *protocol.Signer
	broker *fake.Broker
	tr     *fake.Client
	clock  *clocktest.Clock
}

// newSigner returns a fresh signing key.
func newSigner(t *testing.T) *protocol.Signer {
	t.Helper()
	s, err := protocol.GenerateSigner(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newKeyRig(t *testing.T) *keyRig {
	t.Helper()
	dir := t.TempDir()
	st := storetest.Open(t, filepath.Join(dir, "store"))
	r := &keyRig{st: st, broker: fake.NewBroker(), clock: clocktest.NewAt(t0)}
	r.signer = newSigner(t)
	var err error
	if r.tr, err = r.broker.Connect(fake.Options{ClientID: "hq"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.tr.Close(context.Background()) })
	r.pub, err = New(Config{Store: st, Signer: r.signer, Transport: r.tr,
		DeltaDir: filepath.Join(dir, "deltas"), SnapshotDir: filepath.Join(dir, "snapshots"), Clock: r.clock})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAnnounceKey: the retained statement is accepted by a post's key set
// for exactly the announced window, recorded in HQ's store, published
// again as it was, and re-published by RepublishHeads after the broker
// lost it, until its window ends.
func TestAnnounceKey(t *testing.T) {
	r := newKeyRig(t)
	ctx := context.Background()
	next := newSigner(t)
	nb, na := t0.Add(time.Hour), t0.Add(90*24*time.Hour)
	res, err := r.pub.AnnounceKey(ctx, next.Public(), nb, na)
	if err != nil {
		t.Fatal(err)
	}
	if res.KeyID != next.ID() || res.SignerID != r.signer.ID() || !res.NotBefore.Equal(nb) || !res.NotAfter.Equal(na) ||
		!res.IssuedAt.Equal(t0) || res.Topic != protocol.KeyTopic(next.ID()) || res.Republished || res.Bytes == 0 {
		t.Fatalf("result %+v", res)
	}
	msg, ok := r.broker.Retained(protocol.KeyTopic(next.ID()))
	if !ok || len(msg) != res.Bytes {
		t.Fatalf("retained statement: %v, %d bytes", ok, len(msg))
	}
	// A post trusting HQ's current key accepts it.
	keys, err := protocol.NewKeySet(protocol.TrustedKey{Public: r.signer.Public()})
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.AcceptRotation(msg, t0)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID() != next.ID() || !k.NotBefore.Equal(nb) || !k.NotAfter.Equal(na) {
		t.Fatalf("accepted %+v", k)
	}
	if _, err := keys.AcceptRotation(msg, t0); !errors.Is(err, protocol.ErrDuplicate) {
		t.Fatalf("second accept: %v", err)
	}
	// Recorded.
	rots, err := Rotations(ctx, r.st)
	if err != nil || len(rots) != 1 || rots[0].KeyID != next.ID() || rots[0].SignerID != r.signer.ID() {
		t.Fatalf("rotations %+v, %v", rots, err)
	}

	// The same announcement again: the stored statement, unchanged.
	r.clock.Advance(time.Minute)
	again, err := r.pub.AnnounceKey(ctx, next.Public(), nb, na)
	if err != nil || !again.Republished || !again.IssuedAt.Equal(t0) {
		t.Fatalf("announce again: %+v, %v", again, err)
	}
	// Other dates: refused, the retained statement is untouched.
	if _, err := r.pub.AnnounceKey(ctx, next.Public(), nb, na.Add(time.Hour)); !errors.Is(err, ErrBadRotation) {
		t.Fatalf("other dates: %v", err)
	}

	// The broker loses its retained messages; the head run puts it back.
	r.broker.Restart()
	waitConnected(t, r.tr)
	if _, ok := r.broker.Retained(protocol.KeyTopic(next.ID())); ok {
		t.Fatal("the restarted broker kept the statement")
	}
	if _, err := r.pub.RepublishHeads(ctx); err != nil {
		t.Fatal(err)
	}
	if b, ok := r.broker.Retained(protocol.KeyTopic(next.ID())); !ok || string(b) != string(msg) {
		t.Fatalf("statement after RepublishHeads: %v", ok)
	}

	// Once the window has ended, it is no longer published.
	r.broker.Restart()
	waitConnected(t, r.tr)
	r.clock.Advance(90 * 24 * time.Hour)
	if _, err := r.pub.RepublishHeads(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.broker.Retained(protocol.KeyTopic(next.ID())); ok {
		t.Fatal("an expired statement was published again")
	}
}

func waitConnected(t *testing.T, c *fake.Client) {
	t.Helper()
	testkit.CheckFor(t, 5*time.Second, "reconnected", testkit.True(c.Connected), testkit.Every(5*time.Millisecond))
}

// TestAnnounceKeyRefused: nothing is published or recorded for a request
// that posts would refuse or that makes no sense.
func TestAnnounceKeyRefused(t *testing.T) {
	r := newKeyRig(t)
	ctx := context.Background()
	next := newSigner(t)
	for _, c := range []struct {
		name   string
		pub    []byte
		nb, na time.Time
	}{
		{"own key", r.signer.Public(), t0, t0.Add(time.Hour)},
		{"short key", next.Public()[:31], t0, t0.Add(time.Hour)},
		{"no not-after", next.Public(), t0, time.Time{}},
		{"not-after before not-before", next.Public(), t0.Add(2 * time.Hour), t0.Add(time.Hour)},
		{"empty window", next.Public(), t0.Add(time.Hour), t0.Add(time.Hour)},
		{"ended", next.Public(), t0.Add(-2 * time.Hour), t0.Add(-time.Hour)},
		{"ends now", next.Public(), time.Time{}, t0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := r.pub.AnnounceKey(ctx, c.pub, c.nb, c.na); !errors.Is(err, ErrBadRotation) {
				t.Fatalf("err = %v, want ErrBadRotation", err)
			}
		})
	}
	if _, ok := r.broker.Retained(protocol.KeyTopic(next.ID())); ok {
		t.Fatal("a refused rotation was published")
	}
	if rots, err := Rotations(ctx, r.st); err != nil || len(rots) != 0 {
		t.Fatalf("rotations %+v, %v", rots, err)
	}
	// A zero not-before is now.
	res, err := r.pub.AnnounceKey(ctx, next.Public(), time.Time{}, t0.Add(time.Hour))
	if err != nil || !res.NotBefore.Equal(t0) {
		t.Fatalf("default not-before: %+v, %v", res, err)
	}
	// Broker down: an error, nothing recorded.
	third := newSigner(t)
	r.broker.Down()
	if _, err := r.pub.AnnounceKey(ctx, third.Public(), time.Time{}, t0.Add(time.Hour)); err == nil || errors.Is(err, ErrBadRotation) {
		t.Fatalf("broker down: %v", err)
	}
	r.broker.Up()
	if rots, err := Rotations(ctx, r.st); err != nil || len(rots) != 1 {
		t.Fatalf("rotations after a failed publish %+v, %v", rots, err)
	}
}
