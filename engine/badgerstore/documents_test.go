package badgerstore

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/watchpost/watchpost/engine"
)

func TestUpdateDocuments(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	ed1 := []engine.Document{
		{Type: "P", Number: "A1", Country: "FRA", Note: "reported 2026-01-02"},
		{Type: "P", Number: "B2", Country: "FRA"},
		{Type: "P", Number: "B2", Country: "DEU"},
		{Type: "P", Number: "C3", Country: "ITA"},
	}
	if _, err := s.ReplaceDocuments(ctx, ListMeta{Name: "sltd"}, docsSrc(ed1)); err != nil {
		t.Fatal(err)
	}
	// The delta: C3 goes (its index row with it), one B2 goes (the other
	// keeps the index row), A1 gets a new note, D4 comes; the second D4
	// upsert wins.
	upserts := []engine.Document{
		{Type: "P", Number: "a-1", Country: "fra", Note: "reported 2026-02-03"},
		{Type: "P", Number: "D4", Country: "ESP", Note: "first"},
		{Type: "P", Number: "D4", Country: "ESP", Note: "lost"},
	}
	deletes := []engine.Document{{Type: "P", Number: "C3", Country: "ITA"}, {Type: "P", Number: "B 2", Country: "FRA"}}
	info, err := s.UpdateDocuments(ctx, "sltd", 1, upserts, deletes)
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Document{
		{Type: "P", Number: "a-1", Country: "fra", Note: "reported 2026-02-03"},
		{Type: "P", Number: "B2", Country: "DEU"},
		{Type: "P", Number: "D4", Country: "ESP", Note: "lost"},
	}
	var got []engine.Document
	read, err := s.Documents(ctx, "sltd", func(d *engine.Document) error { got = append(got, *d); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Documents = %+v, want %+v", got, want)
	}
	var h engine.SetHash
	for i := range want {
		h.Add(engine.MarshalDocument(&want[i]))
	}
	if info.Version != 2 || info.Entries != 3 || info.Hash != h.String() || read.Hash != info.Hash {
		t.Errorf("info = version %d, %d rows, hash %s; want 2, 3, %s", info.Version, info.Entries, info.Hash, h)
	}
	if err := s.Verify(ctx, "sltd"); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if got, want := indexKeys(t, s.db, "sltd"), []string{"A1", "B2", "D4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("index = %q, want %q", got, want)
	}
	if got, want := lookupNumbers(t, s, "A1", "B2", "C3", "D4"), []string{"sltd:B2/DEU", "sltd:D4/ESP", "sltd:a-1/fra"}; !reflect.DeepEqual(got, want) {
		t.Errorf("lookups = %q, want %q", got, want)
	}
	checkCompact(t, s, "sltd", 2, 3)

	// A delta that does not fit changes nothing.
	for name, tc := range map[string]struct {
		from    uint64
		up, del []engine.Document
		want    error
	}{
		"absent":       {from: 2, del: []engine.Document{{Type: "P", Number: "C3", Country: "ITA"}}},
		"both":         {from: 2, up: []engine.Document{{Type: "P", Number: "E5"}}, del: []engine.Document{{Type: "P", Number: "E5"}}},
		"no number":    {from: 2, up: []engine.Document{{Type: "P", Number: "--"}}},
		"old version":  {from: 1, up: []engine.Document{{Type: "P", Number: "E5"}}, want: ErrVersionMismatch},
		"missing list": {from: 2, want: ErrNoList},
	} {
		list := "sltd"
		if name == "missing list" {
			list = "nope"
		}
		_, err := s.UpdateDocuments(ctx, list, tc.from, tc.up, tc.del)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
	if _, err := s.UpdateEntries(ctx, "sltd", 2, nil, []string{"x"}); !errors.Is(err, ErrWrongKind) {
		t.Errorf("UpdateEntries on a documents list: %v, want ErrWrongKind", err)
	}
	if after, err := s.List("sltd"); err != nil || after.Version != 2 || after.Hash != info.Hash {
		t.Errorf("after refused deltas: %+v, %v; want version 2 unchanged", after, err)
	}
	checkCompact(t, s, "sltd", 2, 3)
}
