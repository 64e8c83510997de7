package match_test

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/match"
	"github.com/watchpost/watchpost/engine/match/accuracy"
)

// TestAccuracyDevSet screens the checked-in development set (see
// testdata/devset/PROVENANCE.txt) with the default bands and fails if any
// accuracy target, or the regression floor of a target not yet met, is
// missed.
func TestAccuracyDevSet(t *testing.T) {
	set, err := accuracy.ReadDir("testdata/devset")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range accuracy.Sets {
		if len(set.Cases[s]) < 1000 {
			t.Fatalf("set %s has %d cases; the development set is incomplete", s, len(set.Cases[s]))
		}
	}
	r, err := accuracy.Evaluate(set, match.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Match != match.DefaultMatchThreshold || r.Possible != match.DefaultPossibleThreshold {
		t.Fatalf("evaluated at %.2f/%.2f, want the defaults", r.Match, r.Possible)
	}
	var table, sweep strings.Builder
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteSweep(&sweep); err != nil {
		t.Fatal(err)
	}
	t.Logf("development set, %d list entries:\n%s\n%s", len(set.List), table.String(), sweep.String())
	for _, tg := range accuracy.Targets {
		met, holds := r.Met(tg)
		switch {
		case !holds:
			t.Errorf("%s %s: %.4f misses the target %.4f (floor %.4f)", tg.Set, tg.What, r.Figure(tg), tg.Limit, tg.Floor)
		case !met:
			t.Logf("%s %s: %.4f, target %.4f not yet met (regression floor %.4f)", tg.Set, tg.What, r.Figure(tg), tg.Limit, tg.Floor)
		}
	}
	m, p := r.Calibrate()
	t.Logf("thresholds the set suggests: match %.2f, possible %.2f (defaults %.2f, %.2f)", m, p, match.DefaultMatchThreshold, match.DefaultPossibleThreshold)
}

// TestAccuracyCrossScript screens names written in other scripts against
// their Latin spellings: moov-io/watchman's cross-script pairs and
// nomenklatura's 80 spellings of one name (testdata/PROVENANCE.txt). The
// floors are a little under the figures measured; scripts the normaliser
// does not transliterate (CJK, Thai, Khmer) cannot be found, and a
// one-word name (Αλέξανδρος for ALEXANDER) is kept under the possible band
// on purpose, as a single given name alone is no reason to stop anyone.
func TestAccuracyCrossScript(t *testing.T) {
	f, err := os.Open("testdata/watchman_cross_script_pairs.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	var queries, targets []string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(rec) < 2 || rec[0] == "Query" {
			continue
		}
		queries = append(queries, rec[0])
		targets = append(targets, rec[1])
	}
	b := match.NewBuilder()
	h := b.AddList(engine.ListInfo{Name: "x"})
	for i, tg := range targets {
		e := engine.Entry{ID: fmt.Sprint(i), Kind: engine.KindPerson, Names: []engine.Name{{Value: tg, Kind: engine.NamePrimary}}}
		b.Add(h, &e)
	}
	putin := engine.Entry{ID: "putin", Kind: engine.KindPerson, Names: []engine.Name{{Value: "Vladimir Vladimirovich PUTIN", Kind: engine.NamePrimary}}}
	b.Add(h, &putin)
	s := match.NewScreener(b.Build(), nil, match.Config{IncludeEntities: true})
	found := 0
	var missed []string
	for i, q := range queries {
		hits, err := s.Screen(&engine.Query{Name: q})
		if err == nil && match.FindHit(hits, fmt.Sprint(i)) != nil {
			found++
		} else {
			missed = append(missed, q)
		}
	}
	t.Logf("watchman cross-script pairs found: %d of %d; missed: %s", found, len(queries), strings.Join(missed, " | "))
	if len(queries) != 22 || found < 9 {
		t.Errorf("found %d of %d cross-script pairs, want at least 9 of 22", found, len(queries))
	}
	pf, err := os.Open("testdata/nomenklatura_putin_names.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	n, spelt := 0, 0
	var missedPutin []string
	sc := bufio.NewScanner(pf)
	for sc.Scan() {
		name := strings.TrimSpace(sc.Text())
		if name == "" {
			continue
		}
		n++
		hits, err := s.Screen(&engine.Query{Name: name})
		if err == nil && match.FindHit(hits, "putin") != nil {
			spelt++
		} else {
			missedPutin = append(missedPutin, name)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("nomenklatura spellings of one name found: %d of %d; missed: %s", spelt, n, strings.Join(missedPutin, " | "))
	if spelt < 50 {
		t.Errorf("found %d of %d spellings, want at least 50", spelt, n)
	}
}
