package hqserver

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/option"
	"github.com/watchpost/watchpost/sync/protocol"
)

// The hit index: what HQ's console pages through (a million hits and
// more) without reading every record. Every key names a hit by the
// suffix of its t/ key (received time inverted, post, id), so each index
// is newest first. Written in the record writer's transaction, deleted
// with the hit by the purge.
//
//	x/p/<post>/<suffix>        the hits of a post
//	x/l/<list>/<suffix>        the hits that matched a list
//	x/b/<band>/<suffix>        the hits of a band (their strongest)
//	x/s/<status>/<suffix>      the hits by status: open, or the decision in force
//	x/h/<post>/<hit id>        the hit's state (JSON hitState): its suffix, status, decisions
//	x/c/<YYYYMMDD>/<post>\x00<list>  hits received that day (UTC): 8-byte count
//	x/t/<post>/<hour>          the post's status sample of that hour (JSON Sample)
//	m/hit-index                set once the hits stored before the index are indexed
var (
	prefixIndex   = []byte("x/")
	keyHitIndexed = []byte("m/hit-index")
)

// Status of a hit without a decision.
const StatusOpen = "open"

// Bounds of what the index keeps besides the hits.
const (
	// CountDays: daily hit counts are kept this long (the charts show 30
	// days).
	CountDays = 400
	// SeriesWindow: status samples are kept this long, one per post and
	// hour.
	SeriesWindow = 8 * 24 * time.Hour
)

func ixKey(kind byte, parts ...[]byte) []byte {
	k := append(append([]byte(nil), prefixIndex...), kind, '/')
	for i, p := range parts {
		if i > 0 {
			k = append(k, '/')
		}
		k = append(k, p...)
	}
	return k
}

func ixPrefix(kind byte, name string) []byte {
	return append(ixKey(kind, []byte(name)), '/')
}

// hitState is x/h/<post>/<id>.
type hitState struct {
	// Suffix of the hit's t/ key; nil while only decisions arrived.
	Suffix []byte     `json:"suffix,omitempty"`
	Status string     `json:"status"`
	Dec    []decision `json:"decisions,omitempty"`
}

type decision struct {
	At  time.Time `json:"at"`  // decided_at
	Key []byte    `json:"key"` // the disposition's t/ key
	Dec string    `json:"decision"`
}

func (h *hitState) status() string {
	if len(h.Dec) == 0 {
		return StatusOpen
	}
	return h.Dec[len(h.Dec)-1].Dec
}

func getHitState(tx *badgerstore.RecordsTxn, post, id string) (hitState, bool, error) {
	var st hitState
	b, err := tx.Get(ixKey('h', []byte(post), []byte(id)))
	if errors.Is(err, badgerstore.ErrRecordNotFound) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("hit state %s/%s: %w", post, id, err)
	}
	return st, true, nil
}

func putHitState(tx *badgerstore.RecordsTxn, post, id string, st *hitState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return tx.Set(ixKey('h', []byte(post), []byte(id)), b)
}

func dayKey(t time.Time) []byte { return []byte(t.UTC().Format("20060102")) }

// indexRecord adds a stored row to the hit index (hits and decisions;
// other kinds and invalid rows are not indexed).
func indexRecord(tx *badgerstore.RecordsTxn, row *Record, tk []byte) error {
	if row.Invalid != "" {
		return nil
	}
	suffix := tk[len(prefixTime):]
	switch row.Kind {
	case protocol.RecordHit.String():
		var h protocol.HitReport
		if err := json.Unmarshal(row.Payload, &h); err != nil {
			return nil
		}
		st, _, err := getHitState(tx, row.Post, row.ID)
		if err != nil {
			return err
		}
		st.Suffix = suffix
		st.Status = st.status()
		sets := [][]byte{ixKey('p', []byte(row.Post), suffix), ixKey('b', []byte(engine.Strongest(h.Hits)), suffix),
			ixKey('s', []byte(st.Status), suffix)}
		for _, l := range row.Lists {
			sets = append(sets, ixKey('l', []byte(l), suffix))
		}
		for _, k := range sets {
			if err := tx.Set(k, nil); err != nil {
				return err
			}
		}
		for _, l := range row.Lists {
			if err := addCount(tx, ixKey('c', dayKey(row.ReceivedAt), []byte(row.Post+"\x00"+l)), 1); err != nil {
				return err
			}
		}
		return putHitState(tx, row.Post, row.ID, &st)
	case protocol.RecordDisposition.String():
		var d protocol.DispositionReport
		if err := json.Unmarshal(row.Payload, &d); err != nil || d.HitID == "" {
			return nil
		}
		st, _, err := getHitState(tx, row.Post, d.HitID)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(st.Dec, func(x decision) bool { return bytes.Equal(x.Key, tk) }) {
			return nil // indexed already
		}
		before := st.status()
		st.Dec = append(st.Dec, decision{At: d.DecidedAt, Key: append([]byte(nil), tk...), Dec: d.Decision})
		slices.SortStableFunc(st.Dec, func(a, b decision) int { return a.At.Compare(b.At) })
		st.Status = st.status()
		if st.Suffix != nil && st.Status != before {
			if err := tx.Delete(ixKey('s', []byte(before), st.Suffix)); err != nil {
				return err
			}
			if err := tx.Set(ixKey('s', []byte(st.Status), st.Suffix), nil); err != nil {
				return err
			}
		}
		return putHitState(tx, row.Post, d.HitID, &st)
	}
	return nil
}

func addCount(tx *badgerstore.RecordsTxn, k []byte, n int64) error {
	var c uint64
	b, err := tx.Get(k)
	switch {
	case err == nil && len(b) == 8:
		c = binary.BigEndian.Uint64(b)
	case err != nil && !errors.Is(err, badgerstore.ErrRecordNotFound):
		return err
	}
	c = uint64(max(int64(c)+n, 0))
	if c == 0 {
		return tx.Delete(k)
	}
	return tx.Set(k, binary.BigEndian.AppendUint64(nil, c))
}

// unindexHit removes a purged hit from the index (value is its row).
func unindexHit(tx *badgerstore.RecordsTxn, value, suffix []byte) error {
	var row Record
	if err := json.Unmarshal(value, &row); err != nil || row.Kind != protocol.RecordHit.String() {
		return nil
	}
	st, ok, err := getHitState(tx, row.Post, row.ID)
	if err != nil {
		return err
	}
	dels := [][]byte{ixKey('p', []byte(row.Post), suffix), ixKey('h', []byte(row.Post), []byte(row.ID))}
	if ok {
		dels = append(dels, ixKey('s', []byte(st.status()), suffix))
	}
	var h protocol.HitReport
	if json.Unmarshal(row.Payload, &h) == nil {
		dels = append(dels, ixKey('b', []byte(engine.Strongest(h.Hits)), suffix))
	}
	for _, l := range row.Lists {
		dels = append(dels, ixKey('l', []byte(l), suffix))
	}
	for _, k := range dels {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// HitQuery selects hits for HitPage; zero fields select everything.
// From ≤ received < To (HQ's clock).
type HitQuery struct {
	Post, List string
	Band       engine.Band
	// Status is StatusOpen or a decision.
	Status   string
	From, To time.Time
	// After continues a page: the Next of the previous one.
	After string
	// Limit bounds the page (DefaultHitsLimit when 0, at most
	// MaxHitsLimit); 0 with Export means no limit.
	Limit int
}

// IndexedHit is a hit with its report and decisions.
type IndexedHit struct {
	Record
	Report protocol.HitReport
	Status string
	// History are the decisions that reached HQ, oldest first.
	History []protocol.DispositionReport
}

// HitPageResult is one page of hits, newest first; Next continues it
// ("" on the last page).
type HitPageResult struct {
	Hits []IndexedHit
	Next string
}

// HitPage returns one page of the hits q selects, from the hit index: it
// reads the most selective index (status, post, list, band, all hits)
// from q's cursor or To and checks the other filters on each hit.
func (s *Server) HitPage(ctx context.Context, q HitQuery) (HitPageResult, error) {
	limit := q.Limit
	limit = option.Positive(limit, DefaultHitsLimit)
	limit = min(limit, MaxHitsLimit)
	var res HitPageResult
	var last []byte
	err := s.eachHit(ctx, q, func(h IndexedHit, suffix []byte) bool {
		if len(res.Hits) == limit {
			res.Next = hex.EncodeToString(last)
			return false
		}
		res.Hits = append(res.Hits, h)
		last = suffix
		return true
	})
	return res, err
}

// ExportHits calls fn for every hit q selects (q.Limit and q.After
// ignored), newest first, until fn returns false.
func (s *Server) ExportHits(ctx context.Context, q HitQuery, fn func(IndexedHit) bool) error {
	q.After = ""
	return s.eachHit(ctx, q, func(h IndexedHit, _ []byte) bool { return fn(h) })
}

func (s *Server) eachHit(ctx context.Context, q HitQuery, fn func(IndexedHit, []byte) bool) error {
	var prefix []byte
	switch {
	case q.Status != "":
		prefix = ixPrefix('s', q.Status)
	case q.Post != "":
		prefix = ixPrefix('p', q.Post)
	case q.List != "":
		prefix = ixPrefix('l', q.List)
	case q.Band != "":
		prefix = ixPrefix('b', string(q.Band))
	default:
		prefix = kindPrefix(protocol.RecordHit.String())
	}
	start := prefix
	if !q.To.IsZero() {
		start = append(append([]byte(nil), prefix...), timeKeyBound(q.To)[len(prefixTime):]...)
	}
	if q.After != "" {
		after, err := hex.DecodeString(q.After)
		if err != nil {
			return fmt.Errorf("hit page cursor %q: %w", q.After, err)
		}
		if k := append(append(append([]byte(nil), prefix...), after...), 0); bytes.Compare(k, start) > 0 {
			start = k
		}
	}
	var stop []byte
	if !q.From.IsZero() {
		stop = append(append([]byte(nil), prefix...), timeKeyBound(q.From)[len(prefixTime):]...)
	}
	return s.rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.IterateFrom(prefix, start, func(key, _ []byte) error {
			if stop != nil && bytes.Compare(key, stop) >= 0 {
				return badgerstore.StopIteration
			}
			suffix := key[len(prefix):]
			h, ok, err := loadHit(tx, append(append([]byte(nil), prefixTime...), suffix...))
			if err != nil || !ok {
				return err
			}
			if q.Post != "" && h.Post != q.Post || q.List != "" && !slices.Contains(h.Lists, q.List) ||
				q.Band != "" && engine.Strongest(h.Report.Hits) != q.Band || q.Status != "" && h.Status != q.Status {
				return nil
			}
			if !fn(h, append([]byte(nil), suffix...)) {
				return badgerstore.StopIteration
			}
			return nil
		})
	})
}

// loadHit reads the hit row at tk with its state; ok is false when the
// row is gone (purged under the index's feet: skipped).
func loadHit(tx *badgerstore.RecordsTxn, tk []byte) (IndexedHit, bool, error) {
	var h IndexedHit
	v, err := tx.Get(tk)
	if errors.Is(err, badgerstore.ErrRecordNotFound) {
		return h, false, nil
	}
	if err != nil {
		return h, false, err
	}
	if err := json.Unmarshal(v, &h.Record); err != nil {
		return h, false, fmt.Errorf("record %q: %w", tk, err)
	}
	if h.Kind != protocol.RecordHit.String() {
		return h, false, nil
	}
	_ = json.Unmarshal(h.Payload, &h.Report) // an invalid row shows what it has
	st, _, err := getHitState(tx, h.Post, h.ID)
	if err != nil {
		return h, false, err
	}
	h.Status = st.status()
	for _, d := range st.Dec {
		b, err := tx.Get(d.Key)
		if errors.Is(err, badgerstore.ErrRecordNotFound) {
			continue // purged with its retention
		}
		if err != nil {
			return h, false, err
		}
		var r Record
		var dr protocol.DispositionReport
		if json.Unmarshal(b, &r) == nil && json.Unmarshal(r.Payload, &dr) == nil {
			h.History = append(h.History, dr)
		}
	}
	return h, true, nil
}

// Hit returns one hit of a post with its decisions; ok is false when HQ
// holds no such hit.
func (s *Server) Hit(ctx context.Context, post, id string) (IndexedHit, bool, error) {
	var (
		h  IndexedHit
		ok bool
	)
	err := s.rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		tk, err := tx.Get(recordKey(post, id))
		if errors.Is(err, badgerstore.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		h, ok, err = loadHit(tx, tk)
		return err
	})
	return h, ok, err
}

// DayCount is the number of hits of one post and list received on one
// day (UTC).
type DayCount struct {
	Day        time.Time
	Post, List string
	N          int
}

// HitsPerDay returns the daily hit counts from ≤ day < to.
func (s *Server) HitsPerDay(ctx context.Context, from, to time.Time) ([]DayCount, error) {
	prefix := ixKey('c')
	var out []DayCount
	end := dayKey(to)
	err := s.rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.IterateFrom(prefix, append(append([]byte(nil), prefix...), dayKey(from)...), func(key, v []byte) error {
			rest := key[len(prefix):]
			if len(rest) < 9 || bytes.Compare(rest[:8], end) >= 0 {
				return badgerstore.StopIteration
			}
			day, err := time.Parse("20060102", string(rest[:8]))
			post, list, ok := strings.Cut(string(rest[9:]), "\x00")
			if err != nil || !ok || len(v) != 8 {
				return nil
			}
			out = append(out, DayCount{Day: day, Post: post, List: list, N: int(binary.BigEndian.Uint64(v))})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read hit counts: %w", err)
	}
	return out, nil
}

// Sample is a post's status in one hour, kept for the console's charts:
// the last status of the hour, the screenings counter at the hour's
// first status of the same boot (Start; 0 when the post restarted within
// the hour), and the deepest outbox seen in it.
type Sample struct {
	At         time.Time `json:"at"`
	Boot       uint64    `json:"boot"`
	Screenings uint64    `json:"screenings"`
	Start      uint64    `json:"start"`
	Outbox     int       `json:"outbox"`
	Online     bool      `json:"online"`
}

func sampleKey(post string, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(ixPrefix('t', post), uint64(t.Unix()/3600))
}

// sample records st, received at now, in the post's sample of the hour.
func sample(tx *badgerstore.RecordsTxn, ps *postState, st *protocol.PostStatus, now time.Time) error {
	k := sampleKey(ps.Post, now)
	smp := Sample{At: now.UTC(), Boot: st.Boot, Screenings: st.Screenings, Start: st.Screenings, Outbox: st.Outbox.Records,
		Online: ps.Presence == nil || ps.Presence.State == protocol.Online}
	if b, err := tx.Get(k); err == nil {
		var old Sample
		if json.Unmarshal(b, &old) == nil {
			smp.Outbox = max(smp.Outbox, old.Outbox)
			smp.Start = 0
			if old.Boot == st.Boot {
				smp.Start = old.Start
			}
		}
	} else if !errors.Is(err, badgerstore.ErrRecordNotFound) {
		return err
	}
	b, err := json.Marshal(smp)
	if err != nil {
		return err
	}
	return tx.Set(k, b)
}

// History returns a post's hourly samples from from, oldest first.
func (s *Server) History(ctx context.Context, post string, from time.Time) ([]Sample, error) {
	prefix := ixPrefix('t', post)
	var out []Sample
	err := s.rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.IterateFrom(prefix, sampleKey(post, from), func(_, v []byte) error {
			var smp Sample
			if err := json.Unmarshal(v, &smp); err != nil {
				return err
			}
			out = append(out, smp)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read the history of %s: %w", post, err)
	}
	return out, nil
}

// trimIndex deletes the samples older than SeriesWindow and the daily
// counts older than CountDays, in batches.
func (s *Server) trimIndex(ctx context.Context) error {
	now := s.clock.Now()
	oldHour := uint64(now.Add(-SeriesWindow).Unix() / 3600)
	oldDay := dayKey(now.AddDate(0, 0, -CountDays))
	for {
		var dels [][]byte
		err := s.rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
			if err := tx.Iterate(ixKey('t'), func(k, _ []byte) error {
				if len(k) >= 8 && binary.BigEndian.Uint64(k[len(k)-8:]) < oldHour {
					dels = append(dels, append([]byte(nil), k...))
				}
				if len(dels) >= purgeBatch {
					return badgerstore.StopIteration
				}
				return nil
			}); err != nil || len(dels) >= purgeBatch {
				return err
			}
			cp := ixKey('c')
			return tx.Iterate(cp, func(k, _ []byte) error {
				if rest := k[len(cp):]; len(rest) < 8 || bytes.Compare(rest[:8], oldDay) >= 0 || len(dels) >= purgeBatch {
					return badgerstore.StopIteration
				}
				dels = append(dels, append([]byte(nil), k...))
				return nil
			})
		})
		if err != nil || len(dels) == 0 {
			return err
		}
		if err := s.rec.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
			for _, k := range dels {
				if err := tx.Delete(k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if len(dels) < purgeBatch {
			return nil
		}
	}
}

// hitIndexed indexes the hits and decisions stored before the index
// existed (oldest first, so decisions find their hits), then sets the
// marker; New runs it before anything else writes. A crash half-way
// starts again: a hit indexed twice is counted twice in its day's count,
// nothing else changes.
func hitIndexed(ctx context.Context, rec *badgerstore.Records) error {
	done := false
	if err := rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		_, err := tx.Get(keyHitIndexed)
		done = err == nil
		if errors.Is(err, badgerstore.ErrRecordNotFound) {
			return nil
		}
		return err
	}); err != nil || done {
		return err
	}
	var tks [][]byte
	if err := rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate(prefixTime, func(k, v []byte) error {
			var r struct {
				Kind string `json:"kind"`
			}
			if json.Unmarshal(v, &r) == nil && (r.Kind == protocol.RecordHit.String() || r.Kind == protocol.RecordDisposition.String()) {
				tks = append(tks, append([]byte(nil), k...))
			}
			return nil
		})
	}); err != nil {
		return err
	}
	slices.Reverse(tks) // oldest first: t/ keys sort newest first
	for len(tks) > 0 {
		n := min(len(tks), purgeBatch/2)
		batch := tks[:n]
		tks = tks[n:]
		err := rec.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
			for _, tk := range batch {
				v, err := tx.Get(tk)
				if errors.Is(err, badgerstore.ErrRecordNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				var row Record
				if err := json.Unmarshal(v, &row); err != nil {
					return fmt.Errorf("record %q: %w", tk, err)
				}
				if err := indexRecord(tx, &row, tk); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return rec.Update(ctx, func(tx *badgerstore.RecordsTxn) error { return tx.Set(keyHitIndexed, []byte{1}) })
}
