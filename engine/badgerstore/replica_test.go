package badgerstore

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// TestReplicaState checks that the sync layer's state is stored with the
// version it belongs to: by a replace, by an update (or kept when the
// update gives none), by SetReplica only at the version it names, and
// across a reopen.
func TestReplicaState(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openT(t, dir)
	st1 := json.RawMessage(`{"epoch":1,"version":1}`)
	info, err := s.ReplaceEntries(ctx, ListMeta{Name: "un", Replica: st1}, entrySrc(makeEntries(0, 10, "a")))
	if err != nil {
		t.Fatal(err)
	}
	if string(info.Replica) != string(st1) {
		t.Fatalf("after replace: replica %s", info.Replica)
	}
	// An update without a state keeps the previous one.
	info, err = s.UpdateEntries(ctx, "un", 1, makeEntries(10, 11, "a"), nil)
	if err != nil || string(info.Replica) != string(st1) {
		t.Fatalf("update without state: %s, %v", info.Replica, err)
	}
	st3 := json.RawMessage(`{"epoch":1,"version":3}`)
	if _, err := s.UpdateEntries(ctx, "un", 2, nil, []string{makeEntry(0, "a").ID}, WithReplica(st3)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReplica(ctx, "un", 2, json.RawMessage(`{"stale":true}`)); !errors.Is(err, ErrVersionMismatch) {
		t.Fatalf("SetReplica at an old version: %v", err)
	}
	if err := s.SetReplica(ctx, "nosuch", 1, st3); !errors.Is(err, ErrNoList) {
		t.Fatalf("SetReplica of a missing list: %v", err)
	}
	st3b := json.RawMessage(`{"epoch":1,"version":3,"head":"2026-11-27T00:00:00Z"}`)
	if err := s.SetReplica(ctx, "un", 3, st3b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	info, err = s.List("un")
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != 3 || info.Entries != 10 || string(info.Replica) != string(st3b) {
		t.Fatalf("after reopen: version %d, entries %d, replica %s", info.Version, info.Entries, info.Replica)
	}
	if err := s.Verify(ctx, "un"); err != nil {
		t.Fatal(err)
	}
}
