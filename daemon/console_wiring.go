package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchpost/watchpost/daemon/api/input"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/daemon/web"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/match"
	"github.com/watchpost/watchpost/engine/mrz"
	"github.com/watchpost/watchpost/engine/paxlst"
)

// ConsoleNamespace is the records namespace of the officer console's
// accounts and events in the post's store.
const ConsoleNamespace = "console"

// ConsoleUsers returns the post's console accounts in st (for `watchpost
// user` and the console).
func ConsoleUsers(st *badgerstore.Store, clk clock.Clock) *web.UserStore {
	return web.NewUserStore(st.Records(ConsoleNamespace), web.PostRoles, clk)
}

// ConsoleEvents returns the console's own audit events in st.
func ConsoleEvents(st *badgerstore.Store, clk clock.Clock) *web.EventLog {
	return web.NewEventLog(st.Records(ConsoleNamespace), clk)
}

// newConsole builds the officer's console over the running post: the
// store, ledger and screening index must be open.
func (p *Post) newConsole(st *badgerstore.Store) (*web.App, error) {
	c := &consoleBackend{p: p, st: st, events: ConsoleEvents(st, p.opts.Clock)}
	c.mrz.Clock = p.opts.Clock
	return web.NewOfficer(web.OfficerOptions{
		Users: ConsoleUsers(st, p.opts.Clock), Screener: c, Hits: c, Manifests: c, Status: c, Audit: c,
		PostID: p.cfg.PostID, IdleTimeout: time.Duration(p.cfg.API.ConsoleIdleTimeout), Clock: p.opts.Clock,
		Logger: p.log.With(logkey.Component, "console"),
	})
}

// consoleBackend is the post as the officer console's Screener, HitStore,
// ManifestStore, StatusSource and AuditTrail.
type consoleBackend struct {
	p      *Post
	st     *badgerstore.Store
	events *web.EventLog
	mrz    mrz.Parser
}

// Lists are the lists a screening is checked against now (Post.Checked).
func (c *consoleBackend) Lists(ctx context.Context) []web.CheckedList {
	return consoleLists(c.p.Edition())
}

// consoleLists are the lists a screening with ed is checked against.
func consoleLists(ed Edition) []web.CheckedList {
	checked, _ := ed.Checked()
	out := make([]web.CheckedList, len(checked))
	for i, l := range checked {
		out[i] = web.CheckedList{Name: l.List, Version: l.Version, Entries: l.Entries, Stale: l.StaleReason}
	}
	return out
}

// screenOne screens a traveller with ed, checked against checked (ed's
// lists): hits, or why it is not screened. Nothing is recorded.
func (c *consoleBackend) screenOne(ed Edition, q *engine.Query, checked []web.CheckedList) ([]engine.Hit, string) {
	if len(checked) == 0 {
		return nil, web.NotScreenedNoList
	}
	if c.p.Ledger() == nil {
		return nil, web.NotScreenedNotRunning
	}
	hits, err := ed.Screen(q)
	if err != nil {
		if !errors.Is(err, match.ErrEmptyQuery) {
			c.p.log.Warn("console: screening failed", logkey.Error, err)
		}
		return nil, web.NotScreenedFailed
	}
	return hits, ""
}

func (c *consoleBackend) ScreenTraveller(ctx context.Context, actor string, q engine.Query) (web.Screening, error) {
	now := c.p.opts.Clock.Now()
	ed := c.p.Edition()
	s := web.Screening{Traveller: q, At: now, Checked: consoleLists(ed)}
	var hits []engine.Hit
	if hits, s.NotScreened = c.screenOne(ed, &q, s.Checked); s.NotScreened != "" {
		return s, nil
	}
	s.Hits, s.Listed = hits, c.listed(hits)
	rec, err := c.p.Ledger().Record(context.WithoutCancel(ctx), ledger.Screening{
		Source: ledger.SourceAPI, Actor: actor, Traveller: q, Hits: hits, ScreenedAt: now,
	})
	if err != nil {
		c.p.log.Error("console: screening not recorded", logkey.Error, err)
		s.NotScreened = web.NotScreenedNotRecord
		return s, nil
	}
	s.HitID = rec.HitID
	return s, nil
}

func (c *consoleBackend) ScreenMRZ(ctx context.Context, actor, text string) (web.Screening, error) {
	q, sum, err := input.FromMRZ(&c.mrz, text)
	if err != nil {
		return web.Screening{}, fmt.Errorf("%w: %w", web.ErrInvalidInput, err)
	}
	s, err := c.ScreenTraveller(ctx, actor, q)
	if err != nil {
		return s, err
	}
	info := &web.MRZInfo{Format: string(sum.Format), Valid: sum.Valid, Errors: sum.Errors, Lines: strings.Split(text, "\n")}
	for _, r := range sum.Repairs {
		info.Repairs = append(info.Repairs, fmt.Sprintf("%s %d:%d %s→%s", r.Field, r.Line, r.Position, r.From, r.To))
	}
	s.MRZ = info
	return s, nil
}

// listed reads the listed entry of each hit, nil where the list no longer
// has it or holds documents only.
func (c *consoleBackend) listed(hits []engine.Hit) []*engine.Entry {
	out := make([]*engine.Entry, len(hits))
	for i := range hits {
		e, _, err := c.st.Entry(hits[i].List, hits[i].EntryID)
		if err == nil {
			out[i] = &e
		} else if !errors.Is(err, badgerstore.ErrNoEntry) && !errors.Is(err, badgerstore.ErrNoList) && !errors.Is(err, badgerstore.ErrWrongKind) {
			c.p.log.Warn("console: listed entry unreadable", logkey.List, hits[i].List, logkey.Error, err)
		}
	}
	return out
}

func (c *consoleBackend) ScreenManifest(ctx context.Context, actor, name string, data []byte) (web.Manifest, error) {
	ic, err := paxlst.Parse(data)
	if err != nil {
		return web.Manifest{}, fmt.Errorf("%w: %w", web.ErrInvalidInput, err)
	}
	travellers := input.FromPAXLST(ic)
	if len(travellers) == 0 {
		return web.Manifest{}, fmt.Errorf("%w: the message lists no traveller that could be read", web.ErrInvalidInput)
	}
	now := c.p.opts.Clock.Now()
	ed := c.p.Edition() // every traveller against the same lists
	m := web.Manifest{Name: name, Warnings: input.PAXLSTWarnings(ic), Checked: consoleLists(ed), At: now}
	for mi := range ic.Messages {
		for _, f := range ic.Messages[mi].Flights {
			m.Flights = append(m.Flights, web.Flight{Number: f.Number, Departure: f.Departure, Arrival: f.Arrival,
				DepartureTime: strings.Replace(f.DepartureTime, "T", " ", 1), ArrivalTime: strings.Replace(f.ArrivalTime, "T", " ", 1)})
		}
	}
	m.Travellers = make([]web.ManifestTraveller, len(travellers))
	var screenings []ledger.Screening
	var at []int // screenings[k] is m.Travellers[at[k]]
	for i := range travellers {
		t := &travellers[i]
		mt := &m.Travellers[i]
		*mt = web.ManifestTraveller{Index: i, Message: t.Message, Position: t.Position, Role: t.Role, Flight: t.Flight, Traveller: t.Query}
		hits, why := c.screenOne(ed, &t.Query, m.Checked)
		if why != "" {
			if why != web.NotScreenedFailed {
				m.NotScreened = why
			}
			mt.Error = why
			continue
		}
		mt.Hits, mt.Band = len(hits), engine.Strongest(hits)
		ref := strings.TrimSpace(t.Flight + " " + name)
		screenings = append(screenings, ledger.Screening{Source: ledger.SourceManifest, Ref: ref, Actor: actor, Traveller: t.Query, Hits: hits, ScreenedAt: now})
		at = append(at, i)
	}
	if m.NotScreened != "" {
		return m, nil
	}
	led := c.p.Ledger()
	br, err := led.RecordBatch(context.WithoutCancel(ctx), manifestKey(data, m.Checked), screenings)
	switch {
	case errors.Is(err, ledger.ErrBatchTooBig):
		return web.Manifest{}, fmt.Errorf("%w: %d travellers are more than the post records in one manifest", web.ErrInvalidInput, len(screenings))
	case err != nil:
		c.p.log.Error("console: manifest not recorded", logkey.Error, err)
		m.NotScreened = web.NotScreenedNotRecord
		return m, nil
	}
	m.Replayed, m.Screened, m.WithHits = br.Replayed, br.Screened, br.HitTravellers
	for _, h := range br.HitRecords {
		if h.Index >= 0 && h.Index < len(at) {
			m.Travellers[at[h.Index]].HitID = h.HitID
		}
	}
	return m, nil
}

// manifestKey is the idempotency key of an uploaded file against the
// lists it was screened on: the same file sent twice against the same
// lists is recorded once; after a list update it is screened anew.
func manifestKey(data []byte, lists []web.CheckedList) string {
	h := sha256.New()
	h.Write(data)
	for _, l := range lists {
		fmt.Fprintf(h, "\x00%s\x00%d", l.Name, l.Version)
	}
	return "console:" + hex.EncodeToString(h.Sum(nil))
}

// Hits reads hits newest first, filters them, and stops at web.MaxQueue
// (Truncated then).
func (c *consoleBackend) Hits(ctx context.Context, f web.HitFilter) (web.HitList, error) {
	led := c.p.Ledger()
	if led == nil {
		return web.HitList{}, errors.New("post not running")
	}
	lf := ledger.HitFilter{Limit: ledger.MaxPageLimit}
	switch f.Status {
	case "":
	case "open":
		lf.Status = ledger.StatusOpen
	case "decided":
		lf.Status = ledger.StatusDecided
	default:
		lf.Status = ledger.Status(f.Status)
	}
	var out web.HitList
	for {
		page, err := led.Hits(ctx, lf)
		if err != nil {
			return web.HitList{}, err
		}
		for i := range page.Hits {
			h := &page.Hits[i]
			if !hitMatches(h, f) {
				continue
			}
			if len(out.Hits) == web.MaxQueue {
				out.Truncated = true
				return out, nil
			}
			out.Hits = append(out.Hits, hitSummary(h))
		}
		if page.Next == "" {
			return out, nil
		}
		lf.Cursor = page.Next
	}
}

func hitMatches(h *ledger.HitRecord, f web.HitFilter) bool {
	if f.Band != "" && engine.Strongest(h.Hits) != f.Band {
		return false
	}
	if f.Flight != "" && !strings.Contains(strings.ToUpper(h.Ref), strings.ToUpper(f.Flight)) {
		return false
	}
	if f.List != "" && !slices.ContainsFunc(h.Hits, func(x engine.Hit) bool { return x.List == f.List }) {
		return false
	}
	return true
}

func hitSummary(h *ledger.HitRecord) web.HitSummary {
	s := web.HitSummary{ID: h.ID, Status: string(h.Status), Band: engine.Strongest(h.Hits), Name: h.Traveller.FullName(),
		Ref: h.Ref, Source: h.Source, ScreenedAt: h.ScreenedAt, Matches: len(h.Hits)}
	for _, x := range h.Hits {
		if !slices.Contains(s.Lists, x.List) {
			s.Lists = append(s.Lists, x.List)
		}
	}
	return s
}

func (c *consoleBackend) Hit(ctx context.Context, id string) (web.Hit, error) {
	led := c.p.Ledger()
	if led == nil {
		return web.Hit{}, errors.New("post not running")
	}
	h, err := led.Hit(ctx, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return web.Hit{}, fmt.Errorf("%w: %w", web.ErrNotFound, err)
	}
	if err != nil {
		return web.Hit{}, err
	}
	return c.webHit(&h), nil
}

func (c *consoleBackend) webHit(h *ledger.HitRecord) web.Hit {
	out := web.Hit{ID: h.ID, Status: string(h.Status), Source: h.Source, Ref: h.Ref, Actor: h.Actor, ScreenedAt: h.ScreenedAt,
		Traveller: h.Traveller, Hits: h.Hits, Listed: c.listed(h.Hits)}
	for _, d := range h.Decisions {
		out.Decisions = append(out.Decisions, web.Decision{ID: d.ID, Decision: d.Decision, Officer: d.Officer, Note: d.Note, Via: d.Actor, DecidedAt: d.DecidedAt})
	}
	return out
}

func (c *consoleBackend) Decide(ctx context.Context, id string, d web.Decision) (web.Hit, error) {
	led := c.p.Ledger()
	if led == nil {
		return web.Hit{}, errors.New("post not running")
	}
	h, err := led.Dispose(context.WithoutCancel(ctx), id, ledger.Disposition{Decision: d.Decision, Officer: d.Officer, Note: d.Note, Actor: d.Via})
	if errors.Is(err, ledger.ErrNotFound) {
		return web.Hit{}, fmt.Errorf("%w: %w", web.ErrNotFound, err)
	}
	if err != nil {
		return web.Hit{}, err
	}
	return c.webHit(&h), nil
}

// Manifests are the ledger's batch markers: uploads from the console and
// files of the folder intake, with counts and hit ids only.
func (c *consoleBackend) Manifests(ctx context.Context, limit int) ([]web.ManifestSummary, error) {
	led := c.p.Ledger()
	if led == nil {
		return nil, errors.New("post not running")
	}
	bs, err := led.Batches(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]web.ManifestSummary, 0, len(bs))
	for _, b := range bs {
		m := web.ManifestSummary{Key: b.Key, Screened: b.Screened, HitTravellers: b.HitTravellers, At: b.RecordedAt, Source: ledger.SourceIntake}
		for _, r := range b.Refs {
			m.Source = r.Source
			flight, file, ok := strings.Cut(r.Ref, " ")
			if !ok {
				flight, file = "", r.Ref
			}
			if flight != "" && !slices.Contains(m.Flights, flight) {
				m.Flights = append(m.Flights, flight)
			}
			if file != "" && !slices.Contains(m.Files, file) {
				m.Files = append(m.Files, file)
			}
		}
		for _, h := range b.HitRecords {
			m.HitIDs = append(m.HitIDs, h.HitID)
		}
		out = append(out, m)
	}
	return out, nil
}

func (c *consoleBackend) Status(ctx context.Context) (web.Status, error) {
	p := c.p
	s := web.Status{Post: p.cfg.PostID, Software: p.opts.Software, Clock: p.opts.Clock.Now(), HQURL: p.cfg.HQ.URL}
	s.Screenings, s.LastScreening = p.Screenings()
	if led := p.Ledger(); led != nil {
		s.OpenHits = led.Stats().OpenHits
	}
	if ob := p.Outbox(); ob != nil {
		d := ob.Depth()
		s.OutboxRecords, s.OutboxHigh, s.OutboxBytes, s.OutboxBudget, s.OverBudget = d.Records, d.High, d.Bytes, d.Budget, d.OverBudget
	}
	held, _ := c.st.Lists()
	sync, linked := p.SyncStatus()
	if linked {
		s.Link = web.Link{Configured: true, Up: sync.Connected, LastSync: sync.LastSync}
	}
	for _, in := range held {
		ls := web.ListStatus{Name: in.Name, Version: in.Version, Entries: in.Entries, ImportedAt: in.ImportedAt, Action: in.Action}
		for _, l := range sync.Lists {
			if l.List != in.Name {
				continue
			}
			ls.Replicated, ls.HeadIssuedAt, ls.HeadValidUntil = true, l.HeadIssuedAt, l.HeadValidUntil
			ls.Behind, ls.Stale, ls.Diverged = l.Behind, l.Stale, l.Diverged
			if l.LastError != "" {
				s.Link.LastError = l.List + ": " + l.LastError
			}
		}
		s.Lists = append(s.Lists, ls)
	}
	return s, nil
}

// Append records a console event in the console's own trail.
func (c *consoleBackend) Append(ctx context.Context, e web.Event) error {
	return c.events.Append(ctx, e)
}

// Audit merges the ledger's audit trail (screenings, hits, decisions,
// purges) with the console's events (logins, lockouts, accounts), oldest
// first.
func (c *consoleBackend) Audit(ctx context.Context, f web.AuditFilter, fn func(web.AuditEntry) bool) error {
	keep := func(e *web.AuditEntry) bool {
		return (f.Actor == "" || strings.EqualFold(e.Actor, f.Actor)) && (f.Action == "" || strings.EqualFold(e.Action, f.Action))
	}
	var events []web.AuditEntry
	err := c.events.Each(ctx, f.From, f.To, func(e web.Event) bool {
		a := web.AuditEntry{Time: e.Time, Actor: e.Actor, Action: e.Action, Subject: e.Subject, Detail: e.Detail}
		if keep(&a) {
			events = append(events, a)
		}
		return true
	})
	if err != nil {
		return err
	}
	emit := func(e web.AuditEntry) bool {
		for len(events) > 0 && !events[0].Time.After(e.Time) {
			if !fn(events[0]) {
				return false
			}
			events = events[1:]
		}
		return fn(e)
	}
	if led := c.p.Ledger(); led != nil {
		af := ledger.AuditFilter{Since: f.From, Limit: ledger.MaxPageLimit}
	pages:
		for {
			page, err := led.Audit(ctx, af)
			if err != nil {
				return err
			}
			for i := range page.Entries {
				e := ledgerAudit(&page.Entries[i])
				if !f.To.IsZero() && !e.Time.Before(f.To) {
					break pages
				}
				if keep(&e) && !emit(e) {
					return nil
				}
			}
			if !page.More {
				break
			}
			af.Cursor = page.Next
		}
	}
	for _, e := range events {
		if !fn(e) {
			return nil
		}
	}
	return nil
}

func ledgerAudit(e *ledger.AuditEntry) web.AuditEntry {
	a := web.AuditEntry{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, Via: e.Via, HitID: e.HitID, Ref: e.Ref, Source: e.Source,
		Decision: e.Decision, Previous: e.Previous, Matches: e.Matches}
	if p := e.Purged; p != nil {
		a.Purged = &web.PurgeCounts{Screenings: p.Screenings, Hits: p.Hits, OpenHits: p.OpenHits, Manifests: p.Batches}
	}
	return a
}
