package api

import (
	"net/http"
	"sync"
	"testing"

	"github.com/watchpost/watchpost/engine"
)

// swappingScreener is a post whose screening edition is swapped for the
// next (list un one version up) right after every load of it, as a list
// update may swap it between any two loads a request makes. An answer's
// hits and its "checked" lists must come from one load.
type swappingScreener struct {
	mu      sync.Mutex
	version uint64
}

func (s *swappingScreener) load() versionEdition {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	return versionEdition(s.version)
}

func (s *swappingScreener) Edition() Edition { return s.load() }

func (s *swappingScreener) Checked() ([]engine.CheckedList, []string) { return s.load().Checked() }

func (s *swappingScreener) Screen(q *engine.Query) ([]engine.Hit, error) { return s.load().Screen(q) }

// versionEdition is list un at one version, hitting every traveller.
type versionEdition uint64

func (v versionEdition) Checked() ([]engine.CheckedList, []string) {
	return []engine.CheckedList{{List: "un", Version: uint64(v), Entries: 1003}}, nil
}

func (v versionEdition) Screen(*engine.Query) ([]engine.Hit, error) {
	return []engine.Hit{{List: "un", ListVersion: uint64(v), EntryID: "QDi.001", Score: 0.97, Band: engine.BandMatch, MatchedName: "WANTED PERSON"}}, nil
}

// TestAnswerFromOneEdition: an answer's hits are from the list versions
// its "checked" names, though the edition is swapped after every load,
// for one traveller and for every traveller of a manifest.
func TestAnswerFromOneEdition(t *testing.T) {
	p := newTestPost(t, func(o *Options) { o.Screener = &swappingScreener{} })
	sameVersion := func(what string, checked []engine.CheckedList, hits []engine.Hit) {
		t.Helper()
		if len(checked) != 1 || len(hits) != 1 || hits[0].ListVersion != checked[0].Version {
			t.Fatalf("%s: checked %+v, hits %+v: not one edition", what, checked, hits)
		}
	}
	r := p.postJSON(t, "/v1/screen", `{"name":"Wanted Person"}`)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var res ScreenResult
	r.json(t, &res)
	sameVersion("/v1/screen", res.Checked, res.Hits)

	body, _ := manifest(t, 3)
	r = p.do(t, http.MethodPost, "/v1/manifests", "application/edifact", body)
	if r.status != http.StatusOK {
		t.Fatalf("manifest: status %d: %s", r.status, r.body)
	}
	var m ManifestResult
	r.json(t, &m)
	if len(m.Results) != 3 {
		t.Fatalf("manifest: %d results", len(m.Results))
	}
	for _, out := range m.Results {
		sameVersion("/v1/manifests", m.Checked, out.Hits)
	}
}
