package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/match"
)

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportAndScreenNamesAndDocuments(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenWith(t, t.TempDir(), badgerstore.Options{})
	names := write(t, "national.csv", "id,name,birth_dates,nationalities,documents\nN-1,Ivan Petrovich SIDOROV,1970-03-01,RUS,P:7001234:RUS\nN-2,Maria KOWALSKA,1981,POL,\n")
	if _, err := ImportList(ctx, st, badgerstore.ListMeta{Name: "national", Format: "csv", Action: "notify HQ"}, names); err != nil {
		t.Fatal(err)
	}
	docs := write(t, "sltd.csv", "number,country,type\nAB1234567,FRA,P\nXY7654321,DEU,I\n")
	if _, err := ImportList(ctx, st, badgerstore.ListMeta{Name: "sltd", Format: "docs-csv", Action: "seize document"}, docs); err != nil {
		t.Fatal(err)
	}
	s, err := LoadScreener(ctx, st, match.Config{})
	if err != nil {
		t.Fatal(err)
	}
	hits, err := s.Screen(&engine.Query{Name: "Ivan Sidorov", BirthDate: "1970-03-01"})
	if err != nil || len(hits) != 1 || hits[0].EntryID != "N-1" || hits[0].Action != "notify HQ" || hits[0].Band != engine.BandMatch {
		t.Fatalf("name hit: %+v, %v", hits, err)
	}
	hits, err = s.Screen(&engine.Query{Name: "Jean Dupont", DocumentNumber: "AB 1234567", DocumentCountry: "FRA"})
	if err != nil || len(hits) != 1 || hits[0].List != "sltd" || hits[0].Band != engine.BandMatch || hits[0].Action != "seize document" {
		t.Fatalf("document list hit: %+v, %v", hits, err)
	}
	hits, err = s.Screen(&engine.Query{Name: "Jean Dupont", DocumentNumber: "AB1234567", DocumentCountry: "BEL"})
	if err != nil || len(hits) != 0 {
		t.Fatalf("same number, other issuing state: %+v, %v", hits, err)
	}
}

func TestImportErrors(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenWith(t, t.TempDir(), badgerstore.Options{})
	good := write(t, "n.csv", "id,name\nN-1,Ivan SIDOROV\n")
	if _, err := ImportList(ctx, st, badgerstore.ListMeta{Name: "national", Format: "csv"}, good); err != nil {
		t.Fatal(err)
	}
	bad := write(t, "bad.csv", "id,name\nN-1,Ivan SIDOROV\nN-2,\n")
	if _, err := ImportList(ctx, st, badgerstore.ListMeta{Name: "national", Format: "csv"}, bad); err == nil {
		t.Fatal("import of a row without a name succeeded")
	}
	if _, err := ImportList(ctx, st, badgerstore.ListMeta{Name: "national"}, good); err == nil {
		t.Fatal("import without a format succeeded")
	}
	info, err := st.List("national")
	if err != nil || info.Version != 1 || info.Entries != 1 {
		t.Fatalf("after failed imports: %+v, %v", info, err)
	}
}

func TestLoadEntriesCancelled(t *testing.T) {
	st := storetest.OpenWith(t, t.TempDir(), badgerstore.Options{})
	if _, err := st.ReplaceEntries(context.Background(), badgerstore.ListMeta{Name: "l"}, func(emit func(*engine.Entry) error) error {
		for i := range 5000 {
			e := engine.Entry{ID: string(rune('a'+i%26)) + string(rune('0'+i/26%10)) + string(rune('0'+i/260)), Kind: engine.KindPerson, Names: []engine.Name{{Value: "A B", Kind: engine.NamePrimary}}}
			if err := emit(&e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := loadEntries(ctx, st, "l", func(*engine.Entry) {
		if n++; n == 10 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled load: err %v after %d entries", err, n)
	}
}
