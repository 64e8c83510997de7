package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/apitest"
	"github.com/watchpost/watchpost/daemon/sample"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/match"
	"github.com/watchpost/watchpost/sync/protocol"
)

// fakeScreener hits every traveller whose name holds "WANTED" (band match)
// or "MAYBE" (band possible), and refuses empty ones as the matcher does.
// It is checked against un v3, or against lists when set (none with an
// empty non-nil lists).
type fakeScreener struct {
	err     error
	lists   []engine.CheckedList
	missing []string
}

func (f *fakeScreener) Edition() Edition { return f }

func (f *fakeScreener) Checked() ([]engine.CheckedList, []string) {
	if f.lists == nil {
		return []engine.CheckedList{{List: "un", Version: 3, Entries: 1003}}, nil
	}
	return f.lists, f.missing
}

func (f *fakeScreener) Screen(q *engine.Query) ([]engine.Hit, error) {
	if f.err != nil {
		return nil, f.err
	}
	name := strings.ToUpper(q.FullName())
	if strings.TrimSpace(name) == "" && q.DocumentNumber == "" {
		return nil, match.ErrEmptyQuery
	}
	hit := func(b engine.Band, score float64) []engine.Hit {
		return []engine.Hit{{List: "un", ListVersion: 3, EntryID: "QDi.001", Score: score, Band: b, MatchedName: "WANTED PERSON",
			Explanation: engine.Explanation{Name: &engine.NameExplanation{Score: score}, BirthDate: "same day"}}}
	}
	switch {
	case strings.Contains(name, "WANTED"):
		return hit(engine.BandMatch, 0.97), nil
	case strings.Contains(name, "MAYBE"):
		return hit(engine.BandPossible, 0.75), nil
	}
	return nil, nil
}

// spyLedger is the post's real ledger with its group commit running, as
// the daemon runs it (OpenGroupedLedger), that also keeps the
// screenings the API handed it and the ledger stored, so that tests can
// check what the API records.
type spyLedger struct {
	Ledger
	closeStore func() // closes the ledger's store: every later write fails

	mu         sync.Mutex
	screenings []Screening
	hits       int
}

// newLedger opens a real ledger on clk (testNow when nil).
func newLedger(tb testing.TB, clk clock.Clock) *spyLedger {
	tb.Helper()
	if clk == nil {
		clk = clocktest.NewAt(testNow)
	}
	l, closeStore := OpenGroupedLedger(tb, clk)
	return &spyLedger{Ledger: l, closeStore: closeStore}
}

func (l *spyLedger) Record(ctx context.Context, s Screening) (Recorded, error) {
	rec, err := l.Ledger.Record(ctx, s)
	if err == nil {
		l.mu.Lock()
		l.screenings = append(l.screenings, s)
		if rec.HitID != "" {
			l.hits++
		}
		l.mu.Unlock()
	}
	return rec, err
}

func (l *spyLedger) count() (screenings, hits int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.screenings), l.hits
}

type fakeStatus struct {
	st  Status
	err error
}

func (f *fakeStatus) Status(context.Context) (Status, error) { return f.st, f.err }

type fakeReady struct {
	mu     sync.Mutex
	state  ReadyState
	reason string
}

func (f *fakeReady) set(s ReadyState, reason string) {
	f.mu.Lock()
	f.state, f.reason = s, reason
	f.mu.Unlock()
}

func (f *fakeReady) Ready(context.Context) (ReadyState, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, f.reason
}

// testPost is a server over the real ledger and fakes of the rest, served
// by httptest.
type testPost struct {
	*Server
	url    string
	ledger *spyLedger
	status *fakeStatus
	ready  *fakeReady
	logs   *bytes.Buffer
	token  string
}

var testNow = time.Date(2026, 3, 14, 10, 30, 0, 0, time.UTC)

func newTestPost(t *testing.T, edit func(*Options)) *testPost {
	t.Helper()
	clk := clocktest.NewAt(testNow)
	p := &testPost{
		ledger: newLedger(t, clk),
		status: &fakeStatus{st: Status{
			PostStatus: protocol.PostStatus{Post: "post-1", Software: "test", Boot: 2, Clock: testNow,
				Lists: []protocol.ListHeld{{List: "un", Epoch: 1, Version: 3, Entries: 1003}}},
			Link: Link{Up: true, LastSync: testNow.Add(-time.Minute)},
		}},
		ready: &fakeReady{state: Ready},
		logs:  new(bytes.Buffer),
	}
	var logMu sync.Mutex
	opts := Options{
		Screener: &fakeScreener{}, Ledger: p.ledger, Status: p.status, Readiness: p.ready,
		Logger: slog.New(slog.NewJSONHandler(lockedWriter{&logMu, p.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Clock:  clk,
	}
	if edit != nil {
		edit(&opts)
	}
	if len(opts.Tokens) > 0 {
		p.token = opts.Tokens[0].Secret
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	p.Server = s
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	p.url = hs.URL
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// apiErr decodes an error body and checks its status, field and message.
func (r response) wantError(t *testing.T, status int, field, contains string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q, want application/json", ct)
	}
	var e apiError
	r.json(t, &e)
	if e.Error == "" || e.Field != field || !strings.Contains(e.Error, contains) {
		t.Fatalf("error %+v, want field %q and message containing %q", e, field, contains)
	}
}

func (p *testPost) do(t *testing.T, method, path, contentType string, body []byte) response {
	t.Helper()
	return p.doToken(t, method, path, contentType, body, p.token)
}

func (p *testPost) doToken(t *testing.T, method, path, contentType string, body []byte, token string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, p.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, b := apitest.Send(t, http.DefaultClient, req)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (p *testPost) postJSON(t *testing.T, path, body string) response {
	t.Helper()
	return p.do(t, http.MethodPost, path, "application/json", []byte(body))
}

// ofacDir is where the shared corpus keeps the 2021 OFAC SDN set, seen
// from this package's directory.
var ofacDir = filepath.Join("..", "..", "..", "shared", "data", "lists", "ofac_sdn_csv_2021-07")

// realScreener builds the matcher's index in memory from the embedded UN
// list and, with withOFAC and when the shared corpus is present, the OFAC
// SDN 2021 set. It returns the listed persons for synthetic travellers and
// a description of what was loaded.
func realScreener(tb testing.TB, withOFAC bool) (indexScreener, []engine.Entry, string) {
	tb.Helper()
	b := match.NewBuilder()
	var persons []engine.Entry
	load := func(name string, read func(emit func(*engine.Entry) error) error) {
		h := b.AddList(engine.ListInfo{Name: name, Kind: engine.ListNames, Version: 1, ImportedAt: testNow})
		n := 0
		if err := read(func(e *engine.Entry) error {
			n++
			if e.Kind == engine.KindPerson {
				persons = append(persons, *e)
			}
			b.Add(h, e)
			return nil
		}); err != nil {
			tb.Fatalf("load %s: %v", name, err)
		}
		b.SetListInfo(h, engine.ListInfo{Name: name, Kind: engine.ListNames, Version: 1, Entries: n, ImportedAt: testNow})
	}
	load("un", func(emit func(*engine.Entry) error) error {
		return importer.ReadUNXML(bytes.NewReader(sample.UNList), "un_consolidated.xml", emit)
	})
	what := "UN"
	if withOFAC {
		if _, err := os.Stat(filepath.Join(ofacDir, "sdn.csv")); err == nil {
			load("ofac", func(emit func(*engine.Entry) error) error { return importer.ReadOFAC(os.DirFS(ofacDir), emit) })
			what = "UN + OFAC 2021"
		} else {
			tb.Logf("OFAC set not found at %s: UN list only", ofacDir)
		}
	}
	return indexScreener{match.NewScreener(b.Build(), nil, match.Config{})}, persons, what
}

// indexScreener is the real matcher as a Screener: checked against the
// lists of its index.
type indexScreener struct{ *match.Screener }

func (s indexScreener) Edition() Edition { return s }

func (s indexScreener) Checked() ([]engine.CheckedList, []string) {
	var out []engine.CheckedList
	for _, l := range s.Index().Lists() {
		out = append(out, engine.CheckedList{List: l.Name, Version: l.Version, Entries: l.Entries})
	}
	return out, nil
}
