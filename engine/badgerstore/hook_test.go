package badgerstore

import (
	"context"
	"reflect"
	"testing"

	"github.com/watchpost/watchpost/engine"
)

// hookCall is one UpdateEntries as the hook was told of it.
type hookCall struct {
	u                  EntriesUpdate
	info               engine.ListInfo
	decided, committed bool
}

// TestOnEntriesUpdated: the hook is told of each UpdateEntries that
// passes its checks, with the list's new version, and then once of its
// outcome before UpdateEntries returns: committed with the new version,
// or not for an update its reads refuse. An update refused before (from
// a version the list left behind) is not told.
func TestOnEntriesUpdated(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	if _, err := s.ReplaceEntries(ctx, ListMeta{Name: "un", Format: "test"}, entrySrc(makeEntries(0, 5, "a"))); err != nil {
		t.Fatal(err)
	}
	var calls []*hookCall
	s.OnEntriesUpdated(func(u EntriesUpdate) func(engine.ListInfo, bool) {
		c := &hookCall{u: u}
		calls = append(calls, c)
		return func(info engine.ListInfo, committed bool) {
			if c.decided {
				t.Errorf("update from version %d decided twice", u.FromVersion)
			}
			c.info, c.decided, c.committed = info, true, committed
		}
	})
	ups := makeEntries(5, 6, "a")
	dels := []string{makeEntry(0, "a").ID}
	info, err := s.UpdateEntries(ctx, "un", 1, ups, dels)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateEntries(ctx, "un", 1, nil, []string{makeEntry(1, "a").ID}); err == nil {
		t.Fatal("an update from a version the list left behind was accepted")
	}
	if _, err := s.UpdateEntries(ctx, "un", 2, nil, []string{"not-listed"}); err == nil {
		t.Fatal("a delete of an entry the list does not hold was accepted")
	}
	if len(calls) != 2 {
		t.Fatalf("hook told of %d updates, want 2", len(calls))
	}
	first, second := calls[0], calls[1]
	if first.u.FromVersion != 1 || first.u.Info.Name != "un" || first.u.Info.Version != 2 || first.u.Info.Kind != engine.ListNames ||
		!reflect.DeepEqual(first.u.Upserts, ups) || !reflect.DeepEqual(first.u.Deletes, dels) {
		t.Fatalf("hook told %+v", first.u)
	}
	if !first.decided || !first.committed || !reflect.DeepEqual(first.info, info) {
		t.Fatalf("first update decided %v, committed %v with %+v, want %+v", first.decided, first.committed, first.info, info)
	}
	if second.u.FromVersion != 2 || !second.decided || second.committed {
		t.Fatalf("refused update: told %+v, decided %v, committed %v", second.u, second.decided, second.committed)
	}
	if info.Version != 2 || info.Kind != engine.ListNames {
		t.Fatalf("new version %+v", info)
	}
	s.OnEntriesUpdated(nil)
	if _, err := s.UpdateEntries(ctx, "un", 2, nil, []string{makeEntry(1, "a").ID}); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 {
		t.Fatalf("hook called after removal: %d calls", len(calls))
	}
}
