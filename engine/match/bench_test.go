package match

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/paxlst"
	"github.com/watchpost/watchpost/engine/synth"
)

// listCorpus holds the UN consolidated list and the OFAC SDN 2021-07 set
// as published, gzipped (engine/importer/testdata/PROVENANCE.txt).
const listCorpus = "../importer/testdata/corpus"

// gunzipTo decompresses a checked-in .gz file to path.
func gunzipTo(b testing.TB, gz, path string) {
	b.Helper()
	f, err := os.Open(gz)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// realListScreener indexes the UN consolidated list and OFAC SDN 2021.
func realListScreener(b testing.TB) (*Screener, []engine.Entry) {
	b.Helper()
	dir := b.TempDir()
	un := filepath.Join(dir, "un.xml")
	gunzipTo(b, filepath.Join(listCorpus, "UN_consolidated_2026-02-27.xml.gz"), un)
	ofac := filepath.Join(dir, "ofac")
	if err := os.Mkdir(ofac, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"} {
		gunzipTo(b, filepath.Join(listCorpus, "ofac_sdn_csv_2021-07", name+".gz"), filepath.Join(ofac, name))
	}
	bl := NewBuilder()
	var persons []engine.Entry
	for _, src := range []struct{ name, format, path string }{{"un", "un-xml", un}, {"ofac", "ofac-csv", ofac}} {
		h := bl.AddList(engine.ListInfo{Name: src.name, Version: 1})
		err := importer.ReadPath(src.format, src.path, func(e *engine.Entry) error {
			bl.Add(h, e)
			if e.Kind == engine.KindPerson {
				persons = append(persons, *e)
			}
			return nil
		}, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	return NewScreener(bl.Build(), nil, Config{}), persons
}

func benchScreen(b *testing.B, s *Screener, qs []engine.Query) {
	b.ReportAllocs()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := &qs[i%len(qs)]
		t0 := time.Now()
		if _, err := s.Screen(q); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkScreenUNOFAC screens synthetic travellers (10% derived from
// listed persons) against UN + OFAC SDN 2021 on one goroutine.
func BenchmarkScreenUNOFAC(b *testing.B) {
	s, persons := realListScreener(b)
	benchScreen(b, s, synth.Travellers(7, 20000, persons, 0.1))
}

// BenchmarkScreenSynthetic1M screens against 1,000,000 synthetic persons
// (set WATCHPOST_BENCH_PERSONS to change the size).
func BenchmarkScreenSynthetic1M(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("WATCHPOST_BENCH_PERSONS"); v != "" {
		var err error
		if n, err = parseInt(v); err != nil {
			b.Fatal(err)
		}
	}
	bl := NewBuilder()
	h := bl.AddList(engine.ListInfo{Name: "synthetic", Version: 1})
	var sample []engine.Entry
	i := 0
	if err := synth.Persons(1, n, func(e *engine.Entry) error {
		bl.Add(h, e)
		if i%max(1, n/2000) == 0 {
			sample = append(sample, *e)
		}
		i++
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	s := NewScreener(bl.Build(), nil, Config{})
	benchScreen(b, s, synth.Travellers(11, 20000, sample, 0.1))
}

func parseInt(s string) (int, error) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, os.ErrInvalid
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// BenchmarkScreenPAXLST500 parses a 500-passenger PAXLST message and
// screens every traveller against UN + OFAC SDN 2021 on one goroutine.
func BenchmarkScreenPAXLST500(b *testing.B) {
	s, _ := realListScreener(b)
	var buf bytes.Buffer
	if err := paxlst.Write(&buf, paxlst.Generate(1, 500), paxlst.WriteOptions{LineBreak: "\n"}); err != nil {
		b.Fatal(err)
	}
	msg := buf.Bytes()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ic, err := paxlst.Parse(msg)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, m := range ic.Messages {
			for j := range m.Travellers {
				q := m.Travellers[j].Query()
				if _, err := s.Screen(&q); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		if n != 500 {
			b.Fatalf("screened %d travellers, want 500", n)
		}
	}
}

// BenchmarkScreenLongName screens one traveller whose name is 1 MB of
// listed names run together without a space (as a hostile PAXLST can
// carry) against UN + OFAC SDN 2021: the name is capped, so the time is
// that of a name of the cap's length, not of a megabyte.
func BenchmarkScreenLongName(b *testing.B) {
	s, _ := realListScreener(b)
	q := engine.Query{Name: strings.Repeat("MOHAMMEDALIHASSAN", 1<<20/17+1)[:1<<20]}
	b.SetBytes(int64(len(q.Name)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Screen(&q); err != nil {
			b.Fatal(err)
		}
	}
}

// applyBench is the state BenchmarkApplyDeltaOnePercent carries across
// its runs (the testing package calls it more than once): the base is
// built once, and each delta applies to the newest edition.
var applyBench struct {
	once   sync.Once
	tip    *Index
	live   []string // ids of the listed entries
	pool   []engine.Entry
	next   int // next pool entry
	adds   int
	screen atomic.Pointer[Screener]
}

// BenchmarkApplyDeltaOnePercent measures how long a 1 % delta of a list of
// 1,000,000 synthetic persons (set WATCHPOST_BENCH_PERSONS to change the
// size) takes to become screenable: Apply (a third adds, a third changes,
// a third removes), the swap of the screener, and the first screening on
// the new edition (With: as the post swaps it in), of a person the delta
// added, which must be a hit.
func BenchmarkApplyDeltaOnePercent(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("WATCHPOST_BENCH_PERSONS"); v != "" {
		var err error
		if n, err = parseInt(v); err != nil {
			b.Fatal(err)
		}
	}
	st := &applyBench
	st.once.Do(func() {
		bl := NewBuilder()
		bl.Grow(n)
		h := bl.AddList(engine.ListInfo{Name: "synthetic", Version: 1})
		if err := synth.Persons(1, n, func(e *engine.Entry) error {
			bl.Add(h, e)
			st.live = append(st.live, e.ID)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		st.tip = bl.Build()
		if err := synth.Persons(2, n/10, func(e *engine.Entry) error { st.pool = append(st.pool, *e); return nil }); err != nil {
			b.Fatal(err)
		}
		st.screen.Store(NewScreener(st.tip, nil, Config{}))
	})
	share := n / 100
	r := rand.New(rand.NewPCG(uint64(len(st.live)), 3))
	deltas := make([]*Delta, b.N)
	for i := range deltas {
		info := st.tip.Lists()[0]
		d := &Delta{FromVersion: info.Version + uint64(i)}
		take := func() engine.Entry {
			e := st.pool[st.next%len(st.pool)]
			st.next++
			return e
		}
		for range share / 3 {
			e := take()
			st.adds++
			e.ID = fmt.Sprintf("ADD-%07d", st.adds)
			d.Upserts = append(d.Upserts, e)
		}
		for range share / 3 { // changes and removes: distinct live ids
			k := r.IntN(len(st.live))
			e := take()
			e.ID = st.live[k]
			d.Upserts = append(d.Upserts, e)
			st.live[k] = st.live[len(st.live)-1]
			st.live = st.live[:len(st.live)-1]
		}
		for range share / 3 {
			k := r.IntN(len(st.live))
			d.Deletes = append(d.Deletes, st.live[k])
			st.live[k] = st.live[len(st.live)-1]
			st.live = st.live[:len(st.live)-1]
		}
		for _, e := range d.Upserts {
			st.live = append(st.live, e.ID)
		}
		d.Info = engine.ListInfo{Name: info.Name, Version: d.FromVersion + 1, Entries: len(st.live)}
		deltas[i] = d
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := deltas[i]
		next, err := st.tip.Apply(d)
		if err != nil {
			b.Fatal(err)
		}
		st.tip = next
		st.screen.Store(st.screen.Load().With(next))
		added := d.Upserts[0]
		hits, err := st.screen.Load().Screen(&engine.Query{Name: added.Names[0].Value, DocumentNumber: firstDocument(&added)})
		if err != nil {
			b.Fatal(err)
		}
		if !slices.ContainsFunc(hits, func(h engine.Hit) bool { return h.EntryID == added.ID }) {
			b.Fatalf("the person the delta added (%s) is not found after the swap", added.ID)
		}
	}
	b.StopTimer()
	b.ReportMetric(st.tip.Churn()*100, "churn-%")
}

func firstDocument(e *engine.Entry) string {
	if len(e.Documents) > 0 {
		return e.Documents[0].Number
	}
	return ""
}
