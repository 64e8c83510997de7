package ledger

import (
	"maps"
	"sync"
	"time"

	"github.com/watchpost/watchpost/engine"
)

// HitLabel is the list and band of a hit, the labels of the hit counter.
type HitLabel struct {
	List string
	Band engine.Band
}

// Stats are the ledger's counters since Open (for metrics and the status
// record). OpenHits is a gauge read from the store at Open.
type Stats struct {
	// Screenings recorded, and those that hit.
	Screenings    uint64
	HitScreenings uint64
	// Hits counts the individual hits (one screening may hit several
	// entries) by list and band.
	Hits map[HitLabel]uint64
	// Dispositions counts decisions by decision.
	Dispositions map[string]uint64
	// OpenHits is the number of hits awaiting an officer's decision.
	OpenHits int
	// LastScreening is the recording time of the latest screening (zero
	// when none since Open).
	LastScreening time.Time
	// PurgedScreenings and PurgedHits count what retention deleted.
	PurgedScreenings uint64
	PurgedHits       uint64
}

type statsState struct {
	mu sync.Mutex
	s  Stats
}

func (st *statsState) init() {
	st.s.Hits = map[HitLabel]uint64{}
	st.s.Dispositions = map[string]uint64{}
}

func (st *statsState) setOpen(n int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.OpenHits = n
}

func (st *statsState) recorded(at time.Time, hits []engine.Hit) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.Screenings++
	if at.After(st.s.LastScreening) {
		st.s.LastScreening = at
	}
	if len(hits) == 0 {
		return
	}
	st.s.HitScreenings++
	st.s.OpenHits++
	for _, h := range hits {
		st.s.Hits[HitLabel{List: h.List, Band: h.Band}]++
	}
}

func (st *statsState) disposed(decision string, wasOpen bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.Dispositions[decision]++
	if wasOpen {
		st.s.OpenHits--
	}
}

func (st *statsState) purged(p Purged) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.PurgedScreenings += uint64(p.Screenings)
	st.s.PurgedHits += uint64(p.Hits)
	st.s.OpenHits -= p.OpenHits
}

// Stats returns a copy of the counters.
func (l *Ledger) Stats() Stats {
	l.stats.mu.Lock()
	defer l.stats.mu.Unlock()
	s := l.stats.s
	s.Hits = maps.Clone(s.Hits)
	s.Dispositions = maps.Clone(s.Dispositions)
	return s
}
