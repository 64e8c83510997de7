package agent

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/replica"
)

type rig struct {
	broker *fake.Broker
	hq     *fake.Client
	store  *badgerstore.Store
	ob     *outbox.Outbox
	clock  *clocktest.Clock
	signer *protocol.Signer
	keys   *protocol.KeySet
	agent  *Agent
	saved  atomic.Int32
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{broker: fake.NewBroker(), clock: clocktest.New()}
	var err error
	if r.signer, err = protocol.GenerateSigner(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if r.keys, err = protocol.NewKeySet(protocol.TrustedKey{Public: r.signer.Public()}); err != nil {
		t.Fatal(err)
	}
	r.store = storetest.Open(t, filepath.Join(t.TempDir(), "store"))
	if r.ob, err = outbox.Open(context.Background(), r.store, outbox.Options{Clock: r.clock}); err != nil {
		t.Fatal(err)
	}
	app, err := replica.New(replica.FromBadger(r.store), replica.Config{Keys: r.keys, Lists: []string{"un"}, Clock: r.clock})
	if err != nil {
		t.Fatal(err)
	}
	if r.hq, err = r.broker.Connect(fake.Options{ClientID: "hq"}); err != nil {
		t.Fatal(err)
	}
	post, err := r.broker.Connect(fake.Options{ClientID: "watchpost-post-p1"})
	if err != nil {
		t.Fatal(err)
	}
	r.agent, err = New(Config{
		Post: "p1", Boot: 7, Software: "test", Transport: post, Applier: app,
		Keys: r.keys, OnKeysChanged: func(*protocol.KeySet) error { r.saved.Add(1); return nil },
		Outbox: r.ob, StatusInterval: time.Minute, Clock: r.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.agent.Subscribe(); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestStatusRecord: the agent's first status record goes to the outbox
// (kind status) and, retained, to the post's status topic; the next one
// comes a StatusInterval later and supersedes it in the outbox.
func TestStatusRecord(t *testing.T) {
	r := newRig(t)
	before := testkit.Goroutines()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.agent.Run(ctx) }()

	var st protocol.PostStatus
	testkit.CheckFor(t, 5*time.Second, "retained status", func() error {
		b, ok := r.broker.Retained(protocol.StatusTopic("p1"))
		if !ok {
			return testErr("no retained status")
		}
		return json.Unmarshal(b, &st)
	})
	// No head has come: the list is there, STALE, at version 0.
	if st.Post != "p1" || st.Boot != 7 || st.Software != "test" || len(st.Lists) != 1 || st.Lists[0].List != "un" || st.Lists[0].Stale == "" || st.Lists[0].Version != 0 {
		t.Errorf("status %+v", st)
	}
	if d := r.ob.Depth(); d.Low != 1 || d.High != 0 {
		t.Errorf("outbox after the first status: %+v, want one low-priority record", d)
	}
	first := r.agent.Counters().Statuses
	r.clock.Advance(time.Minute)
	testkit.CheckFor(t, 5*time.Second, "second status", func() error {
		if r.agent.Counters().Statuses == first {
			return testErr("not yet")
		}
		return nil
	})
	if d := r.ob.Depth(); d.Low != 1 || d.Superseded == 0 {
		t.Errorf("outbox after the second status: %+v, want the first superseded", d)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	testkit.NoLeak(t, before, 5*time.Second)
}

// TestKeyRotation: a rotation signed by the trusted key is accepted and
// persisted; one signed by an unknown key is rejected and counted.
func TestKeyRotation(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	next, err := protocol.GenerateSigner(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := r.clock.Now()
	msg, err := protocol.SealKeyRotation(r.signer, &protocol.KeyRotation{NewKey: next.Public(), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour), IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.hq.Publish(ctx, protocol.KeyTopic(next.ID()), msg, true); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, "rotation accepted", func() error {
		if _, ok := r.keys.Lookup(next.ID()); !ok {
			return testErr("new key not trusted")
		}
		return nil
	})
	if r.saved.Load() != 1 {
		t.Errorf("key set saved %d times, want 1", r.saved.Load())
	}
	if got := r.agent.Status().Keys; len(got) != 2 || !slices.Contains(got, next.ID().String()) || !slices.Contains(got, r.signer.ID().String()) {
		t.Errorf("status keys %v, want both key ids", got)
	}

	rogue, err := protocol.GenerateSigner(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	third, err := protocol.GenerateSigner(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := protocol.SealKeyRotation(rogue, &protocol.KeyRotation{NewKey: third.Public(), NotBefore: now, NotAfter: now.Add(time.Hour), IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.hq.Publish(ctx, protocol.KeyTopic(third.ID()), forged, true); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, "forged rotation rejected", func() error {
		if r.agent.Counters().Rejected != 1 {
			return testErr("not rejected yet")
		}
		return nil
	})
	if _, ok := r.keys.Lookup(third.ID()); ok {
		t.Fatal("a rotation signed by an unknown key was accepted")
	}
}

// TestBootCounter: NextBoot counts up and survives a reopen.
func TestBootCounter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	for want := uint64(1); want <= 3; want++ {
		st, err := badgerstore.Open(dir, badgerstore.Options{MemTableSize: 8 << 20})
		if err != nil {
			t.Fatal(err)
		}
		got, err := NextBoot(context.Background(), st)
		st.Close()
		if err != nil || got != want {
			t.Fatalf("boot %d, %v; want %d", got, err, want)
		}
	}
}

type testErr string

func (e testErr) Error() string { return string(e) }

// TestRoomPausesCatchUp: while the post's disk has no room, the worker
// neither downloads a snapshot nor fetches deltas (the agent has no
// fetcher here: reaching for one would fail differently); the snapshot's
// room is asked for twice its size (the file, then the rows from it).
func TestRoomPausesCatchUp(t *testing.T) {
	r := newRig(t)
	now := r.clock.Now()
	hd := protocol.Head{List: "un", Epoch: 1, Version: 5, Entries: 3, IssuedAt: now, ValidUntil: now.Add(48 * time.Hour),
		SnapshotURL: protocol.SnapshotsURL("https://hq.example") + "/" + protocol.SnapshotFileName("un", 1, 5), SnapshotVersion: 5, SnapshotSize: 1000}
	msg, err := protocol.SealHead(r.signer, &hd)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := r.agent.cfg.Applier.HandleHead(context.Background(), msg); out.Action != replica.NeedSnapshot {
		t.Fatalf("head: %s %v", out.Action, err)
	}
	low := errors.New("not enough free disk space (test)")
	var asked []uint64
	r.agent.cfg.Room = func(extra uint64) error { asked = append(asked, extra); return low }
	err = r.agent.catchUp(context.Background(), "un")
	if !errors.Is(err, low) || !strings.Contains(err.Error(), "replication paused") {
		t.Fatalf("catch-up on a low disk: %v, want it paused", err)
	}
	if err := r.agent.installSnapshot(context.Background(), hd); !errors.Is(err, low) {
		t.Fatalf("snapshot on a low disk: %v, want it paused", err)
	}
	if !slices.Equal(asked, []uint64{0, 2000}) {
		t.Errorf("room asked for %v, want [0 2000]", asked)
	}
	// With room, the same catch-up goes on to the snapshot (and fails
	// for want of a fetcher).
	r.agent.cfg.Room = func(uint64) error { return nil }
	if err := r.agent.catchUp(context.Background(), "un"); err == nil || strings.Contains(err.Error(), "paused") {
		t.Errorf("catch-up with room: %v, want the missing-snapshot error", err)
	}
}
