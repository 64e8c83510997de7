// Package replicatest is the contract suite every replica.Store
// implementation runs (replica.FromBadger today). Its one job is to pin
// down, with the same tests for every implementation, what the applier
// relies on: versions, atomic replacement, version-checked writes, the
// replication state kept with each version, and the error classes.
package replicatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/sync/replica"
)

// Run runs the contract suite; open returns an empty store for one test.
func Run(t *testing.T, open func(t *testing.T) replica.Store) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, replica.Store)
	}{
		{"MissingList", testMissing},
		{"ReplaceCreatesAndReplaces", testReplace},
		{"FailedReplaceChangesNothing", testFailedReplace},
		{"UpdateAtVersion", testUpdate},
		{"UpdateAtOtherVersionChangesNothing", testUpdateMismatch},
		{"SetReplicaAtVersion", testSetReplica},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func person(id, name string) engine.Entry {
	return engine.Entry{ID: id, Kind: engine.KindPerson, Names: []engine.Name{{Value: name, Kind: engine.NamePrimary}}}
}

func state(v string) json.RawMessage { return json.RawMessage(`{"v":"` + v + `"}`) }

func replace(t *testing.T, s replica.Store, name string, st json.RawMessage, entries ...engine.Entry) engine.ListInfo {
	t.Helper()
	info, err := s.ReplaceEntries(context.Background(), replica.ListMeta{Name: name, Source: "test", Format: "test", Replica: st},
		func(emit func(*engine.Entry) error) error {
			for i := range entries {
				if err := emit(&entries[i]); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		t.Fatalf("ReplaceEntries %s: %v", name, err)
	}
	return info
}

// same fails unless the store's current list is want, replication state
// included, and its rows still hash to it.
func same(t *testing.T, s replica.Store, want engine.ListInfo) {
	t.Helper()
	got, err := s.List(want.Name)
	if err != nil {
		t.Fatalf("List %s: %v", want.Name, err)
	}
	if got.Version != want.Version || got.Hash != want.Hash || got.Entries != want.Entries || string(got.Replica) != string(want.Replica) {
		t.Fatalf("list %s is %+v, want %+v", want.Name, got, want)
	}
	if err := s.Verify(context.Background(), want.Name); err != nil {
		t.Fatalf("Verify %s: %v", want.Name, err)
	}
}

func testMissing(t *testing.T, s replica.Store) {
	ctx := context.Background()
	if _, err := s.List("absent"); !errors.Is(err, replica.ErrNoList) {
		t.Errorf("List of an absent list: %v, want ErrNoList", err)
	}
	if _, err := s.UpdateEntries(ctx, "absent", 1, []engine.Entry{person("a", "A B")}, nil, state("1")); !errors.Is(err, replica.ErrNoList) {
		t.Errorf("UpdateEntries of an absent list: %v, want ErrNoList", err)
	}
	if err := s.SetReplica(ctx, "absent", 1, state("1")); !errors.Is(err, replica.ErrNoList) {
		t.Errorf("SetReplica of an absent list: %v, want ErrNoList", err)
	}
}

func testReplace(t *testing.T, s replica.Store) {
	first := replace(t, s, "un", state("1"), person("a", "Anna Berg"), person("b", "Bo Carl"))
	if first.Version != 1 || first.Entries != 2 || string(first.Replica) != string(state("1")) {
		t.Fatalf("new list: %+v", first)
	}
	same(t, s, first)
	second := replace(t, s, "un", state("2"), person("c", "Cy Dane"))
	if second.Version != 2 || second.Entries != 1 || second.Hash == first.Hash || string(second.Replica) != string(state("2")) {
		t.Fatalf("replaced list: %+v after %+v", second, first)
	}
	same(t, s, second)
}

func testFailedReplace(t *testing.T, s replica.Store) {
	before := replace(t, s, "un", state("1"), person("a", "Anna Berg"))
	boom := errors.New("source broke")
	_, err := s.ReplaceEntries(context.Background(), replica.ListMeta{Name: "un", Replica: state("2")}, func(emit func(*engine.Entry) error) error {
		for i := range 100 {
			e := person(fmt.Sprint("x", i), "Xavier Young")
			if err := emit(&e); err != nil {
				return err
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("ReplaceEntries with a failing source: %v, want its error", err)
	}
	same(t, s, before)
}

func testUpdate(t *testing.T, s replica.Store) {
	before := replace(t, s, "un", state("1"), person("a", "Anna Berg"), person("b", "Bo Carl"))
	after, err := s.UpdateEntries(context.Background(), "un", before.Version, []engine.Entry{person("c", "Cy Dane"), person("a", "Anna Berg Lund")}, []string{"b"}, state("2"))
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version+1 || after.Entries != 2 || after.Hash == before.Hash || string(after.Replica) != string(state("2")) {
		t.Fatalf("updated list %+v after %+v", after, before)
	}
	same(t, s, after)
	// The same rows written as a whole edition hash the same: the hash is
	// of the rows, not of the way they were written.
	whole := replace(t, s, "copy", nil, person("a", "Anna Berg Lund"), person("c", "Cy Dane"))
	if whole.Hash != after.Hash {
		t.Fatalf("hash after update %s, of the same rows replaced %s", after.Hash, whole.Hash)
	}
}

func testUpdateMismatch(t *testing.T, s replica.Store) {
	before := replace(t, s, "un", state("1"), person("a", "Anna Berg"))
	ctx := context.Background()
	if _, err := s.UpdateEntries(ctx, "un", before.Version+1, []engine.Entry{person("c", "Cy Dane")}, nil, state("2")); !errors.Is(err, replica.ErrVersionMismatch) {
		t.Fatalf("UpdateEntries at another version: %v, want ErrVersionMismatch", err)
	}
	same(t, s, before)
	if err := s.SetReplica(ctx, "un", before.Version+1, state("2")); !errors.Is(err, replica.ErrVersionMismatch) {
		t.Fatalf("SetReplica at another version: %v, want ErrVersionMismatch", err)
	}
	same(t, s, before)
}

func testSetReplica(t *testing.T, s replica.Store) {
	before := replace(t, s, "un", state("1"), person("a", "Anna Berg"))
	if err := s.SetReplica(context.Background(), "un", before.Version, state("head")); err != nil {
		t.Fatal(err)
	}
	want := before
	want.Replica = state("head")
	same(t, s, want)
}
