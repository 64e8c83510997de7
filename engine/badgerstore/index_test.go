package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/watchpost/watchpost/engine"
)

func docsSrc(docs []engine.Document) func(func(*engine.Document) error) error { return source(docs) }

// indexKeys returns the document keys indexed for list.
func indexKeys(t testing.TB, db *badger.DB, list string) []string {
	t.Helper()
	var out []string
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: indexRows(list)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			out = append(out, string(it.Item().Key()[len(indexRows(list)):]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// replaceIndexed replaces list with docs and checks that the index then
// holds exactly the numbers want.
func replaceIndexed(t testing.TB, s *Store, list string, docs []engine.Document, want ...string) {
	t.Helper()
	if _, err := s.ReplaceDocuments(context.Background(), ListMeta{Name: list}, docsSrc(docs)); err != nil {
		t.Fatal(err)
	}
	if got := indexKeys(t, s.db, list); !reflect.DeepEqual(got, want) {
		t.Errorf("index of %s after an edition = %q, want %q", list, got, want)
	}
}

func lookupNumbers(t testing.TB, s *Store, numbers ...string) []string {
	t.Helper()
	var found []string
	for _, n := range numbers {
		hits, err := s.LookupDocument(n, "")
		if err != nil {
			t.Fatalf("LookupDocument(%q): %v", n, err)
		}
		for _, h := range hits {
			found = append(found, h.List+":"+h.Document.Number+"/"+h.Document.Country)
		}
	}
	sort.Strings(found)
	return found
}

func TestDocumentIndexFollowsEditions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openT(t, dir)
	ed1 := []engine.Document{
		{Type: "P", Number: "A1", Country: "FRA"},
		{Type: "P", Number: "B2", Country: "FRA"},
		{Type: "P", Number: "B2", Country: "DEU"},
		{Type: "P", Number: "C3", Country: "ITA"},
	}
	replaceIndexed(t, s, "sltd", ed1, "A1", "B2", "C3")
	// Edition 2 drops C3 and one of the two B2 rows, adds D4.
	ed2 := []engine.Document{
		{Type: "P", Number: "A1", Country: "FRA"},
		{Type: "P", Number: "B2", Country: "DEU"},
		{Type: "P", Number: "D4", Country: "ESP"},
	}
	replaceIndexed(t, s, "sltd", ed2, "A1", "B2", "D4")
	want := []string{"sltd:A1/FRA", "sltd:B2/DEU", "sltd:D4/ESP"}
	if got := lookupNumbers(t, s, "A1", "B2", "C3", "D4", "E5"); !reflect.DeepEqual(got, want) {
		t.Errorf("lookups = %q, want %q", got, want)
	}
	checkCompact(t, s, "sltd", 2, 3)
	if err := s.Verify(ctx, "sltd"); err != nil {
		t.Errorf("Verify: %v", err)
	}
	// An edition larger than the seal remembers goes through the
	// collection scan, which reconciles the index the same way.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{GarbageKeys: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	big := make([]engine.Document, 0, 100)
	for i := 0; i < 100; i++ {
		big = append(big, makeDoc(i))
	}
	if _, err := s.ReplaceDocuments(ctx, ListMeta{Name: "sltd"}, docsSrc(big)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplaceDocuments(ctx, ListMeta{Name: "sltd"}, docsSrc(ed2)); err != nil {
		t.Fatal(err)
	}
	if got, want := indexKeys(t, s.db, "sltd"), []string{"A1", "B2", "D4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("index after a large edition and back = %d keys, want %q", len(got), want)
	}
	if err := s.DeleteList(ctx, "sltd"); err != nil {
		t.Fatal(err)
	}
	if got := indexKeys(t, s.db, "sltd"); len(got) != 0 {
		t.Errorf("index after DeleteList = %q", got)
	}
	if got := lookupNumbers(t, s, "A1", "B2"); len(got) != 0 {
		t.Errorf("lookups after DeleteList = %q", got)
	}
}

func TestDocumentIndexRepairAndVerify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openT(t, dir)
	docs := []engine.Document{{Type: "P", Number: "A1", Country: "FRA"}, {Type: "P", Number: "B2", Country: "DEU"}}
	if _, err := s.ReplaceDocuments(ctx, ListMeta{Name: "sltd"}, docsSrc(docs)); err != nil {
		t.Fatal(err)
	}
	// A lost index row: Verify must see it (LookupDocument would miss B2).
	// A stale one (no row under it) is harmless and not reported.
	err := s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(indexKeyAppend(nil, "sltd", []byte("B2"))); err != nil {
			return err
		}
		return txn.Set(indexKeyAppend(nil, "sltd", []byte("ZZ9")), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(ctx, "sltd"); !errors.Is(err, engine.ErrCorruptRecord) {
		t.Errorf("Verify with a lost index row: %v, want ErrCorruptRecord", err)
	}
	if got := lookupNumbers(t, s, "ZZ9"); len(got) != 0 {
		t.Errorf("stale index row gave hits %q", got)
	}
	// A repair (here: an interrupted write found at Open) reconciles both.
	if err := s.mark("sltd", 2); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openT(t, dir)
	if got, want := indexKeys(t, s.db, "sltd"), []string{"A1", "B2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("index after repair = %q, want %q", got, want)
	}
	if err := s.Verify(ctx, "sltd"); err != nil {
		t.Errorf("Verify after repair: %v", err)
	}
}

func TestMigrateDocIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openT(t, dir)
	docs := []engine.Document{{Type: "P", Number: "A1", Country: "FRA"}, {Type: "I", Number: "A1", Country: "DEU"}, {Type: "P", Number: "B2", Country: "DEU"}}
	if _, err := s.ReplaceDocuments(ctx, ListMeta{Name: "sltd"}, docsSrc(docs)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplaceEntries(ctx, ListMeta{Name: "un"}, entrySrc(makeEntries(0, 3, "A"))); err != nil {
		t.Fatal(err)
	}
	// Make it a schema 1 store: no index rows. Add rows a crashed write
	// staged (version 2, number C3) and leave the list dirty.
	err := s.db.Update(func(txn *badger.Txn) error {
		for _, k := range []string{"A1", "B2"} {
			if err := txn.Delete(indexKeyAppend(nil, "sltd", []byte(k))); err != nil {
				return err
			}
		}
		d := engine.Document{Type: "P", Number: "C3", Country: "ITA"}
		if err := txn.Set(appendVersion(docGroupAppend(nil, "sltd", "C3", "ITA", "P"), 2), engine.MarshalDocument(&d)); err != nil {
			return err
		}
		return txn.Set([]byte(schemaKey), []byte("1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.mark("sltd", 2); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openT(t, dir)
	if v, _, _ := readSchema(s.db); v != 2 {
		t.Errorf("schema = %d, want 2", v)
	}
	if got, want := indexKeys(t, s.db, "sltd"), []string{"A1", "B2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("index after migration and repair = %q, want %q", got, want)
	}
	if got := lookupNumbers(t, s, "A1", "B2", "C3"); len(got) != 3 {
		t.Errorf("lookups after migration = %q", got)
	}
	if err := s.Verify(ctx, "sltd"); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// TestLookupDuringReplace checks that a lookup sees exactly one version of
// a list while it is replaced and collected concurrently: edition A holds
// numbers 0-599, edition B 300-899, each row noting its edition.
func TestLookupDuringReplace(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	edition := func(tag string, from, to int) []engine.Document {
		var out []engine.Document
		for i := from; i < to; i++ {
			out = append(out, engine.Document{Type: "P", Number: fmt.Sprintf("N%05d", i), Country: "FRA", Note: tag})
		}
		return out
	}
	eds := [2][]engine.Document{edition("A", 0, 600), edition("B", 300, 900)}
	if _, err := s.ReplaceDocuments(ctx, ListMeta{Name: "sltd"}, docsSrc(eds[0])); err != nil {
		t.Fatal(err)
	}
	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		lookups atomic.Int64
		fail    = make(chan string, 1)
	)
	report := func(f string, a ...any) {
		select {
		case fail <- fmt.Sprintf(f, a...):
		default:
		}
		stop.Store(true)
	}
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for i := r; !stop.Load(); i += 7 {
				n := i % 900
				hits, err := s.LookupDocument(fmt.Sprintf("N%05d", n), "")
				if err != nil {
					report("LookupDocument: %v", err)
					return
				}
				lookups.Add(1)
				if len(hits) > 1 {
					report("number %d: %d hits", n, len(hits))
					return
				}
				if len(hits) == 0 {
					if n >= 300 && n < 600 {
						report("number %d, in both editions, not found", n)
						return
					}
					continue
				}
				h := hits[0]
				want := "A"
				if h.ListVersion%2 == 0 {
					want = "B"
				}
				inA, inB := n < 600, n >= 300
				if h.Document.Note != want || (want == "A" && !inA) || (want == "B" && !inB) {
					report("number %d: hit %+v at version %d mixes editions", n, h.Document, h.ListVersion)
					return
				}
			}
		}(r)
	}
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	for v := 2; v <= rounds+1 && !stop.Load(); v++ {
		if _, err := s.ReplaceDocuments(ctx, ListMeta{Name: "sltd"}, docsSrc(eds[(v-1)%2])); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	select {
	case m := <-fail:
		t.Fatal(m)
	default:
	}
	t.Logf("%d lookups during %d replaces", lookups.Load(), rounds)
}
