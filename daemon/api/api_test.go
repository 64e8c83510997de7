package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/api/input"
	"github.com/watchpost/watchpost/daemon/sample"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/paxlst"
	"github.com/watchpost/watchpost/engine/testkit"
)

const td3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"

func TestScreenJSON(t *testing.T) {
	p := newTestPost(t, nil)
	r := p.postJSON(t, "/v1/screen", `{"id":"T1","name":"Wanted Person","birth_date":"1970-01-02","nationality":"gbr","sex":"m"}`)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var res ScreenResult
	r.json(t, &res)
	if res.Band != engine.BandMatch || len(res.Hits) != 1 || res.HitID == "" || res.ScreeningID == "" || res.Traveller.ID != "T1" {
		t.Fatalf("result %+v", res)
	}
	var stored HitRecord
	if r := p.do(t, http.MethodGet, "/v1/hits/"+res.HitID, "", nil); r.status != 200 {
		t.Fatalf("the hit is not in the ledger: %d %s", r.status, r.body)
	} else if r.json(t, &stored); stored.ScreeningID != res.ScreeningID || stored.Traveller.Name != "Wanted Person" || !stored.ScreenedAt.Equal(testNow) {
		t.Fatalf("stored hit %+v", stored)
	}
	first := res.ScreeningID
	if res.Hits[0].Explanation.BirthDate != "same day" {
		t.Fatalf("explanation lost: %+v", res.Hits[0])
	}
	s := p.ledger.screenings[0]
	if s.Source != SourceAPI || s.Actor != DefaultLocalActor || s.Ref != "" || !s.ScreenedAt.Equal(testNow) || s.Traveller.Name != "Wanted Person" {
		t.Fatalf("recorded %+v", s)
	}

	r = p.postJSON(t, "/v1/screen", `{"surname":"ORDINARY","given_names":"JANE"}`)
	res = ScreenResult{}
	r.json(t, &res)
	if r.status != http.StatusOK || res.Band != BandNone || res.Hits == nil || len(res.Hits) != 0 || res.HitID != "" || res.ScreeningID == "" || res.ScreeningID == first {
		t.Fatalf("no-hit screening: %d %s", r.status, r.body)
	}
	if !bytes.Contains(r.body, []byte(`"hits":[]`)) {
		t.Fatalf("hits must be [] not null: %s", r.body)
	}
	// Even at debug level the request log holds no traveller data.
	logs := p.logs.String()
	if !strings.Contains(logs, `"route":"/v1/screen"`) || strings.Contains(logs, "Wanted") || strings.Contains(logs, "ORDINARY") || strings.Contains(logs, "1970") {
		t.Fatalf("request log:\n%s", logs)
	}
}

func TestScreenMRZ(t *testing.T) {
	p := newTestPost(t, nil)
	body, _ := json.Marshal(map[string]string{"mrz": td3})
	r := p.do(t, http.MethodPost, "/v1/screen", "application/json; charset=utf-8", body)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var res ScreenResult
	r.json(t, &res)
	q := res.Traveller
	if q.Surname != "ERIKSSON" || q.GivenNames != "ANNA MARIA" || q.BirthDate != "1974-08-12" || q.DocumentNumber != "L898902C3" || q.DocumentCountry != "UTO" {
		t.Fatalf("traveller from MRZ: %+v", q)
	}
	if res.MRZ == nil || !res.MRZ.Valid || res.MRZ.Format != "TD3" || res.MRZ.ExpiryDate != "2012-04-15" {
		t.Fatalf("mrz summary: %+v", res.MRZ)
	}
	if n, _ := p.ledger.count(); n != 1 || p.ledger.screenings[0].Traveller.Surname != "ERIKSSON" {
		t.Fatalf("recorded %d screenings", n)
	}

	// A failed check digit is reported, and the traveller still screened.
	bad := strings.Replace(td3, "7408122F", "7408123F", 1)
	body, _ = json.Marshal(map[string]string{"mrz": bad})
	r = p.do(t, http.MethodPost, "/v1/screen", "", body)
	r.json(t, &res)
	if r.status != http.StatusOK || res.MRZ == nil || res.MRZ.Valid || len(res.MRZ.Errors) == 0 {
		t.Fatalf("bad check digit: %d %s", r.status, r.body)
	}
}

func TestScreenBadRequests(t *testing.T) {
	p := newTestPost(t, nil)
	tooLarge := `{"name":"` + strings.Repeat("A", MaxScreenBody) + `"}`
	for _, c := range []struct {
		name, contentType, body string
		status                  int
		field, contains         string
	}{
		{"bad JSON", "application/json", `{"name":`, 400, "", "not a complete JSON"},
		{"syntax", "application/json", `{"name" "x"}`, 400, "", "not valid JSON"},
		{"unknown field", "application/json", `{"name":"A B","passport":"X"}`, 400, "passport", `unknown field "passport"`},
		{"wrong type", "application/json", `{"name":5}`, 400, "name", "must be a JSON string"},
		{"two values", "application/json", `{"name":"A"} {"name":"B"}`, 400, "", "more than one JSON value"},
		{"not an object", "application/json", `["A"]`, 400, "", "body must be a JSON object, not array"},
		{"empty body", "application/json", ``, 400, "", "empty body"},
		{"too large", "application/json", tooLarge, 413, "", "limit"},
		{"no name", "application/json", `{"nationality":"FRA"}`, 400, "name", "needs a name"},
		{"blank name", "application/json", `{"name":"   "}`, 400, "name", "needs a name"},
		{"bad birth date", "application/json", `{"name":"A B","birth_date":"12/03/1970"}`, 400, "birth_date", "YYYY-MM-DD"},
		{"range birth date", "application/json", `{"name":"A B","birth_date":"1970..1972"}`, 400, "birth_date", "YYYY-MM-DD"},
		{"bad sex", "application/json", `{"name":"A B","sex":"male"}`, 400, "sex", "M, F or X"},
		{"bad nationality", "application/json", `{"name":"A B","nationality":"Narnia"}`, 400, "nationality", `nationality "Narnia" is not a country`},
		{"invalid UTF-8", "application/json", "{\"name\":\"ANNA \xffERIKSSON\"}", 400, "name", `field "name" is not valid UTF-8`},
		{"escaped NUL", "application/json", `{"name":"ANNA\u0000ERIKSSON"}`, 400, "name", "control character (U+0000)"},
		{"control character", "application/json", `{"name":"A B","given_names":"\u0007"}`, 400, "given_names", "control character (U+0007)"},
		{"bad document country", "application/json", `{"name":"A B","document_country":"F1"}`, 400, "document_country", "alpha-3"},
		{"long id", "application/json", `{"name":"A B","id":"` + strings.Repeat("é", input.MaxFieldChars+1) + `"}`, 400, "id", "longer than"},
		{"mrz and fields", "application/json", `{"mrz":"P<UTO","name":"A B"}`, 400, "mrz", "not both (name is set)"},
		{"bad mrz", "application/json", `{"mrz":"P<UTOERIKSSON<<ANNA\nL898902C3"}`, 400, "mrz", "mrz: line 1"},
		{"mrz lower case", "application/json", `{"mrz":"` + strings.ReplaceAll(strings.ToLower(td3), "\n", `\n`) + `"}`, 400, "mrz", "line 1"},
		{"text body", "text/plain", `P<UTO`, 415, "", "application/json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p.do(t, http.MethodPost, "/v1/screen", c.contentType, []byte(c.body)).wantError(t, c.status, c.field, c.contains)
		})
	}
	t.Run("too large, chunked", func(t *testing.T) {
		body := io.MultiReader(strings.NewReader(`{"name":"`), strings.NewReader(strings.Repeat("A", MaxScreenBody)), strings.NewReader(`"}`))
		req, _ := http.NewRequest(http.MethodPost, p.url+"/v1/screen", body)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if req.ContentLength != 0 {
			t.Fatal("request has a length: not the chunked case")
		}
		response{status: resp.StatusCode, header: resp.Header, body: b}.wantError(t, 413, "", "larger than the limit")
	})
	t.Run("wrong method", func(t *testing.T) {
		r := p.do(t, http.MethodGet, "/v1/screen", "", nil)
		r.wantError(t, 405, "", "use POST")
		if r.header.Get("Allow") != "POST" {
			t.Fatalf("Allow %q", r.header.Get("Allow"))
		}
	})
	if n, _ := p.ledger.count(); n != 0 {
		t.Fatalf("%d screenings recorded from bad requests", n)
	}
}

func TestScreenNotRecorded(t *testing.T) {
	p := newTestPost(t, nil)
	p.ledger.closeStore() // every write fails from now on
	r := p.postJSON(t, "/v1/screen", `{"name":"Wanted Person Smith"}`)
	var res ScreenResult
	r.json(t, &res)
	if r.status != http.StatusInternalServerError || res.Error == "" || len(res.Hits) != 1 || res.HitID != "" {
		t.Fatalf("unrecorded screening must show its hits with an error: %d %s", r.status, r.body)
	}
	if strings.Contains(p.logs.String(), "Smith") {
		t.Fatalf("traveller data in the log:\n%s", p.logs)
	}
	if !strings.Contains(p.logs.String(), badgerstore.ErrClosed.Error()) {
		t.Fatalf("ledger error not logged:\n%s", p.logs)
	}
}

func TestScreenUnavailable(t *testing.T) {
	p := newTestPost(t, func(o *Options) {
		o.Screener = &fakeScreener{err: fmt.Errorf("no list loaded: %w", ErrUnavailable)}
	})
	p.postJSON(t, "/v1/screen", `{"name":"A B"}`).wantError(t, 503, "", "no list loaded")
	if n, _ := p.ledger.count(); n != 0 {
		t.Fatal("recorded a screening that did not happen")
	}
}

// manifest writes a generated flight as PAXLST with n passengers, the
// first of whom is renamed so that the fake screener hits.
func manifest(t *testing.T, n int) ([]byte, *paxlst.Interchange) {
	t.Helper()
	ic := paxlst.Generate(42, n)
	ic.Messages[0].Travellers[0].Surname = "WANTED"
	var b bytes.Buffer
	if err := paxlst.Write(&b, ic, paxlst.WriteOptions{LineBreak: "\n", Now: testNow}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), ic
}

func TestManifest(t *testing.T) {
	p := newTestPost(t, nil)
	body, ic := manifest(t, 20)
	flight := ic.Messages[0].Flights[0].Number
	r := p.do(t, http.MethodPost, "/v1/manifests", "application/edifact", body)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var res ManifestResult
	r.json(t, &res)
	if res.Travellers != 20 || res.WithHits != 1 || res.Band != engine.BandMatch || len(res.Results) != 20 || len(res.Flights) != 1 || res.Flights[0].Number != flight {
		t.Fatalf("manifest result: travellers %d, with hits %d, band %s, results %d, flights %+v", res.Travellers, res.WithHits, res.Band, len(res.Results), res.Flights)
	}
	first := res.Results[0]
	if first.HitID == "" || first.Band != engine.BandMatch || first.Flight != flight || first.Position != 1 || first.Message != 1 || first.Role != "passenger" {
		t.Fatalf("first traveller: %+v", first)
	}
	if res.Results[1].HitID != "" || res.Results[1].ScreeningID == "" || res.Results[1].Band != BandNone {
		t.Fatalf("second traveller: %+v", res.Results[1])
	}
	screenings, hits := p.ledger.count()
	if screenings != 20 || hits != 1 {
		t.Fatalf("recorded %d screenings, %d hits", screenings, hits)
	}
	for _, s := range p.ledger.screenings {
		if s.Source != SourceManifest || s.Ref != flight || s.Actor != DefaultLocalActor {
			t.Fatalf("recorded %+v", s)
		}
	}
	// text/plain is accepted too, and warnings are passed on.
	broken := bytes.Replace(body, []byte("CNT+42:20"), []byte("CNT+42:21"), 1)
	r = p.do(t, http.MethodPost, "/v1/manifests", "text/plain; charset=utf-8", broken)
	r.json(t, &res)
	if r.status != http.StatusOK || res.Travellers != 20 || len(res.Warnings) == 0 {
		t.Fatalf("text/plain with a wrong count: %d, %d travellers, warnings %v", r.status, res.Travellers, res.Warnings)
	}
}

func TestManifestBadRequests(t *testing.T) {
	p := newTestPost(t, nil)
	body, _ := manifest(t, 3)
	empty := []byte("UNA:+.? 'UNB+UNOA:4+AIR+GOV+260314:1030+1'UNH+1+PAXLST:D:05B:UN:IATA'BGM+745'UNT+3+1'UNZ+1+1'")
	p.do(t, http.MethodPost, "/v1/manifests", "application/edifact", []byte("hello, not a manifest")).wantError(t, 400, "", "not an EDIFACT interchange")
	p.do(t, http.MethodPost, "/v1/manifests", "application/edifact", empty).wantError(t, 400, "", "no traveller")
	p.do(t, http.MethodPost, "/v1/manifests", "application/json", body).wantError(t, 415, "", "application/edifact")
	p.do(t, http.MethodPost, "/v1/manifests", "", body).wantError(t, 415, "", "application/edifact")
	p.do(t, http.MethodPost, "/v1/manifests", "text/plain", bytes.Repeat([]byte("A"), MaxManifestBody+1)).wantError(t, 413, "", "limit")
	p.do(t, http.MethodPut, "/v1/manifests", "text/plain", body).wantError(t, 405, "", "use POST")
	if n, _ := p.ledger.count(); n != 0 {
		t.Fatalf("%d screenings recorded from bad manifests", n)
	}
}

func TestHitsAndDisposition(t *testing.T) {
	p := newTestPost(t, nil)
	var ids []string // hit ids, "" for the screening without a hit
	for _, name := range []string{"Wanted One", "Nobody", "Maybe Two", "Wanted Three"} {
		r := p.postJSON(t, "/v1/screen", `{"name":"`+name+`"}`)
		if r.status != 200 {
			t.Fatalf("screen: %d %s", r.status, r.body)
		}
		var res ScreenResult
		r.json(t, &res)
		ids = append(ids, res.HitID)
	}
	h1, h2, h3 := ids[0], ids[2], ids[3]
	var list HitList
	r := p.do(t, http.MethodGet, "/v1/hits", "", nil)
	r.json(t, &list)
	if r.status != 200 || len(list.Hits) != 3 || list.Hits[0].ID != h3 || list.Next != "" {
		t.Fatalf("hits: %d %s", r.status, r.body)
	}
	r = p.do(t, http.MethodGet, "/v1/hits?limit=2&status=open&since=2026-01-01T00:00:00Z", "", nil)
	r.json(t, &list)
	if len(list.Hits) != 2 || list.Next == "" {
		t.Fatalf("first page: %s", r.body)
	}
	r = p.do(t, http.MethodGet, "/v1/hits?limit=2&cursor="+list.Next, "", nil)
	r.json(t, &list)
	if len(list.Hits) != 1 || list.Hits[0].ID != h1 {
		t.Fatalf("second page: %s", r.body)
	}
	// A cursor the ledger cannot read is the client's error.
	p.do(t, http.MethodGet, "/v1/hits?cursor=not-a-cursor", "", nil).wantError(t, 400, "", "")

	var h HitRecord
	r = p.do(t, http.MethodGet, "/v1/hits/"+h2, "", nil)
	r.json(t, &h)
	if r.status != 200 || h.ID != h2 || len(h.Decisions) != 0 || !bytes.Contains(r.body, []byte(`"decisions":[]`)) || h.Band != engine.BandPossible || h.Status != StatusOpen || h.Traveller.Name != "Maybe Two" {
		t.Fatalf("hit: %d %s", r.status, r.body)
	}
	p.do(t, http.MethodGet, "/v1/hits/01NOSUCHHIT", "", nil).wantError(t, 404, "", "not found")

	for _, c := range []struct {
		name, body      string
		status          int
		field, contains string
	}{
		{"bad decision", `{"decision":"arrest","officer":"O-7"}`, 400, "decision", `"arrest" is not one of`},
		{"no decision", `{"officer":"O-7"}`, 400, "decision", "required"},
		{"no officer", `{"decision":"confirmed","officer":"  "}`, 400, "officer", "required"},
		{"long note", `{"decision":"confirmed","officer":"O-7","note":"` + strings.Repeat("x", MaxNoteLength+1) + `"}`, 400, "note", "at most"},
		{"unknown field", `{"decision":"confirmed","officer":"O-7","actor":"me"}`, 400, "actor", "unknown field"},
		{"bad JSON", `{"decision":`, 400, "", "JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p.postJSON(t, "/v1/hits/"+h2+"/disposition", c.body).wantError(t, c.status, c.field, c.contains)
		})
	}
	p.postJSON(t, "/v1/hits/01NOSUCHHIT/disposition", `{"decision":"referred","officer":"O-7"}`).wantError(t, 404, "", "not found")
	p.do(t, http.MethodGet, "/v1/hits/"+h2+"/disposition", "", nil).wantError(t, 405, "", "use POST")
	p.do(t, http.MethodDelete, "/v1/hits/"+h2, "", nil).wantError(t, 405, "", "use GET")

	r = p.postJSON(t, "/v1/hits/"+h2+"/disposition", `{"decision":"false_positive","officer":"O-7","note":"born 30 years apart"}`)
	r.json(t, &h)
	if r.status != 200 || h.Status != StatusDisposed || h.Disposition == nil || h.Disposition.Decision != DecisionFalsePositive ||
		h.Disposition.Officer != "O-7" || h.Disposition.Actor != DefaultLocalActor || !h.Disposition.DecidedAt.Equal(testNow) {
		t.Fatalf("disposition: %d %s", r.status, r.body)
	}
	// A second decision supersedes the first, which stays in the history.
	later := h.Decisions
	r = p.postJSON(t, "/v1/hits/"+h2+"/disposition", `{"decision":"confirmed","officer":"O-8"}`)
	h = HitRecord{}
	r.json(t, &h)
	if r.status != 200 || h.Status != StatusDisposed || h.Disposition == nil || h.Disposition.Decision != DecisionConfirmed || h.Disposition.Officer != "O-8" ||
		len(h.Decisions) != 2 || len(later) != 1 || h.Decisions[0] != later[0] || h.Decisions[1] != *h.Disposition {
		t.Fatalf("second decision: %d %s", r.status, r.body)
	}
	// Repeating the decision in force changes nothing.
	r = p.postJSON(t, "/v1/hits/"+h2+"/disposition", `{"decision":"confirmed","officer":"O-8"}`)
	h = HitRecord{}
	r.json(t, &h)
	if r.status != 200 || len(h.Decisions) != 2 || h.Disposition.Officer != "O-8" {
		t.Fatalf("repeated decision: %d %s", r.status, r.body)
	}

	r = p.do(t, http.MethodGet, "/v1/hits?status=disposed", "", nil)
	r.json(t, &list)
	if len(list.Hits) != 1 || list.Hits[0].ID != h2 || len(list.Hits[0].Decisions) != 2 {
		t.Fatalf("disposed hits: %s", r.body)
	}
	for _, c := range []struct{ query, field string }{
		{"status=closed", "status"}, {"limit=0", "limit"}, {"limit=501", "limit"}, {"limit=ten", "limit"},
		{"since=yesterday", "since"}, {"sort=name", "sort"},
	} {
		p.do(t, http.MethodGet, "/v1/hits?"+c.query, "", nil).wantError(t, 400, c.field, "")
	}
}

func TestAuth(t *testing.T) {
	tokens := []Token{{Name: "workstation-1", Secret: "s3cret-token-0123456789"}, {Name: "reader-2", Secret: "another-token-9876543210"}}
	p := newTestPost(t, func(o *Options) { o.Tokens = tokens })
	for _, c := range []struct{ name, header string }{
		{"missing", ""}, {"wrong", "Bearer not-the-token-at-all"}, {"basic", "Basic d29ya3N0YXRpb246eA=="}, {"prefix of a token", "Bearer s3cret-token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"/v1/screen", "/v1/hits", "/v1/status", "/metrics"} {
				req, _ := http.NewRequest(http.MethodGet, p.url+path, nil)
				if c.header != "" {
					req.Header.Set("Authorization", c.header)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("%s: status %d, WWW-Authenticate %q", path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
	p.doToken(t, http.MethodPost, "/v1/screen", "application/json", []byte(`{"name":"Wanted"}`), "").wantError(t, 401, "", "token")
	if n, _ := p.ledger.count(); n != 0 {
		t.Fatal("an unauthenticated screening was recorded")
	}
	// Probes and the API description need no token.
	for _, path := range []string{"/healthz", "/readyz", "/v1/openapi.json"} {
		if r := p.doToken(t, http.MethodGet, path, "", nil, ""); r.status != 200 {
			t.Fatalf("%s without a token: %d", path, r.status)
		}
	}
	// The token's name is the actor.
	r := p.doToken(t, http.MethodPost, "/v1/screen", "application/json", []byte(`{"name":"Wanted"}`), tokens[1].Secret)
	var res ScreenResult
	r.json(t, &res)
	if r.status != 200 || p.ledger.screenings[0].Actor != "reader-2" {
		t.Fatalf("screen with token: %d, actor %q", r.status, p.ledger.screenings[0].Actor)
	}
	r = p.doToken(t, http.MethodPost, "/v1/hits/"+res.HitID+"/disposition", "application/json", []byte(`{"decision":"referred","officer":"O-1"}`), tokens[0].Secret)
	var h HitRecord
	r.json(t, &h)
	if r.status != 200 || h.Disposition.Actor != "workstation-1" {
		t.Fatalf("dispose with token: %d %s", r.status, r.body)
	}
}

func TestNewRefuses(t *testing.T) {
	base := Options{Screener: &fakeScreener{}, Ledger: newLedger(t, nil), Status: &fakeStatus{}, Readiness: &fakeReady{}}
	good := []Token{{Name: "ws", Secret: "0123456789abcdef"}}
	for _, c := range []struct {
		name     string
		edit     func(*Options)
		contains string // "" means accepted
	}{
		{"default loopback", func(o *Options) {}, ""},
		{"localhost", func(o *Options) { o.Addr = "localhost:0" }, ""},
		{"ipv6 loopback", func(o *Options) { o.Addr = "[::1]:8640" }, ""},
		{"all interfaces", func(o *Options) { o.Addr = "0.0.0.0:8640" }, "without API tokens"},
		{"empty host", func(o *Options) { o.Addr = ":8640" }, "without API tokens"},
		{"LAN address", func(o *Options) { o.Addr = "192.168.1.20:8640" }, "without API tokens"},
		{"host name", func(o *Options) { o.Addr = "post-1.local:8640" }, "without API tokens"},
		{"LAN address with token", func(o *Options) { o.Addr = "0.0.0.0:8640"; o.Tokens = good }, ""},
		{"bad address", func(o *Options) { o.Addr = "127.0.0.1" }, "listen address"},
		{"token without name", func(o *Options) { o.Tokens = []Token{{Secret: "0123456789abcdef"}} }, "no name"},
		{"empty secret", func(o *Options) { o.Tokens = []Token{{Name: "ws"}} }, "empty secret"},
		{"short secret", func(o *Options) { o.Tokens = []Token{{Name: "ws", Secret: "abc"}} }, "shorter than 16"},
		{"duplicate name", func(o *Options) { o.Tokens = append(slices.Clone(good), good[0]) }, "twice"},
		{"no screener", func(o *Options) { o.Screener = nil }, "no Screener"},
		{"no ledger", func(o *Options) { o.Ledger = nil }, "no Ledger"},
		{"no status", func(o *Options) { o.Status = nil }, "no StatusSource"},
		{"no readiness", func(o *Options) { o.Readiness = nil }, "no Readiness"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := base
			c.edit(&o)
			_, err := New(o)
			switch {
			case c.contains == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.contains != "" && (err == nil || !strings.Contains(err.Error(), c.contains)):
				t.Fatalf("error %v, want one containing %q", err, c.contains)
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	p := newTestPost(t, nil)
	for _, c := range []struct {
		state  ReadyState
		reason string
		status int
		body   string
	}{
		{NotReady, "no list loaded", 503, "not ready: no list loaded\n"},
		{Degraded, "list un is STALE", 200, "degraded: list un is STALE\n"},
		{Ready, "", 200, "ready\n"},
	} {
		p.ready.set(c.state, c.reason)
		r := p.do(t, http.MethodGet, "/readyz", "", nil)
		if r.status != c.status || string(r.body) != c.body {
			t.Fatalf("%v: %d %q, want %d %q", c.state, r.status, r.body, c.status, c.body)
		}
	}
	if r := p.do(t, http.MethodGet, "/healthz", "", nil); r.status != 200 || string(r.body) != "ok\n" {
		t.Fatalf("healthz: %d %q", r.status, r.body)
	}
	p.do(t, http.MethodPost, "/healthz", "", nil).wantError(t, 405, "", "use GET")
}

func TestStatus(t *testing.T) {
	p := newTestPost(t, nil)
	r := p.do(t, http.MethodGet, "/v1/status", "", nil)
	var got map[string]any
	r.json(t, &got)
	if r.status != 200 || got["post"] != "post-1" || got["link"].(map[string]any)["up"] != true || len(got["lists"].([]any)) != 1 || got["outbox"] == nil {
		t.Fatalf("status: %d %s", r.status, r.body)
	}
	p.status.err = fmt.Errorf("store closed: %w", ErrUnavailable)
	p.do(t, http.MethodGet, "/v1/status", "", nil).wantError(t, 503, "", "store closed")
	p.status.err = errors.New("boom")
	p.do(t, http.MethodGet, "/v1/status", "", nil).wantError(t, 500, "", "internal error")
}

func TestNotFound(t *testing.T) {
	p := newTestPost(t, nil)
	p.do(t, http.MethodGet, "/v2/screen", "", nil).wantError(t, 404, "", "no such endpoint")
	p.do(t, http.MethodGet, "/", "", nil).wantError(t, 404, "", "no such endpoint")
}

// TestOpenAPIMatchesRoutes checks that every route the server answers is
// in openapi.json with its method, and that the document describes no
// other, and that its references resolve.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Fatalf("openapi %q, want 3.0.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	routed := map[string]bool{}
	p := newTestPost(t, nil)
	for _, rt := range p.routes {
		for _, m := range rt.methods {
			routed[m+" "+rt.pattern] = true
		}
	}
	for k := range routed {
		if !documented[k] {
			t.Errorf("route %s is not in openapi.json", k)
		}
	}
	for k := range documented {
		if !routed[k] {
			t.Errorf("openapi.json describes %s, which the server does not answer", k)
		}
	}
	if len(routed) != len(routeSpecs) {
		t.Fatalf("%d routes built from %d specs", len(routed), len(routeSpecs))
	}
	for _, ref := range regexp.MustCompile(`"\$ref": "#/components/schemas/([A-Za-z]+)"`).FindAllSubmatch(openAPI, -1) {
		if _, ok := doc.Components.Schemas[string(ref[1])]; !ok {
			t.Errorf("openapi.json refers to missing schema %s", ref[1])
		}
	}
	r := p.do(t, http.MethodGet, "/v1/openapi.json", "", nil)
	if r.status != 200 || !bytes.Equal(r.body, openAPI) {
		t.Fatalf("/v1/openapi.json: %d", r.status)
	}
}

// TestListenServeShutdown runs the real http.Server: bind, answer, stop.
func TestListenServeShutdown(t *testing.T) {
	s, addr, served := serving(t, Options{Addr: "127.0.0.1:0", Screener: &fakeScreener{}, Ledger: newLedger(t, nil), Status: &fakeStatus{}, Readiness: &fakeReady{state: Ready}})
	resp, err := http.Get("http://" + addr.String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("readyz %d", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.Returned(t, served, 5*time.Second, "Serve")
	if _, err := http.Get("http://" + addr.String() + "/healthz"); err == nil {
		t.Fatal("still answering after Shutdown")
	}
	if _, err := s.Listen(); err == nil {
		t.Fatal("Listen after Shutdown succeeded")
	}
}

// TestShutdownBeforeServe frees the port even when Serve never ran.
func TestShutdownBeforeServe(t *testing.T) {
	opts := Options{Addr: "127.0.0.1:0", Screener: &fakeScreener{}, Ledger: newLedger(t, nil), Status: &fakeStatus{}, Readiness: &fakeReady{}}
	s, addr := listening(t, opts)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	opts.Addr = addr.String()
	s2, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Listen(); err != nil {
		t.Fatalf("port still held: %v", err)
	}
	s2.Shutdown(context.Background())
}

// TestRealScreener screens the sample travellers against the embedded UN
// list through the API, with the real matcher.
func TestRealScreener(t *testing.T) {
	scr, _, _ := realScreener(t, false)
	p := newTestPost(t, func(o *Options) { o.Screener = scr })
	want := map[string]bool{"T01": true, "T02": true, "T06": true, "T09": false}
	for _, tr := range sample.Travellers {
		expect, ok := want[tr.Query.ID]
		if !ok {
			continue
		}
		body, _ := json.Marshal(tr.Query)
		r := p.postJSON(t, "/v1/screen", string(body))
		var res ScreenResult
		r.json(t, &res)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", tr.Query.ID, r.status, r.body)
		}
		if got := len(res.Hits) > 0; got != expect {
			t.Errorf("%s (%s): hits %v, want hits %v", tr.Query.ID, tr.Expect, res.Hits, expect)
		}
		if expect && (res.HitID == "" || res.Hits[0].List != "un" || res.Hits[0].Explanation.Name == nil && res.Hits[0].Explanation.Document == "") {
			t.Errorf("%s: hit without id, list or explanation: %s", tr.Query.ID, r.body)
		}
	}
	// An MRZ of a listed person: T02 as a passport would print him.
	mrzText := "P<IRNHOJATI<<MOHSEN<<<<<<<<<<<<<<<<<<<<<<<<<\n"
	line2 := "A123456782IRN5509281M3001015<<<<<<<<<<<<<<<0"
	body, _ := json.Marshal(map[string]string{"mrz": mrzText + line2})
	r := p.postJSON(t, "/v1/screen", string(body))
	var res ScreenResult
	r.json(t, &res)
	if r.status != 200 || res.Band == BandNone || res.MRZ == nil {
		t.Fatalf("MRZ of a listed person: %d %s", r.status, r.body)
	}
	// A manifest against the real list: a generated flight screens clean
	// or with possibles only, and everyone is recorded.
	mbody, _ := manifest(t, 50)
	before, _ := p.ledger.count()
	r = p.do(t, http.MethodPost, "/v1/manifests", "application/edifact", mbody)
	var mres ManifestResult
	r.json(t, &mres)
	after, _ := p.ledger.count()
	if r.status != 200 || mres.Travellers != 50 || after-before != 50 {
		t.Fatalf("manifest: %d, %d travellers, %d recorded", r.status, mres.Travellers, after-before)
	}
}

// TestScreenAnswerKeepsFillers: an answer shows "<" as "<" (an MRZ's
// fillers, a document number as typed), never as "\u003c".
func TestScreenAnswerKeepsFillers(t *testing.T) {
	p := newTestPost(t, nil)
	r := p.do(t, http.MethodPost, "/v1/screen", "application/json", []byte(`{"name":"Anna Eriksson","document_number":"L898902C<"}`))
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if bytes.Contains(r.body, []byte(`\u003c`)) || !bytes.Contains(r.body, []byte(`"document_number":"L898902C<"`)) {
		t.Fatalf("answer escapes <: %s", r.body)
	}
}

// TestNotScreenedWithoutList: with no list loaded the API screens
// nothing, records nothing and answers 503 with the reason and the lists
// missing, for a traveller and for a manifest; never 200 "band none".
func TestNotScreenedWithoutList(t *testing.T) {
	scr := &fakeScreener{lists: []engine.CheckedList{}, missing: []string{"ofac", "un"}}
	p := newTestPost(t, func(o *Options) { o.Screener = scr })
	body, _ := manifest(t, 3)
	for _, r := range []response{
		p.postJSON(t, "/v1/screen", `{"name":"Nobody In Particular"}`),
		p.do(t, http.MethodPost, "/v1/manifests", "application/edifact", body),
	} {
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503: %s", r.status, r.body)
		}
		var ns NotScreened
		r.json(t, &ns)
		if ns.NotScreened != NotScreenedNoList || strings.Join(ns.ListsMissing, ",") != "ofac,un" || ns.Checked == nil || len(ns.Checked) != 0 ||
			!strings.Contains(ns.Error, "no list is loaded (missing: ofac, un)") || bytes.Contains(r.body, []byte(`"band"`)) {
			t.Fatalf("answer %s", r.body)
		}
	}
	if n, _ := p.ledger.count(); n != 0 {
		t.Fatalf("%d screenings recorded without a list", n)
	}
	// Nothing configured either: the lists missing are [], not null.
	scr.missing = nil
	r := p.postJSON(t, "/v1/screen", `{"name":"Nobody In Particular"}`)
	if r.status != http.StatusServiceUnavailable || !bytes.Contains(r.body, []byte(`"lists_missing":[]`)) {
		t.Fatalf("no list configured: %d %s", r.status, r.body)
	}
}

// TestScreenShowsCheckedLists: every answer names the lists checked and
// their versions; a STALE list still screens, and says so.
func TestScreenShowsCheckedLists(t *testing.T) {
	scr := &fakeScreener{lists: []engine.CheckedList{
		{List: "ofac", Version: 40, Entries: 12000},
		{List: "un", Version: 12, Entries: 1003, Stale: true, StaleReason: "signed head expired"},
	}}
	p := newTestPost(t, func(o *Options) { o.Screener = scr })
	r := p.postJSON(t, "/v1/screen", `{"name":"Wanted Person"}`)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var res ScreenResult
	r.json(t, &res)
	if len(res.Hits) != 1 || !reflect.DeepEqual(res.Checked, scr.lists) ||
		!bytes.Contains(r.body, []byte(`"checked":[{"list":"ofac","version":40,"entries":12000,"stale":false},{"list":"un","version":12,"entries":1003,"stale":true,"stale_reason":"signed head expired"}]`)) {
		t.Fatalf("answer %s", r.body)
	}
	body, _ := manifest(t, 3)
	r = p.do(t, http.MethodPost, "/v1/manifests", "application/edifact", body)
	var m ManifestResult
	r.json(t, &m)
	if r.status != http.StatusOK || !reflect.DeepEqual(m.Checked, scr.lists) {
		t.Fatalf("manifest: %d %s", r.status, r.body)
	}
}

// TestScreenCapsLongName: a name beyond the caps is screened on its
// beginning, with a warning, at the API and in a manifest.
func TestScreenCapsLongName(t *testing.T) {
	p := newTestPost(t, nil)
	long := "WANTED " + strings.Repeat("PERSON ", 40)
	r := p.postJSON(t, "/v1/screen", `{"name":"`+long+`"}`)
	var res ScreenResult
	r.json(t, &res)
	if r.status != http.StatusOK || len(res.Hits) != 1 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "screened on its beginning") ||
		len(strings.Fields(res.Traveller.Name)) != engine.MaxNameTokens {
		t.Fatalf("long name: %d %s", r.status, r.body)
	}
	body, ic := manifest(t, 2)
	body = bytes.Replace(body, []byte(ic.Messages[0].Travellers[1].Surname), []byte(strings.Repeat("X", 5000)), 1)
	r = p.do(t, http.MethodPost, "/v1/manifests", "application/edifact", body)
	var m ManifestResult
	r.json(t, &m)
	if r.status != http.StatusOK || len(m.Results) != 2 || len(m.Results[1].Warnings) != 1 || len(m.Results[1].Traveller.Surname) != engine.MaxNameChars {
		t.Fatalf("long PAXLST name: %d %s", r.status, r.body)
	}
}

// TestScreenNormalisesCountries: a country given as alpha-2 or English
// name is screened, and shown, as alpha-3.
func TestScreenNormalisesCountries(t *testing.T) {
	p := newTestPost(t, nil)
	r := p.postJSON(t, "/v1/screen", `{"name":"Wanted Person","nationality":"North Korea","document_country":"KP","document_number":"X1"}`)
	var res ScreenResult
	r.json(t, &res)
	if r.status != http.StatusOK || res.Traveller.Nationality != "PRK" || res.Traveller.DocumentCountry != "PRK" ||
		p.ledger.screenings[0].Traveller.Nationality != "PRK" {
		t.Fatalf("answer %d %s", r.status, r.body)
	}
}
