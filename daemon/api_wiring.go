package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/sync/protocol"
)

// apiLedger adapts the ledger to the API's Ledger interface.
type apiLedger struct{ l *ledger.Ledger }

func (a apiLedger) Record(ctx context.Context, s api.Screening) (api.Recorded, error) {
	r, err := a.l.Record(ctx, ledger.Screening{Source: s.Source, Ref: s.Ref, Actor: s.Actor, Traveller: s.Traveller, Hits: s.Hits, ScreenedAt: s.ScreenedAt})
	if err != nil {
		return api.Recorded{}, err
	}
	return api.Recorded{ScreeningID: r.ScreeningID, HitID: r.HitID}, nil
}

func (a apiLedger) Hits(ctx context.Context, f api.HitFilter) ([]api.HitRecord, string, error) {
	lf := ledger.HitFilter{Since: f.Since, Limit: f.Limit, Cursor: f.Cursor}
	switch f.Status {
	case api.StatusOpen:
		lf.Status = ledger.StatusOpen
	case api.StatusDisposed:
		lf.Status = ledger.StatusDecided
	}
	page, err := a.l.Hits(ctx, lf)
	if err != nil {
		return nil, "", ledgerErr(err)
	}
	out := make([]api.HitRecord, 0, len(page.Hits))
	for i := range page.Hits {
		out = append(out, apiHit(&page.Hits[i]))
	}
	return out, page.Next, nil
}

func (a apiLedger) Hit(ctx context.Context, id string) (api.HitRecord, error) {
	h, err := a.l.Hit(ctx, id)
	if err != nil {
		return api.HitRecord{}, ledgerErr(err)
	}
	return apiHit(&h), nil
}

func (a apiLedger) Dispose(ctx context.Context, id string, d api.Disposition) (api.HitRecord, error) {
	h, err := a.l.Dispose(ctx, id, ledger.Disposition{Decision: d.Decision, Officer: d.Officer, Note: d.Note, Actor: d.Actor})
	if err != nil {
		return api.HitRecord{}, ledgerErr(err)
	}
	return apiHit(&h), nil
}

// ledgerErr maps the ledger's errors to the API's.
func ledgerErr(err error) error {
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return fmt.Errorf("%w: %w", api.ErrNotFound, err)
	case errors.Is(err, ledger.ErrInvalid):
		return fmt.Errorf("%w: %w", api.ErrConflict, err)
	}
	return err
}

func apiHit(h *ledger.HitRecord) api.HitRecord {
	r := api.HitRecord{
		ID: h.ID, ScreeningID: h.ScreeningID, Status: api.StatusOpen, Source: h.Source, Ref: h.Ref,
		Traveller: h.Traveller, Hits: h.Hits, ScreenedAt: h.ScreenedAt, Actor: h.Actor, Band: api.BandNone,
	}
	for _, x := range h.Hits {
		if r.Band == api.BandNone || (x.Band == engine.BandMatch && r.Band != engine.BandMatch) {
			r.Band = x.Band
		}
	}
	if n := len(h.Decisions); n > 0 {
		d := h.Decisions[n-1]
		r.Status = api.StatusDisposed
		r.Disposition = &api.Disposition{Decision: d.Decision, Officer: d.Officer, Note: d.Note, DecidedAt: d.DecidedAt}
	}
	return r
}

// apiStatus is the post as the API's StatusSource and Readiness.
type apiStatus struct{ p *Post }

func (a apiStatus) Status(ctx context.Context) (api.Status, error) {
	if st, ok := a.p.SyncStatus(); ok {
		s := api.Status{PostStatus: st.PostStatus, Link: api.Link{Up: st.Connected, LastSync: st.LastSync}}
		for _, l := range st.Lists {
			if l.LastError != "" {
				s.Link.LastError = l.List + ": " + l.LastError
			}
		}
		return s, nil
	}
	// No link to HQ configured: the lists held locally.
	ps := protocol.PostStatus{Post: a.p.cfg.PostID, Software: a.p.opts.Software, Clock: a.p.opts.Clock.Now().UTC(), Lists: []protocol.ListHeld{}}
	for _, in := range a.p.Indexed() {
		ps.Lists = append(ps.Lists, protocol.ListHeld{List: in.Name, Hash: in.Hash, Entries: in.Entries, Stale: "not replicated from HQ (imported locally)"})
	}
	if ob := a.p.Outbox(); ob != nil {
		d := ob.Depth()
		ps.Outbox = protocol.OutboxState{Records: d.Records, High: d.High, Bytes: d.Bytes, Budget: d.Budget, OverBudget: d.OverBudget, Dropped: d.Dropped}
	}
	ps.Screenings, ps.LastScreening = a.p.Screenings()
	return api.Status{PostStatus: ps}, nil
}

// Ready: not ready while no list is in the screening index; degraded
// while a replicated list is STALE (no unexpired signed head) or diverged.
func (a apiStatus) Ready(ctx context.Context) (api.ReadyState, string) {
	if len(a.p.Indexed()) == 0 {
		return api.NotReady, "no list loaded"
	}
	if st, ok := a.p.SyncStatus(); ok {
		for _, l := range st.Lists {
			switch {
			case l.Stale != "":
				return api.Degraded, "list " + l.List + " is STALE: " + l.Stale
			case l.Diverged:
				return api.Degraded, "list " + l.List + " diverged from HQ; a snapshot is on its way"
			}
		}
	}
	return api.Ready, ""
}

// feedMetrics refreshes the API's gauges every interval until ctx ends.
func (p *Post) feedMetrics(ctx context.Context, m *api.Metrics, every time.Duration) {
	known := map[string]bool{}
	for {
		if ob := p.Outbox(); ob != nil {
			m.SetOutboxDepth(ob.Depth().Records)
		}
		seen := map[string]bool{}
		if st, ok := p.SyncStatus(); ok {
			m.SetLinkUp(st.Connected)
			for _, l := range st.Lists {
				if !l.HeadIssuedAt.IsZero() {
					m.SetListImported(l.List, l.HeadIssuedAt)
					seen[l.List] = true
				}
			}
		}
		for _, in := range p.Indexed() {
			if !seen[in.Name] {
				m.SetListImported(in.Name, in.ImportedAt)
				seen[in.Name] = true
			}
		}
		for l := range known {
			if !seen[l] {
				m.ForgetList(l)
			}
		}
		known = seen
		t := p.opts.Clock.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}
