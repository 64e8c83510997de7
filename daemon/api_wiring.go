package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/agent"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
)

// apiScreener is the post as the API's Screener: one answer, one edition.
type apiScreener struct{ p *Post }

func (a apiScreener) Edition() api.Edition { return a.p.Edition() }

// apiLedger adapts the ledger to the API's Ledger interface.
type apiLedger struct{ l *ledger.Ledger }

// APILedger returns the ledger as the API's Ledger: what the post serves,
// and what the API's tests run against.
func APILedger(l *ledger.Ledger) api.Ledger { return apiLedger{l} }

func (a apiLedger) Record(ctx context.Context, s api.Screening) (api.Recorded, error) {
	r, err := a.l.Record(ctx, ledger.Screening{Source: s.Source, Ref: s.Ref, Actor: s.Actor, Traveller: s.Traveller, Hits: s.Hits, ScreenedAt: s.ScreenedAt})
	if err != nil {
		return api.Recorded{}, ledgerErr(err)
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
		return fmt.Errorf("%w: %w", api.ErrInvalid, err)
	case errors.Is(err, badgerstore.ErrDiskLow):
		// The answer names the space, not the ledger's layers.
		var dl *badgerstore.DiskLowError
		if errors.As(err, &dl) {
			return fmt.Errorf("%w: %w", api.ErrInsufficientStorage, dl)
		}
		return fmt.Errorf("%w: %w", api.ErrInsufficientStorage, err)
	}
	return err
}

// apiHit converts a hit record; the decision in force, if any, carries
// the actor it came through.
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
	r.Decisions = make([]api.Disposition, 0, len(h.Decisions))
	for _, d := range h.Decisions {
		r.Decisions = append(r.Decisions, api.Disposition{Decision: d.Decision, Officer: d.Officer, Note: d.Note, Actor: d.Actor, DecidedAt: d.DecidedAt})
	}
	if n := len(r.Decisions); n > 0 {
		r.Status = api.StatusDisposed
		r.Disposition = &r.Decisions[n-1]
	}
	return r
}

// apiStatus is the post as the API's StatusSource and Readiness.
type apiStatus struct{ p *Post }

func (a apiStatus) Status(ctx context.Context) (api.Status, error) {
	disk := a.p.disk()
	if st, ok := a.p.SyncStatus(); ok {
		ps := st.PostStatus
		ps.Lists = screeningVersions(ps.Lists, a.p.Indexed())
		s := api.Status{PostStatus: ps, Link: api.Link{Up: st.Connected, LastSync: st.LastSync, UnackedSince: st.UnackedSince}, Disk: disk}
		s.Link.PublishesRefused = s.Link.Refused(a.p.opts.Clock.Now())
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
	return api.Status{PostStatus: ps, Disk: disk}, nil
}

// disk measures the store's free space against its reserve, for the
// status and /readyz (zero before Run opened the store).
func (p *Post) disk() api.Disk {
	st := p.Store()
	if st == nil {
		return api.Disk{}
	}
	sp := st.Space()
	d := api.Disk{Dir: sp.Dir, Free: sp.Free, Reserve: sp.Reserve, Low: sp.Low()}
	if sp.Err != nil {
		d.Error = sp.Err.Error()
	}
	return d
}

// Ready: not ready while no list is in the screening index; degraded
// while the disk is short of the store's reserve (nothing can be
// recorded), or a replicated list is STALE (no unexpired signed head) or
// diverged.
func (a apiStatus) Ready(ctx context.Context) (api.ReadyState, string) {
	if len(a.p.Indexed()) == 0 {
		return api.NotReady, "no list loaded"
	}
	if d := a.p.disk(); d.Low {
		return api.Degraded, fmt.Sprintf("disk low: %s free on the file system of %s, below the reserve of %s: screening on the lists held, nothing is recorded (507) and list updates wait until space is freed",
			badgerstore.Bytes(d.Free), d.Dir, badgerstore.Bytes(d.Reserve))
	}
	if st, ok := a.p.SyncStatus(); ok {
		for _, l := range st.Lists {
			switch {
			case l.Stale != "":
				return api.Degraded, "list " + l.List + " is STALE: " + l.Stale
			case l.Diverged:
				return api.Degraded, "list " + l.List + " diverged from HQ; a snapshot is on its way"
			case l.Conflict != "":
				return api.Degraded, "CONFLICT: " + l.Conflict
			}
		}
	}
	return api.Ready, ""
}

// registerMetrics registers in reg the post's series that are read at
// scrape time: the agent's counters (ag is nil when the post has no link
// to HQ), the outbox's depth and the ledger's counters.
func registerMetrics(reg prometheus.Registerer, ag *agent.Agent, ob *outbox.Outbox, led *ledger.Ledger) error {
	var cs []prometheus.Collector
	if ag != nil {
		counter := func(name, help string, f func(agent.Counters) uint64) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
				func() float64 { return float64(f(ag.Counters())) })
		}
		cs = append(cs,
			counter("watchpost_sync_deltas_applied_total", "List deltas applied, from MQTT or fetched over HTTPS.",
				func(c agent.Counters) uint64 { return c.Applied }),
			counter("watchpost_sync_snapshots_total", "List snapshots installed.",
				func(c agent.Counters) uint64 { return c.Snapshots }),
			counter("watchpost_sync_deltas_fetched_total", "List deltas fetched from HQ over HTTPS.",
				func(c agent.Counters) uint64 { return c.FetchedDeltas }),
			counter("watchpost_sync_rejected_total", "Messages from HQ rejected (unsigned, wrongly signed, corrupt, expired, rolled back) and snapshots that failed to download, verify or install.",
				func(c agent.Counters) uint64 { return c.Rejected }),
			counter("watchpost_sync_conflicts_total", "Signed heads from HQ that contradict one already accepted (same issue time, other content).",
				func(c agent.Counters) uint64 { return c.Conflicts }),
			counter("watchpost_sync_statuses_total", "Status records queued for HQ.",
				func(c agent.Counters) uint64 { return c.Statuses }),
		)
	}
	if ob != nil {
		gauge := func(name, help string, labels prometheus.Labels, f func(outbox.Depth) float64) prometheus.Collector {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels},
				func() float64 { return f(ob.Depth()) })
		}
		const recordsHelp = "Records waiting in the outbox for HQ, by priority (high: hits and dispositions; low: the rest)."
		cs = append(cs,
			gauge("watchpost_outbox_records", recordsHelp, prometheus.Labels{"priority": "high"},
				func(d outbox.Depth) float64 { return float64(d.High) }),
			gauge("watchpost_outbox_records", recordsHelp, prometheus.Labels{"priority": "low"},
				func(d outbox.Depth) float64 { return float64(d.Low) }),
			gauge("watchpost_outbox_bytes", "Logical size of the outbox, compared with its budget.", nil,
				func(d outbox.Depth) float64 { return float64(d.Bytes) }),
			gauge("watchpost_outbox_budget_bytes", "The outbox's budget: past it, low-priority records are dropped.", nil,
				func(d outbox.Depth) float64 { return float64(d.Budget) }),
			gauge("watchpost_outbox_over_budget", "1 while the outbox is over its budget (the alarm), else 0.", nil,
				func(d outbox.Depth) float64 {
					if d.OverBudget {
						return 1
					}
					return 0
				}),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "watchpost_outbox_dropped_total", Help: "Low-priority records the outbox budget dropped.",
			}, func() float64 { return float64(ob.Depth().Dropped) }),
		)
	}
	if led != nil {
		cs = append(cs,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "watchpost_ledger_open_hits", Help: "Hits awaiting an officer's decision.",
			}, func() float64 { return float64(led.Stats().OpenHits) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "watchpost_ledger_screenings_total", Help: "Screenings recorded in the ledger (API, manifests, intake).",
			}, func() float64 { return float64(led.Stats().Screenings) }),
		)
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	return nil
}

// feedMetrics refreshes, every interval until ctx ends, the API's gauges
// that the post pushes: the outbox depth, the link state and when each
// loaded list was made (the series registerMetrics adds are read at
// scrape time instead).
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

// screeningVersions returns held with each names list's version, hash and
// entry count those of the screening index, so that the status never
// calls current a version the screening does not use yet; a version the
// store holds and the index not yet counts as one more the post is
// behind. held itself is not modified.
func screeningVersions(held []protocol.ListHeld, indexed []engine.ListInfo) []protocol.ListHeld {
	out := slices.Clone(held)
	for i := range out {
		j := slices.IndexFunc(indexed, func(in engine.ListInfo) bool { return in.Name == out[i].List })
		if j < 0 || indexed[j].Version >= out[i].Version {
			continue
		}
		in := indexed[j]
		out[i].Behind += out[i].Version - in.Version
		out[i].Version, out[i].Hash, out[i].Entries = in.Version, in.Hash, in.Entries
	}
	return out
}
