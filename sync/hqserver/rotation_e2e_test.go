package hqserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/agent"
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
	"github.com/watchpost/watchpost/sync/replica"
	"github.com/watchpost/watchpost/sync/transport"
)

// TestKeyRotationEndToEnd: HQ announces its next key through POST
// /v1/keys; a post's agent (sync/agent over the fake broker) accepts the
// retained statement, persists its key set and reports the new key id in
// its status, which the fleet table shows; a publisher restarted with the
// new key over the same HQ store then publishes a delta and a head signed
// with it, and the post applies them. A post that never got the statement
// cannot verify them.
func TestKeyRotationEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	broker := fake.NewBroker()
	hqCli, err := broker.Connect(fake.Options{ClientID: "watchpost-hq-serve"})
	if err != nil {
		t.Fatal(err)
	}
	hqStore := openStore(t, filepath.Join(dir, "hq"))
	oldKey, err := publish.Keygen(filepath.Join(dir, "old"))
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := publish.Keygen(filepath.Join(dir, "new"))
	if err != nil {
		t.Fatal(err)
	}
	pubCfg := publish.Config{Store: hqStore, Signer: oldKey, Transport: hqCli,
		DeltaDir: filepath.Join(dir, "deltas"), SnapshotDir: filepath.Join(dir, "snapshots"), SnapshotBaseURL: protocol.SnapshotsURL("https://hq.example")}
	oldPub, err := publish.New(pubCfg)
	if err != nil {
		t.Fatal(err)
	}
	ed := publish.Edition{List: "un", Source: "test", Format: "synth"}
	if _, err := oldPub.PublishEntries(ctx, ed, persons(3)); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Store: hqStore, Transport: hqCli, Publisher: oldPub})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	// The post: trusts the old key, holds version 1 from the snapshot.
	keys, err := protocol.NewKeySet(protocol.TrustedKey{Public: oldKey.Public()})
	if err != nil {
		t.Fatal(err)
	}
	postStore := openStore(t, filepath.Join(dir, "post"))
	app, err := replica.New(replica.FromBadger(postStore), replica.Config{Keys: keys, Lists: []string{"un"}})
	if err != nil {
		t.Fatal(err)
	}
	headMsg, ok := broker.Retained(protocol.HeadTopic("un"))
	if !ok {
		t.Fatal("no retained head")
	}
	head, _, err := keys.OpenHead(headMsg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.HandleHead(ctx, headMsg); err != nil {
		t.Fatal(err)
	}
	if _, err := app.InstallSnapshot(ctx, *head, filepath.Join(dir, "snapshots", protocol.SnapshotFileName("un", 1, 1))); err != nil {
		t.Fatal(err)
	}
	postCli, err := broker.Connect(fake.Options{ClientID: "watchpost-post-p1"})
	if err != nil {
		t.Fatal(err)
	}
	var savedMu sync.Mutex
	var saved string
	ag, err := agent.New(agent.Config{Post: "p1", Boot: 1, Software: "test", Transport: postCli, Applier: app, Keys: keys,
		OnKeysChanged: func(ks *protocol.KeySet) error {
			savedMu.Lock()
			defer savedMu.Unlock()
			saved = ks.Format()
			return nil
		},
		StatusInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Subscribe(); err != nil {
		t.Fatal(err)
	}
	agCtx, agCancel := context.WithCancel(ctx)
	agDone := make(chan error, 1)
	go func() { agDone <- ag.Run(agCtx) }()
	defer func() { agCancel(); <-agDone }()

	fleetKeys := func() []string {
		posts, err := srv.Posts(ctx)
		if err != nil || len(posts) != 1 {
			t.Fatalf("posts %+v, %v", posts, err)
		}
		return posts[0].Keys
	}
	testkit.CheckFor(t, 10*time.Second, "post's first status", func() error {
		if posts, _ := srv.Posts(ctx); len(posts) != 1 || len(posts[0].Keys) != 1 {
			return errors.New("no status yet")
		}
		return nil
	})
	if k := fleetKeys(); k[0] != oldKey.ID().String() {
		t.Fatalf("fleet keys %v", k)
	}

	// HQ announces the new key.
	body := fmt.Sprintf(`{"public_key":%q,"not_after":%q}`, protocol.FormatPublicKey(newKey.Public()),
		time.Now().Add(365*24*time.Hour).UTC().Format(time.RFC3339))
	resp, err := http.Post(ts.URL+protocol.PathKeys, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d", protocol.PathKeys, resp.StatusCode)
	}
	testkit.CheckFor(t, 10*time.Second, "the post trusts the new key and reports it", func() error {
		if _, ok := keys.Lookup(newKey.ID()); !ok {
			return errors.New("not trusted yet")
		}
		if k := fleetKeys(); !slices.Contains(k, newKey.ID().String()) {
			return fmt.Errorf("fleet keys %v", k)
		}
		return nil
	})
	savedMu.Lock()
	if !strings.Contains(saved, protocol.FormatPublicKey(newKey.Public())) {
		t.Errorf("persisted key set:\n%s", saved)
	}
	savedMu.Unlock()

	// HQ restarts its publisher with the new key, over the same store.
	var deltaMu sync.Mutex
	var deltaSigner protocol.KeyID
	rec, err := broker.Connect(fake.Options{ClientID: "recorder"})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Subscribe(protocol.DeltaTopic("un"), func(m transport.Message) {
		if env, err := protocol.DecodeEnvelope(m.Payload); err == nil {
			deltaMu.Lock()
			deltaSigner = env.KeyID
			deltaMu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	pubCfg.Signer = newKey
	newPub, err := publish.New(pubCfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := newPub.PublishEntries(ctx, ed, persons(5))
	if err != nil || res.Version != 2 || res.DeltaBytes == 0 {
		t.Fatalf("publish with the new key: %+v, %v", res, err)
	}
	testkit.CheckFor(t, 10*time.Second, "the post applies version 2", func() error {
		st, err := app.Status("un")
		if err != nil {
			return err
		}
		if st.Version != 2 || st.Entries != 5 {
			return fmt.Errorf("post at version %d, %d entries", st.Version, st.Entries)
		}
		return nil
	})
	deltaMu.Lock()
	if deltaSigner != newKey.ID() {
		t.Errorf("delta signed by %s, want the new key %s", deltaSigner, newKey.ID())
	}
	deltaMu.Unlock()
	if c := ag.Counters(); c.Rejected != 0 {
		t.Errorf("the post rejected %d messages", c.Rejected)
	}
	// A post that never got the statement cannot verify the new head.
	headMsg, _ = broker.Retained(protocol.HeadTopic("un"))
	oldOnly, err := protocol.NewKeySet(protocol.TrustedKey{Public: oldKey.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := oldOnly.OpenHead(headMsg, time.Now()); !errors.Is(err, protocol.ErrUnknownKey) {
		t.Fatalf("head signed by the new key, opened with the old key only: %v", err)
	}
	// The rotation, signed by the old key, is still re-published by the
	// new publisher's head run (posts that were offline get it).
	if _, err := newPub.RepublishHeads(ctx); err != nil {
		t.Fatal(err)
	}
	if msg, ok := broker.Retained(protocol.KeyTopic(newKey.ID())); !ok {
		t.Fatal("no retained rotation")
	} else if env, err := protocol.DecodeEnvelope(msg); err != nil || env.KeyID != oldKey.ID() {
		t.Fatalf("retained rotation: %v, %v", env, err)
	}
}
