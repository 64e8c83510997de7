package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/engine"
)

// TestDiskLowNotRecorded: with the post's disk short of the store's
// reserve, a screening is still answered with its result, but as 507
// Insufficient Storage saying it is not recorded and why (never a 200 for
// a hit nobody can dispose of), for a hit, a screening without a hit, a
// manifest and a disposition alike; reads go on, and once space is back
// screenings are recorded again.
func TestDiskLowNotRecorded(t *testing.T) {
	p := newTestPost(t, nil)
	r := p.postJSON(t, "/v1/screen", `{"name":"Wanted Person Smith"}`)
	var before ScreenResult
	r.json(t, &before)
	if r.status != http.StatusOK || before.HitID == "" {
		t.Fatalf("screen before the disk is low: %d %s", r.status, r.body)
	}
	SetFreeSpace(1 << 20)
	t.Cleanup(func() { SetFreeSpace(1 << 40) })

	wantNotRecorded := func(what string, r response, res *ScreenResult) {
		t.Helper()
		if r.status != http.StatusInsufficientStorage {
			t.Fatalf("%s: status %d, want 507: %s", what, r.status, r.body)
		}
		for _, s := range []string{"not recorded", "not enough free disk space", "1.0 MiB free", "needed", "free disk space on the post"} {
			if !strings.Contains(res.Error, s) {
				t.Errorf("%s: error %q does not say %q", what, res.Error, s)
			}
		}
		if res.HitID != "" || res.ScreeningID != "" {
			t.Errorf("%s: ids %q %q for a screening not recorded", what, res.HitID, res.ScreeningID)
		}
	}
	var hit ScreenResult
	r = p.postJSON(t, "/v1/screen", `{"name":"Wanted Person Smith"}`)
	r.json(t, &hit)
	wantNotRecorded("a hit", r, &hit)
	if len(hit.Hits) != 1 || hit.Band == BandNone {
		t.Errorf("a hit not recorded must still be shown: %s", r.body)
	}
	var none ScreenResult
	r = p.postJSON(t, "/v1/screen", `{"name":"Ordinary Traveller"}`)
	r.json(t, &none)
	wantNotRecorded("no hit", r, &none)
	if none.Band != BandNone {
		t.Errorf("no hit: band %s", none.Band)
	}

	body, _ := manifest(t, 3)
	r = p.do(t, http.MethodPost, "/v1/manifests", "application/edifact", body)
	var m ManifestResult
	r.json(t, &m)
	if r.status != http.StatusInsufficientStorage || !strings.Contains(m.Error, "not enough free disk space") || m.WithHits != 1 || m.Results[0].Band != engine.BandMatch {
		t.Errorf("manifest on a low disk: %d %s", r.status, r.body)
	}
	p.postJSON(t, "/v1/hits/"+before.HitID+"/disposition", `{"decision":"referred","officer":"O-7"}`).
		wantError(t, http.StatusInsufficientStorage, "", "not enough free disk space")

	// Reads go on.
	if r := p.do(t, http.MethodGet, "/v1/hits/"+before.HitID, "", nil); r.status != http.StatusOK {
		t.Errorf("GET the hit on a low disk: %d %s", r.status, r.body)
	}
	if n, hits := p.ledger.count(); n != 1 || hits != 1 {
		t.Errorf("%d screenings and %d hits recorded, want only the first", n, hits)
	}

	SetFreeSpace(1 << 40)
	r = p.postJSON(t, "/v1/screen", `{"name":"Wanted Person Smith"}`)
	var after ScreenResult
	r.json(t, &after)
	if r.status != http.StatusOK || after.HitID == "" || after.Error != "" {
		t.Fatalf("screen once space is back: %d %s", r.status, r.body)
	}
}
