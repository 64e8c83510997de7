package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
)

// benchHQ is the HQ console over fixed data: 500 posts, one page of hits.
type benchHQ struct {
	posts []FleetPost
	rows  []HQHitRow
}

func (b *benchHQ) Posts(context.Context) ([]FleetPost, error) { return b.posts, nil }
func (b *benchHQ) History(context.Context, string, time.Time) ([]Sample, error) {
	return nil, nil
}
func (b *benchHQ) Hits(context.Context, HQHitFilter) (HQHitPage, error) {
	return HQHitPage{Rows: b.rows, Next: "00"}, nil
}
func (b *benchHQ) Hit(context.Context, string, string) (HQHit, error)          { return HQHit{}, ErrNotFound }
func (b *benchHQ) Export(context.Context, HQHitFilter, func(HQHit) bool) error { return nil }
func (b *benchHQ) PerDay(context.Context, time.Time, time.Time) ([]DayCount, error) {
	return nil, nil
}
func (b *benchHQ) Lists(context.Context) ([]PublishedList, error) {
	return []PublishedList{{Name: "un", Version: 9, Published: 9}}, nil
}
func (b *benchHQ) Formats() []string { return []string{"csv"} }
func (b *benchHQ) Propose(context.Context, string, EditionUpload) (Proposal, error) {
	return Proposal{}, ErrInvalidInput
}
func (b *benchHQ) Proposals(context.Context, int) ([]Proposal, error) { return nil, nil }
func (b *benchHQ) Proposal(context.Context, string) (Proposal, error) { return Proposal{}, ErrNotFound }
func (b *benchHQ) Approve(context.Context, string, string, bool) (Proposal, error) {
	return Proposal{}, ErrNotFound
}
func (b *benchHQ) Reject(context.Context, string, string, string) (Proposal, error) {
	return Proposal{}, ErrNotFound
}
func (b *benchHQ) Keys(context.Context) (KeysView, error) {
	return KeysView{Current: KeyInfo{ID: "0123456789abcdef"}}, nil
}

// hqConsoleOver builds the HQ console over d, with one admin signed in,
// and returns it with the admin's session token.
func hqConsoleOver(tb testing.TB, d *benchHQ) (*App, string) {
	tb.Helper()
	st := storetest.OpenWith(tb, tb.TempDir(), badgerstore.Options{})
	users := NewUserStore(st.Records("c"), HQRoles, nil)
	if _, err := users.Add(context.Background(), "ana", RoleAdmin, "a long password"); err != nil {
		tb.Fatal(err)
	}
	app, err := NewHQConsole(HQOptions{Users: users, Fleet: d, Hits: d, Editions: d, Keys: d, Audit: NewEventLog(st.Records("c"), nil)})
	if err != nil {
		tb.Fatal(err)
	}
	u, _ := users.Get(context.Background(), "ana")
	token, _ := app.Sessions().New(u)
	return app, token
}

// hqGet asks app for path in the session token and returns the status.
func hqGet(app *App, token, path string) int {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(&http.Cookie{Name: "wp_hq_session", Value: token})
	w := httptest.NewRecorder()
	app.ServeHTTP(w, req)
	return w.Code
}

// TestHQPagesNotFound: an unknown hit or edition is answered 404.
func TestHQPagesNotFound(t *testing.T) {
	app, token := hqConsoleOver(t, &benchHQ{})
	for _, path := range []string{"/hits/post-001/nope", "/editions/nope"} {
		if code := hqGet(app, token, path); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, code)
		}
	}
}

// BenchmarkHQPages renders the fleet page with 500 posts (some offline,
// lagging or with a wrong clock) and a 50-row hits page, with the
// session and the whole handler chain.
func BenchmarkHQPages(b *testing.B) {
	now := time.Now()
	d := &benchHQ{}
	for i := range 500 {
		p := FleetPost{Post: fmt.Sprintf("post-%03d", i), Presence: "online", LastSeen: now.Add(-time.Duration(i%400) * time.Second),
			Software: "1.4.2", Keys: []string{"0123456789abcdef"}, Measured: true, ClockOffset: time.Duration(i%9) * 20 * time.Second,
			Lists:  []FleetList{{List: "un", Held: 9 - uint64(i%3), Published: 9, Lag: uint64(i % 3)}, {List: "ofac", Held: 4, Published: 4}},
			Outbox: OutboxDepth{Records: i % 150, High: i % 150}}
		d.posts = append(d.posts, p)
	}
	for i := range 50 {
		d.rows = append(d.rows, HQHitRow{Post: "post-001", ID: fmt.Sprintf("h%d", i), ReceivedAt: now, ScreenedAt: now, Band: engine.BandPossible,
			Name: "TRAVELLER NAME", Lists: []string{"un"}, Status: "open", Source: "api"})
	}
	app, token := hqConsoleOver(b, d)
	for _, path := range []string{"/fleet", "/hits"} {
		b.Run(path[1:], func(b *testing.B) {
			for b.Loop() {
				if code := hqGet(app, token, path); code != http.StatusOK {
					b.Fatalf("%s: %d", path, code)
				}
			}
		})
	}
}
