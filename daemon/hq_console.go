package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/watchpost/watchpost/daemon/web"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/hqserver"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// HQConsoleNamespace is the records namespace of HQ's console in HQ's
// store: accounts (u/), events (e/) and edition proposals (p/).
const HQConsoleNamespace = "hq-console"

// hqProposalsSubdir holds the uploaded edition files of proposals
// (<data dir>/proposals/<id>.edition), each checked by its SHA-256 on
// approval and removed once the proposal is decided.
const hqProposalsSubdir = "proposals"

// HQUsers returns HQ's console accounts in st (for `watchpost-hq user`
// and the console).
func HQUsers(st *badgerstore.Store, clk clock.Clock) *web.UserStore {
	return web.NewUserStore(st.Records(HQConsoleNamespace), web.HQRoles, clk)
}

// HQEvents returns HQ's audit trail of console and command-line events in
// st.
func HQEvents(st *badgerstore.Store, clk clock.Clock) *web.EventLog {
	return web.NewEventLog(st.Records(HQConsoleNamespace), clk)
}

// newHQConsole builds HQ's console over the opened store, server and
// publisher (nil when HQ has no signing key).
func (h *HQ) newHQConsole() (*web.App, error) {
	b := &hqBackend{h: h, st: h.store, srv: h.srv, pub: h.pub, clock: h.cfg.Clock, log: h.log,
		proposals: filepath.Join(h.cfg.DataDir, hqProposalsSubdir), events: HQEvents(h.store, h.cfg.Clock)}
	if err := os.MkdirAll(b.proposals, 0o700); err != nil {
		return nil, fmt.Errorf("HQ console: %w", err)
	}
	return web.NewHQConsole(web.HQOptions{
		Users: HQUsers(h.store, h.cfg.Clock), Fleet: b, Hits: b, Editions: b, Keys: b, Audit: b.events,
		IdleTimeout: h.cfg.ConsoleIdleTimeout, Clock: h.cfg.Clock, Logger: h.log.With(logkey.Component, "hq-console"),
	})
}

// hqBackend is HQ as the console's Fleet, HQHits, Editions and
// KeySource.
type hqBackend struct {
	h         *HQ
	st        *badgerstore.Store
	srv       *hqserver.Server
	pub       *publish.Publisher
	clock     clock.Clock
	log       *slog.Logger
	events    *web.EventLog
	proposals string
	// mu serialises the decisions on proposals.
	mu sync.Mutex
}

// Posts maps hqserver's fleet table.
func (b *hqBackend) Posts(ctx context.Context) ([]web.FleetPost, error) {
	posts, err := b.srv.Posts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]web.FleetPost, len(posts))
	for i, p := range posts {
		fp := web.FleetPost{Post: p.Post, Presence: p.Presence, LastSeen: p.LastSeen, Software: p.Software, StatusAt: p.StatusAt,
			ClockOffset: p.ClockOffset, Measured: !p.OffsetAt.IsZero(), Keys: p.Keys, Screenings: p.Screenings,
			LastScreening: p.LastScreening, Audit: fleetAudit(p),
			Outbox: web.OutboxDepth{Records: p.Outbox.Records, High: p.Outbox.High, Bytes: p.Outbox.Bytes, Budget: p.Outbox.Budget, OverBudget: p.Outbox.OverBudget}}
		for _, l := range p.Lists {
			fp.Lists = append(fp.Lists, web.FleetList{List: l.List, Held: l.Held, Published: l.Published, Lag: l.Lag, Stale: l.Stale, Diverged: l.Diverged})
		}
		out[i] = fp
	}
	return out, nil
}

// fleetAudit is the post's audit-chain flag as HQ's check sums it up:
// "" (nothing received yet), "ok", or the first fault ("edited@17").
func fleetAudit(p hqserver.Post) string { return p.AuditFlag }

// History maps hqserver's hourly samples.
func (b *hqBackend) History(ctx context.Context, post string, from time.Time) ([]web.Sample, error) {
	hist, err := b.srv.History(ctx, post, from)
	if err != nil {
		return nil, err
	}
	out := make([]web.Sample, len(hist))
	for i, s := range hist {
		out[i] = web.Sample{At: s.At, Boot: s.Boot, Screenings: s.Screenings, Start: s.Start, Outbox: s.Outbox, Online: s.Online}
	}
	return out, nil
}

func hitQuery(f web.HQHitFilter) hqserver.HitQuery {
	return hqserver.HitQuery{Post: f.Post, List: f.List, Band: f.Band, Status: f.Decision, From: f.From, To: f.To, After: f.Cursor, Limit: f.Limit}
}

// Hits answers one page from hqserver's hit index.
func (b *hqBackend) Hits(ctx context.Context, f web.HQHitFilter) (web.HQHitPage, error) {
	page, err := b.srv.HitPage(ctx, hitQuery(f))
	if err != nil {
		return web.HQHitPage{}, err
	}
	out := web.HQHitPage{Next: page.Next, Rows: make([]web.HQHitRow, len(page.Hits))}
	for i, x := range page.Hits {
		r := x.Report
		row := web.HQHitRow{Post: x.Post, ID: x.ID, ReceivedAt: x.ReceivedAt, ScreenedAt: r.ScreenedAt, Band: engine.Strongest(r.Hits),
			Name: r.Traveller.FullName(), Lists: x.Lists, Status: x.Status, Source: r.Source, Ref: r.Ref}
		if n := len(x.History); n > 0 {
			row.Officer = x.History[n-1].Officer
		}
		out.Rows[i] = row
	}
	return out, nil
}

func (b *hqBackend) hit(x hqserver.IndexedHit, withListed bool) web.HQHit {
	r := x.Report
	h := web.HQHit{Post: x.Post, ID: x.ID, ReceivedAt: x.ReceivedAt, ScreenedAt: r.ScreenedAt, Source: r.Source, Ref: r.Ref,
		Traveller: r.Traveller, Hits: r.Hits, Invalid: x.Invalid}
	for _, d := range x.History {
		h.Decisions = append(h.Decisions, web.Decision{Decision: d.Decision, Officer: d.Officer, Note: d.Note, DecidedAt: d.DecidedAt})
	}
	if withListed {
		h.Listed = make([]*engine.Entry, len(r.Hits))
		h.ListedVersion = make([]uint64, len(r.Hits))
		for i, x := range r.Hits {
			if e, info, err := b.st.Entry(x.List, x.EntryID); err == nil {
				h.Listed[i], h.ListedVersion[i] = &e, info.Version
			}
		}
	}
	return h
}

// Hit returns one hit with the listed entries as HQ holds them.
func (b *hqBackend) Hit(ctx context.Context, post, id string) (web.HQHit, error) {
	x, ok, err := b.srv.Hit(ctx, post, id)
	if err != nil {
		return web.HQHit{}, err
	}
	if !ok {
		return web.HQHit{}, web.ErrNotFound
	}
	return b.hit(x, true), nil
}

// Export streams the hits of a filter.
func (b *hqBackend) Export(ctx context.Context, f web.HQHitFilter, fn func(web.HQHit) bool) error {
	return b.srv.ExportHits(ctx, hitQuery(f), func(x hqserver.IndexedHit) bool { return fn(b.hit(x, false)) })
}

// PerDay maps hqserver's daily counts.
func (b *hqBackend) PerDay(ctx context.Context, from, to time.Time) ([]web.DayCount, error) {
	counts, err := b.srv.HitsPerDay(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]web.DayCount, len(counts))
	for i, c := range counts {
		out[i] = web.DayCount{Day: c.Day.Format(web.DateLayout), Post: c.Post, List: c.List, N: c.N}
	}
	return out, nil
}

// Lists are the lists HQ publishes.
func (b *hqBackend) Lists(context.Context) ([]web.PublishedList, error) {
	lists, err := publish.Lists(b.st)
	if err != nil {
		return nil, err
	}
	var out []web.PublishedList
	for _, l := range lists {
		if l.Err != nil {
			continue
		}
		out = append(out, web.PublishedList{Name: l.Info.Name, Epoch: l.Epoch, Version: l.Info.Version, Published: l.Published,
			Entries: l.Info.Entries, Hash: l.Info.Hash, Source: l.Info.Source, Format: l.Info.Format, HeadAt: l.HeadIssuedAt})
	}
	return out, nil
}

// Formats are the formats an edition may have.
func (b *hqBackend) Formats() []string { return hqserver.EditionFormats() }

// storedProposal is p/<id> in HQ's console namespace.
type storedProposal struct {
	web.Proposal
	Action string `json:"action,omitempty"`
	SHA256 string `json:"sha256"`
}

func proposalKey(id string) []byte { return []byte("p/" + id) }

func (b *hqBackend) recs() *badgerstore.Records { return b.st.Records(HQConsoleNamespace) }

func (b *hqBackend) file(id string) string { return filepath.Join(b.proposals, id+".edition") }

// maxShrink is the shrink guard's share the console warns past: the
// publisher's, which refuses such an edition without the approver's
// confirmation.
func (b *hqBackend) maxShrink() float64 {
	if b.pub != nil {
		return b.pub.MaxShrink()
	}
	return engine.DefaultMaxShrink
}

func firstName(e *engine.Entry) string {
	if len(e.Names) > 0 {
		return e.Names[0].Value
	}
	if len(e.Documents) > 0 {
		return e.Documents[0].Number
	}
	return ""
}

func addDiff(list *[]web.DiffEntry, n *int, id, name string) {
	*n++
	if len(*list) < 200 {
		*list = append(*list, web.DiffEntry{ID: id, Name: name})
	}
}

// Propose imports the upload, diffs it against the list's current
// version and stores it as a pending proposal. Nothing is signed.
func (b *hqBackend) Propose(ctx context.Context, actor string, up web.EditionUpload) (web.Proposal, error) {
	if err := protocol.ValidListName(up.List); err != nil {
		return web.Proposal{}, fmt.Errorf("%w: list %q: %w", web.ErrInvalidInput, up.List, err)
	}
	sum := sha256.Sum256(up.Data)
	id := strings.ToLower(hex.EncodeToString(sum[:6])) + fmt.Sprintf("%x", b.clock.Now().UnixNano()&0xffffff)
	path := b.file(id)
	if err := os.WriteFile(path, up.Data, 0o600); err != nil {
		return web.Proposal{}, fmt.Errorf("keep the uploaded edition: %w", err)
	}
	p := storedProposal{Proposal: web.Proposal{ID: id, List: up.List, Format: up.Format, Source: up.Source, FileName: up.FileName,
		Uploader: actor, UploadedAt: b.clock.Now().UTC(), State: web.ProposalPending, MaxShrink: b.maxShrink()}, Action: up.Action,
		SHA256: hex.EncodeToString(sum[:])}
	if p.Source == "" {
		p.Source = up.FileName
	}
	if err := b.diff(ctx, &p.Proposal, path); err != nil {
		os.Remove(path)
		return web.Proposal{}, err
	}
	if err := b.put(ctx, &p); err != nil {
		os.Remove(path)
		return web.Proposal{}, err
	}
	return p.Proposal, nil
}

// diff compares the edition at path with the list's current version.
func (b *hqBackend) diff(ctx context.Context, p *web.Proposal, path string) error {
	type held struct {
		sum  [32]byte
		name string
	}
	old := map[string]held{}
	info, err := b.st.Entries(ctx, p.List, func(e *engine.Entry) error {
		old[e.ID] = held{sha256.Sum256(engine.MarshalEntry(e)), firstName(e)}
		return nil
	})
	switch {
	case errors.Is(err, badgerstore.ErrNoList):
	case err != nil:
		return err
	default:
		if info.Kind != engine.ListNames {
			return fmt.Errorf("%w: HQ holds %s as a %s list", web.ErrInvalidInput, p.List, info.Kind)
		}
		p.BaseVersion, p.Current = info.Version, len(old)
	}
	seen := map[string]bool{}
	err = hqserver.ReadEdition(p.Format, path, p.FileName, func(e *engine.Entry) error {
		if seen[e.ID] {
			return nil
		}
		seen[e.ID] = true
		o, ok := old[e.ID]
		switch {
		case !ok:
			addDiff(&p.AddedEntries, &p.Added, e.ID, firstName(e))
		case o.sum != sha256.Sum256(engine.MarshalEntry(e)):
			addDiff(&p.ChangedEntries, &p.Changed, e.ID, firstName(e))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %w", web.ErrInvalidInput, err)
	}
	p.Next = len(seen)
	if p.Next == 0 {
		return fmt.Errorf("%w: the edition has no entries", web.ErrInvalidInput)
	}
	ids := make([]string, 0, len(old))
	for id := range old {
		if !seen[id] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		addDiff(&p.RemovedEntries, &p.Removed, id, old[id].name)
	}
	s := engine.Shrink{List: p.List, Current: p.Current, Next: p.Next, Removed: p.Removed, Limit: p.MaxShrink}
	p.Shrink, p.ShrinkWarn = s.Share(), s.Exceeds()
	return nil
}

func (b *hqBackend) put(ctx context.Context, p *storedProposal) error {
	v, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := b.recs().Update(ctx, func(tx *badgerstore.RecordsTxn) error { return tx.Set(proposalKey(p.ID), v) }); err != nil {
		return fmt.Errorf("store proposal %s: %w", p.ID, err)
	}
	return nil
}

func (b *hqBackend) get(ctx context.Context, id string) (storedProposal, error) {
	var p storedProposal
	err := b.recs().View(ctx, func(tx *badgerstore.RecordsTxn) error {
		v, err := tx.Get(proposalKey(id))
		if errors.Is(err, badgerstore.ErrRecordNotFound) {
			return web.ErrNotFound
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(v, &p)
	})
	return p, err
}

// pending returns proposal id if it is still pending, or
// web.ErrNotPending with the proposal as it stands; the caller holds b.mu.
func (b *hqBackend) pending(ctx context.Context, id string) (storedProposal, error) {
	p, err := b.get(ctx, id)
	switch {
	case err != nil:
		return storedProposal{}, err
	case p.State != web.ProposalPending:
		return p, web.ErrNotPending
	}
	return p, nil
}

// Proposals returns the most recent proposals, newest first (without
// their diff lists).
func (b *hqBackend) Proposals(ctx context.Context, limit int) ([]web.Proposal, error) {
	var out []web.Proposal
	err := b.recs().View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate([]byte("p/"), func(_, v []byte) error {
			var p storedProposal
			if err := json.Unmarshal(v, &p); err != nil {
				return err
			}
			p.AddedEntries, p.RemovedEntries, p.ChangedEntries = nil, nil, nil
			out = append(out, p.Proposal)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read proposals: %w", err)
	}
	slices.SortFunc(out, func(a, b web.Proposal) int { return b.UploadedAt.Compare(a.UploadedAt) })
	return out[:min(len(out), limit)], nil
}

// Proposal returns one proposal.
func (b *hqBackend) Proposal(ctx context.Context, id string) (web.Proposal, error) {
	p, err := b.get(ctx, id)
	return p.Proposal, err
}

// Approve publishes a pending proposal that another user uploaded.
func (b *hqBackend) Approve(ctx context.Context, id, actor string, confirmShrink bool) (web.Proposal, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.pending(ctx, id)
	switch {
	case err != nil:
		return p.Proposal, err
	case p.Uploader == actor:
		return p.Proposal, web.ErrSelfApproval
	case b.pub == nil:
		return p.Proposal, errors.New("this HQ has no signing key: it cannot publish")
	}
	if info, err := b.st.List(p.List); err == nil && info.Version != p.BaseVersion || err != nil && p.BaseVersion != 0 {
		return p.Proposal, web.ErrListMoved
	}
	path := b.file(id)
	data, err := os.ReadFile(path)
	if err != nil {
		return p.Proposal, fmt.Errorf("read proposal %s's edition: %w", id, err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != p.SHA256 {
		return p.Proposal, fmt.Errorf("proposal %s: the edition file %s changed since it was uploaded; nothing published", id, path)
	}
	// The publisher applies the shrink guard to the edition as it reads it
	// now; the approver's confirmation, and who gave it, go with it.
	ed := publish.Edition{List: p.List, Format: p.Format, Source: p.Source, Action: p.Action, ConfirmShrink: confirmShrink,
		ShrinkConfirmed: func(ctx context.Context, s engine.Shrink) error { return b.auditShrink(ctx, actor, s) }}
	res, perr := b.pub.PublishEntries(ctx, ed, func(emit func(*engine.Entry) error) error {
		return hqserver.ReadEdition(p.Format, path, p.FileName, emit)
	})
	if errors.Is(perr, engine.ErrShrink) {
		return p.Proposal, fmt.Errorf("%w: %w", web.ErrShrinkUnconfirmed, perr) // still pending
	}
	p.Decider, p.DecidedAt = actor, b.clock.Now().UTC()
	if perr != nil {
		p.State, p.Error = web.ProposalFailed, perr.Error()
	} else {
		p.State, p.Version = web.ProposalApproved, res.Version
	}
	if err := b.put(ctx, &p); err != nil {
		return p.Proposal, errors.Join(perr, err)
	}
	os.Remove(path)
	return p.Proposal, perr
}

// Reject closes a pending proposal.
func (b *hqBackend) Reject(ctx context.Context, id, actor, note string) (web.Proposal, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.pending(ctx, id)
	if err != nil {
		return p.Proposal, err
	}
	p.State, p.Decider, p.DecidedAt, p.Note = web.ProposalRejected, actor, b.clock.Now().UTC(), note
	if err := b.put(ctx, &p); err != nil {
		return p.Proposal, err
	}
	os.Remove(b.file(id))
	return p.Proposal, nil
}

// Keys are HQ's signing key, its announced rotations and the keys each
// post reports it trusts.
func (b *hqBackend) Keys(ctx context.Context) (web.KeysView, error) {
	var kv web.KeysView
	if s := b.h.cfg.Signer; s != nil {
		kv.Current = web.KeyInfo{ID: s.ID().String(), Public: protocol.FormatPublicKey(s.Public())}
	}
	rots, err := publish.Rotations(ctx, b.st)
	if err != nil {
		return kv, err
	}
	ids := []string{kv.Current.ID}
	for _, r := range rots {
		kv.Announced = append(kv.Announced, web.KeyInfo{ID: r.KeyID.String(), Public: protocol.FormatPublicKey(r.PublicKey),
			NotBefore: r.NotBefore, NotAfter: r.NotAfter, IssuedAt: r.IssuedAt})
		ids = append(ids, r.KeyID.String())
	}
	posts, err := b.srv.Posts(ctx)
	if err != nil {
		return kv, err
	}
	for _, p := range posts {
		pk := web.PostKeys{Post: p.Post, Keys: p.Keys, Reported: p.Keys != nil, Trusts: map[string]bool{}}
		for _, id := range ids {
			pk.Trusts[id] = slices.Contains(p.Keys, id)
		}
		kv.Posts = append(kv.Posts, pk)
	}
	return kv, nil
}

// auditSinglePerson records in HQ's audit trail that actor publishes an
// edition of list alone (watchpost-hq publish --single-person).
func (h *HQ) auditSinglePerson(ctx context.Context, actor, list string) error {
	return AuditSinglePerson(ctx, h.store, h.cfg.Clock, actor, list)
}

// AuditSinglePerson records in HQ's audit trail in st that actor
// publishes an edition of list alone, without a second publisher.
func AuditSinglePerson(ctx context.Context, st *badgerstore.Store, clk clock.Clock, actor, list string) error {
	return HQEvents(st, clk).Append(ctx, web.Event{Actor: actor, Action: web.ActionSinglePerson, Subject: list})
}

func (b *hqBackend) auditShrink(ctx context.Context, actor string, s engine.Shrink) error {
	return appendShrink(ctx, b.events, actor, s)
}

// AuditShrink records in HQ's audit trail in st that actor confirmed an
// edition past the shrink guard (the console's approver, or
// watchpost-hq publish --confirm-shrink), with its counts.
func AuditShrink(ctx context.Context, st *badgerstore.Store, clk clock.Clock, actor string, s engine.Shrink) error {
	return appendShrink(ctx, HQEvents(st, clk), actor, s)
}

func appendShrink(ctx context.Context, events *web.EventLog, actor string, s engine.Shrink) error {
	return events.Append(ctx, web.Event{Actor: actor, Action: web.ActionShrinkConfirmed, Subject: s.List, Detail: s.String()})
}

// isProtocolPath reports whether a request is for HQ's server (posts'
// snapshots and deltas, health, the admin API) rather than the console.
func isProtocolPath(p string) bool {
	return p == protocol.PathHealth || strings.HasPrefix(p, protocol.PathSnapshots) || strings.HasPrefix(p, protocol.PathDeltas) ||
		strings.HasPrefix(p, "/v1/")
}
