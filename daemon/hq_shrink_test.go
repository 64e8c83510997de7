package daemon

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/web"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// nationalCSV is a native CSV edition of n entries n0..n<n-1>.
func nationalCSV(n int) []byte {
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "n%d,PERSON NUMBER %d\n", i, i)
	}
	return []byte(b.String())
}

// shrinkEvents returns HQ's audit events of confirmed shrinks.
func shrinkEvents(t *testing.T, h *HQ) []web.Event {
	t.Helper()
	var out []web.Event
	err := HQEvents(h.Store(), nil).Each(t.Context(), time.Time{}, time.Now().Add(time.Hour), func(e web.Event) bool {
		if e.Action == web.ActionShrinkConfirmed {
			out = append(out, e)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHQShrinkGuard: an edition removing most of a list is refused on
// every path that publishes (the console's approval, the admin API) until
// a person confirms it, and HQ's audit trail records who did.
func TestHQShrinkGuard(t *testing.T) {
	h, ctx, stop := runHQ(t)
	defer stop()

	src := func(n int) func(func(*engine.Entry) error) error {
		return func(emit func(*engine.Entry) error) error {
			for i := 0; i < n; i++ {
				e := engine.Entry{ID: fmt.Sprintf("n%d", i), Kind: engine.KindPerson, Names: []engine.Name{{Value: fmt.Sprintf("PERSON NUMBER %d", i), Kind: engine.NamePrimary}}}
				if err := emit(&e); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if _, err := h.Publisher().PublishEntries(ctx, publish.Edition{List: "national", Format: "csv"}, src(20)); err != nil {
		t.Fatal(err)
	}

	// The console: alice proposes 2 of the 20 entries, bob approves.
	b := &hqBackend{h: h, st: h.Store(), srv: h.srv, pub: h.Publisher(), log: h.log, events: HQEvents(h.Store(), nil),
		proposals: filepath.Join(h.cfg.DataDir, hqProposalsSubdir), clock: h.cfg.Clock}
	p, err := b.Propose(ctx, "alice", web.EditionUpload{List: "national", Format: "csv", FileName: "two.csv", Data: nationalCSV(2)})
	if err != nil {
		t.Fatal(err)
	}
	if !p.ShrinkWarn || p.Removed != 18 || p.MaxShrink != engine.DefaultMaxShrink {
		t.Fatalf("proposal: warn %v, removed %d, limit %v", p.ShrinkWarn, p.Removed, p.MaxShrink)
	}
	_, err = b.Approve(ctx, p.ID, "bob", false)
	if !errors.Is(err, web.ErrShrinkUnconfirmed) || !strings.Contains(err.Error(), "20 → 2 entries, 18 removed") {
		t.Fatalf("unconfirmed approval: %v", err)
	}
	if got, _ := b.Proposal(ctx, p.ID); got.State != web.ProposalPending {
		t.Errorf("after the refusal the proposal is %s, want pending", got.State)
	}
	if info, _ := h.Store().List("national"); info.Version != 1 || info.Entries != 20 {
		t.Fatalf("after the refusal: version %d, %d entries", info.Version, info.Entries)
	}
	if ev := shrinkEvents(t, h); len(ev) != 0 {
		t.Fatalf("a refused shrink was audited: %+v", ev)
	}
	got, err := b.Approve(ctx, p.ID, "bob", true)
	if err != nil || got.State != web.ProposalApproved || got.Version != 2 {
		t.Fatalf("confirmed approval: %+v, %v", got, err)
	}
	ev := shrinkEvents(t, h)
	if len(ev) != 1 || ev[0].Actor != "bob" || ev[0].Subject != "national" || !strings.Contains(ev[0].Detail, "20 → 2 entries, 18 removed (90.0 %, limit 10.0 %)") {
		t.Fatalf("audit events %+v", ev)
	}

	// The admin API (watchpost-hq publish --hq): 1 entry over 2.
	post := func(query string) (int, string) {
		return hqDo(t, ctx, h, http.MethodPost, protocol.EditionsPath("national")+"?format=csv&single_person=true&actor=carol"+query,
			testAdminToken, strings.NewReader(string(nationalCSV(1))))
	}
	if code, body := post(""); code != http.StatusConflict || !strings.Contains(body, "2 → 1 entries, 1 removed (50.0 %") || !strings.Contains(body, "confirm") {
		t.Fatalf("unconfirmed: %d %q", code, body)
	}
	if info, _ := h.Store().List("national"); info.Version != 2 {
		t.Fatalf("the refused edition was published: version %d", info.Version)
	}
	if code, body := post("&confirm_shrink=true"); code != http.StatusOK {
		t.Fatalf("confirmed: %d %q", code, body)
	}
	ev = shrinkEvents(t, h)
	if len(ev) != 2 || !strings.HasPrefix(ev[1].Actor, "carol (admin API from ") {
		t.Fatalf("audit events %+v", ev)
	}
}
