package badgerstore

import (
	"context"
	"errors"
	"testing"

	"github.com/watchpost/watchpost/engine"
)

// TestEntry: one entry is read at the list's current version; a deleted
// entry, an unknown id, list or a documents list say so.
func TestEntry(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mk := func(id, name string) engine.Entry {
		return engine.Entry{ID: id, Kind: engine.KindPerson, Names: []engine.Name{{Value: name, Kind: engine.NamePrimary}}}
	}
	info, err := s.ReplaceEntries(ctx, ListMeta{Name: "un", Format: "test"}, func(emit func(*engine.Entry) error) error {
		for _, e := range []engine.Entry{mk("A.1", "ONE"), mk("A.10", "TEN"), mk("B.2", "TWO")} {
			if err := emit(&e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if e, in, err := s.Entry("un", "A.1"); err != nil || e.PrimaryName() != "ONE" || in.Version != info.Version {
		t.Fatalf("A.1: %+v %+v %v", e, in, err)
	}
	if _, err := s.UpdateEntries(ctx, "un", info.Version, []engine.Entry{mk("A.1", "ONE RENAMED")}, []string{"B.2"}); err != nil {
		t.Fatal(err)
	}
	if e, _, err := s.Entry("un", "A.1"); err != nil || e.PrimaryName() != "ONE RENAMED" {
		t.Errorf("A.1 after the update: %+v %v", e, err)
	}
	if e, _, err := s.Entry("un", "A.10"); err != nil || e.PrimaryName() != "TEN" {
		t.Errorf("A.10 (an id with A.1 as prefix): %+v %v", e, err)
	}
	for _, c := range []struct {
		list, id string
		want     error
	}{{"un", "B.2", ErrNoEntry}, {"un", "C.3", ErrNoEntry}, {"ofac", "A.1", ErrNoList}} {
		if _, _, err := s.Entry(c.list, c.id); !errors.Is(err, c.want) {
			t.Errorf("Entry(%s, %s): %v, want %v", c.list, c.id, err, c.want)
		}
	}
	if _, err := s.ReplaceDocuments(ctx, ListMeta{Name: "sltd", Format: "test"}, func(emit func(*engine.Document) error) error {
		return emit(&engine.Document{Number: "X1", Country: "FRA", Type: "P"})
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Entry("sltd", "P/X1/FRA"); !errors.Is(err, ErrWrongKind) {
		t.Errorf("a documents list: %v, want ErrWrongKind", err)
	}
}
