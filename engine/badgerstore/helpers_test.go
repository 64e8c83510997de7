package badgerstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/watchpost/watchpost/engine"
)

func openT(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// makeEntry builds a valid entry whose content depends on tag.
func makeEntry(i int, tag string) engine.Entry {
	return engine.Entry{
		ID:   fmt.Sprintf("id-%06d", i),
		Kind: engine.KindPerson,
		Names: []engine.Name{
			{Value: fmt.Sprintf("PERSON %d %s", i, tag), Kind: engine.NamePrimary},
			{Value: fmt.Sprintf("ALIAS %d", i), Kind: engine.NameAlias, Quality: engine.QualityGood},
		},
		BirthDates:    []engine.BirthDate{{Year: 1950 + i%50, Month: 1 + i%12}},
		Nationalities: []string{"FRA"},
		Documents:     []engine.Document{{Type: "P", Number: fmt.Sprintf("X%07d", i), Country: "FRA"}},
		Programs:      []string{tag},
		Remarks:       "edition " + tag,
	}
}

// makeEntries returns entries ids [from, to) tagged tag.
func makeEntries(from, to int, tag string) []engine.Entry {
	out := make([]engine.Entry, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, makeEntry(i, tag))
	}
	return out
}

// source emits each of items in order: the source a Replace takes.
func source[T any](items []T) func(func(*T) error) error {
	return func(emit func(*T) error) error {
		for i := range items {
			if err := emit(&items[i]); err != nil {
				return err
			}
		}
		return nil
	}
}

func entrySrc(es []engine.Entry) func(func(*engine.Entry) error) error { return source(es) }

// holds checks that list streams exactly the entries want and verifies;
// it returns the ListInfo Entries reports.
func holds(t testing.TB, s *Store, list string, want []engine.Entry) engine.ListInfo {
	t.Helper()
	info, all := readAll(t, s, list)
	if len(all) != len(want) {
		t.Fatalf("%s streams %d entries, want %d", list, len(all), len(want))
	}
	for _, e := range want {
		if !reflect.DeepEqual(all[e.ID], e) {
			t.Fatalf("entry %s = %+v, want %+v", e.ID, all[e.ID], e)
		}
	}
	if err := s.Verify(context.Background(), list); err != nil {
		t.Errorf("Verify %s: %v", list, err)
	}
	return info
}

func entriesHash(es []engine.Entry) string {
	var h engine.SetHash
	for i := range es {
		h.Add(engine.MarshalEntry(&es[i]))
	}
	return h.String()
}

var countries = []string{"FRA", "DEU", "USA", "GBR", "ITA", "ESP", "NLD", "BEL"}

// makeDoc builds document row i of a generated documents list.
func makeDoc(i int) engine.Document {
	d := engine.Document{
		Type:    "P",
		Number:  docNumber(i),
		Country: countries[i%len(countries)],
	}
	if i%3 == 0 {
		d.Note = "stolen"
	}
	return d
}

func docNumber(i int) string {
	return fmt.Sprintf("%c%c%07d", 'A'+i%26, 'A'+(i/26)%26, i)
}

func docSrc(n int) func(func(*engine.Document) error) error {
	return func(emit func(*engine.Document) error) error {
		for i := 0; i < n; i++ {
			d := makeDoc(i)
			if err := emit(&d); err != nil {
				return err
			}
		}
		return nil
	}
}

func readAll(t testing.TB, s *Store, name string) (engine.ListInfo, map[string]engine.Entry) {
	t.Helper()
	got := map[string]engine.Entry{}
	info, err := s.Entries(context.Background(), name, func(e *engine.Entry) error {
		if _, dup := got[e.ID]; dup {
			return fmt.Errorf("entry %q streamed twice", e.ID)
		}
		got[e.ID] = *e
		return nil
	})
	if err != nil {
		t.Fatalf("Entries(%q): %v", name, err)
	}
	return info, got
}

// rawRow is one stored row of a list.
type rawRow struct {
	key, group string
	ver        uint64
	tombstone  bool
}

func rawRows(t testing.TB, db *badger.DB, prefix string) []rawRow {
	t.Helper()
	var out []rawRow
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			g, v, ok := splitRowKey(k)
			if !ok {
				return fmt.Errorf("malformed key %q", k)
			}
			val, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, rawRow{key: string(k), group: string(g), ver: v, tombstone: isTombstone(val)})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan %q: %v", prefix, err)
	}
	return out
}

func countKeys(t testing.TB, db *badger.DB, prefix string) int {
	t.Helper()
	n := 0
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("count %q: %v", prefix, err)
	}
	return n
}

// checkCompact asserts that a list holds exactly one live row per record,
// none above version, and no dirty marker.
func checkCompact(t testing.TB, s *Store, name string, version uint64, records int) {
	t.Helper()
	rows := rawRows(t, s.db, rowsPrefix+name+"/")
	groups := map[string]bool{}
	for _, r := range rows {
		if r.ver > version {
			t.Errorf("row %q of version %d above the current version %d", r.key, r.ver, version)
		}
		if r.tombstone {
			t.Errorf("tombstone %q left after collection", r.key)
		}
		if groups[r.group] {
			t.Errorf("group %q has more than one row", r.group)
		}
		groups[r.group] = true
	}
	if len(rows) != records {
		t.Errorf("list %q: %d rows stored, want %d", name, len(rows), records)
	}
	if n := countKeys(t, s.db, dirtyKeyString(name)); n != 0 {
		t.Errorf("list %q: dirty marker left", name)
	}
}

func dirtyKeyString(name string) string { return string(dirtyKey(name)) }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func dirSize(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n += fi.Size()
		return nil
	})
	if err != nil {
		t.Fatalf("size of %s: %v", dir, err)
	}
	return n
}
