package hqserver

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// Post is one row of the fleet table.
type Post struct {
	Post string `json:"post"`
	// Presence is "online", "offline" or "" (never heard); Online is
	// Presence == "online". Boot is the presence record's boot counter.
	Presence string `json:"presence"`
	Online   bool   `json:"online"`
	Boot     uint64 `json:"boot"`
	// LastSeen is HQ's time of the last live message from the post.
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Software, StatusClock (the post's clock in its latest status) and
	// StatusAt (HQ's time it arrived); zero without a status.
	Software    string    `json:"software,omitempty"`
	StatusClock time.Time `json:"status_clock,omitzero"`
	StatusAt    time.Time `json:"status_at,omitzero"`
	// ClockOffset is the post's clock minus HQ's, measured at OffsetAt
	// from a live status message (zero OffsetAt: not measured).
	ClockOffset time.Duration `json:"clock_offset"`
	OffsetAt    time.Time     `json:"offset_at,omitzero"`
	// Lists: every list HQ publishes, and any other list the post holds.
	Lists []PostList `json:"lists"`
	// Outbox is the post's outbox depth from its latest status.
	Outbox protocol.OutboxState `json:"outbox"`
	// Stale names the lists the post reports STALE, diverged or in
	// conflict, or that lag HQ's published version.
	Stale         []string  `json:"stale,omitempty"`
	Screenings    uint64    `json:"screenings"`
	LastScreening time.Time `json:"last_screening,omitzero"`
	// Keys are the ids of the HQ keys the post trusts, from its latest
	// status (absent: the post does not report them). Before HQ signs with
	// a new key, every post should list it.
	Keys []string `json:"keys,omitempty"`
	// SealKey is the HQ key id the post seals its records to (from its
	// status; "" while it knows none, and its hits wait in its outbox).
	SealKey string `json:"seal_key,omitempty"`
	// Audit is the state of the post's audit chain at HQ; AuditFlag sums
	// it up: "" (nothing received), "ok", or the first fault as
	// "<kind>@<seq>" (missing@17, edited@17, out-of-order@17, fork@17,
	// bad-checkpoint@17, key-changed@17).
	Audit     *AuditState `json:"audit,omitempty"`
	AuditFlag string      `json:"audit_flag,omitempty"`
}

// Flag sums up the audit state (see Post.AuditFlag).
func (a *AuditState) Flag() string {
	switch {
	case a == nil:
		return ""
	case a.Fault != nil:
		return fmt.Sprintf("%s@%d", a.Fault.Kind, a.Fault.Seq)
	}
	return "ok"
}

// PostList compares one list held by a post with HQ's.
type PostList struct {
	List string `json:"list"`
	// Held is the post's epoch and version (0: the post reports none);
	// Published is HQ's (0: HQ does not publish the list).
	HeldEpoch      uint64 `json:"held_epoch"`
	Held           uint64 `json:"held"`
	PublishedEpoch uint64 `json:"published_epoch"`
	Published      uint64 `json:"published"`
	// Lag is Published - Held within one epoch; a post in an older epoch
	// (or holding nothing) lags by Published.
	Lag uint64 `json:"lag"`
	// Stale and Diverged are as the post reports them.
	Stale    string `json:"stale,omitempty"`
	Diverged bool   `json:"diverged,omitempty"`
	// Conflict, when not "", is the post's report that HQ signed two
	// different heads for one position of the list (protocol.ListHeld).
	Conflict string `json:"conflict,omitempty"`
}

// Posts returns the fleet table, sorted by post id: every post HQ has
// heard from, with its presence, status and lists compared with what HQ
// publishes (publish.Lists of the store).
func (s *Server) Posts(ctx context.Context) ([]Post, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lists, err := publish.Lists(s.cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("read HQ's lists: %w", err)
	}
	s.postMu.Lock()
	states := make([]postState, 0, len(s.posts))
	for _, ps := range s.posts {
		c := *ps
		if ps.Audit != nil { // the writer changes it in place
			a := *ps.Audit
			c.Audit = &a
		}
		states = append(states, c)
	}
	s.postMu.Unlock()
	slices.SortFunc(states, func(a, b postState) int { return strings.Compare(a.Post, b.Post) })
	out := make([]Post, 0, len(states))
	for _, ps := range states {
		out = append(out, fleetRow(ps, lists))
	}
	return out, nil
}

func fleetRow(ps postState, lists []publish.ListStatus) Post {
	p := Post{Post: ps.Post, LastSeen: ps.LastSeen, ClockOffset: ps.ClockOffset, OffsetAt: ps.OffsetAt}
	if ps.Audit != nil {
		a := *ps.Audit
		p.Audit, p.AuditFlag = &a, a.Flag()
	}
	if pr := ps.Presence; pr != nil {
		p.Presence, p.Online, p.Boot = pr.State, pr.State == protocol.Online, pr.Boot
	}
	held := map[string]protocol.ListHeld{}
	if st := ps.Status; st != nil {
		p.Software, p.StatusClock, p.StatusAt = st.Software, st.Clock, ps.StatusAt
		p.Outbox, p.Screenings, p.LastScreening = st.Outbox, st.Screenings, st.LastScreening
		p.Keys = slices.Clone(st.Keys)
		p.SealKey = st.SealKey
		for _, l := range st.Lists {
			held[l.List] = l
		}
	}
	for _, l := range lists {
		if l.Err != nil {
			continue // not a list HQ publishes
		}
		pl := PostList{List: l.Info.Name, PublishedEpoch: l.Epoch, Published: l.Published}
		h, ok := held[pl.List]
		delete(held, pl.List)
		if ok {
			pl.HeldEpoch, pl.Held, pl.Stale, pl.Diverged, pl.Conflict = h.Epoch, h.Version, h.Stale, h.Diverged, h.Conflict
		}
		switch {
		case pl.HeldEpoch == pl.PublishedEpoch && pl.Held <= pl.Published:
			pl.Lag = pl.Published - pl.Held
		case pl.HeldEpoch < pl.PublishedEpoch:
			pl.Lag = pl.Published
		}
		p.Lists = append(p.Lists, pl)
	}
	for _, h := range held {
		p.Lists = append(p.Lists, PostList{List: h.List, HeldEpoch: h.Epoch, Held: h.Version, Stale: h.Stale, Diverged: h.Diverged, Conflict: h.Conflict})
	}
	slices.SortFunc(p.Lists, func(a, b PostList) int { return strings.Compare(a.List, b.List) })
	for _, l := range p.Lists {
		if l.Stale != "" || l.Diverged || l.Conflict != "" || l.Lag > 0 {
			p.Stale = append(p.Stale, l.List)
		}
	}
	return p
}
