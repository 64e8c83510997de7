package badgerstore

import (
	"context"
	"reflect"
	"testing"

	"github.com/watchpost/watchpost/engine"
)

// TestOnEntriesUpdated: the hook receives each committed UpdateEntries
// with the list's new version, and nothing for an update refused.
func TestOnEntriesUpdated(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	if _, err := s.ReplaceEntries(ctx, ListMeta{Name: "un", Format: "test"}, entrySrc(makeEntries(0, 5, "a"))); err != nil {
		t.Fatal(err)
	}
	var got []EntriesUpdate
	s.OnEntriesUpdated(func(u EntriesUpdate) { got = append(got, u) })
	ups := makeEntries(5, 6, "a")
	info, err := s.UpdateEntries(ctx, "un", 1, ups, []string{makeEntry(0, "a").ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateEntries(ctx, "un", 1, nil, []string{makeEntry(1, "a").ID}); err == nil {
		t.Fatal("an update from a version the list left behind was accepted")
	}
	want := []EntriesUpdate{{FromVersion: 1, Info: info, Upserts: ups, Deletes: []string{makeEntry(0, "a").ID}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("hook got %+v, want %+v", got, want)
	}
	if info.Version != 2 || info.Kind != engine.ListNames {
		t.Fatalf("new version %+v", info)
	}
	s.OnEntriesUpdated(nil)
	if _, err := s.UpdateEntries(ctx, "un", 2, nil, []string{makeEntry(1, "a").ID}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("hook called after removal: %d calls", len(got))
	}
}
