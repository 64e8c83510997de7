package match

import (
	"fmt"
	"strings"

	"github.com/watchpost/watchpost/engine"
)

// screenEntryDocuments adds hits for entries that list the traveller's
// document number: an exact key, a strong hit on its own.
func (s *Screener) screenEntryDocuments(key, country string, qs *querySide, byEntry map[uint32]*engine.Hit) {
	ix := s.ix
	refs, _ := ix.docs.get(key)
	for _, d := range refs {
		if country != "" && d.country != "" && !strings.EqualFold(country, d.country) {
			continue
		}
		score, why := docExact, "same number and issuing state"
		if country == "" || d.country == "" {
			score, why = docNoCountry, "same number (issuing state not compared)"
		}
		why = fmt.Sprintf("%s: %s %s", why, docLabel(d.typ), d.number)
		e := &ix.entries[d.entry]
		if h, ok := byEntry[d.entry]; ok {
			h.Score = max(h.Score, score)
			h.Explanation.Document = why
			continue
		}
		_, ex := qualify(0, qs, e, true)
		ex.Document = why
		byEntry[d.entry] = &engine.Hit{
			List:        ix.lists[e.list].info.Name,
			ListVersion: ix.lists[e.list].info.Version,
			EntryID:     e.id,
			Score:       score,
			Action:      ix.lists[e.list].info.Action,
			Explanation: ex,
		}
	}
}

func (s *Screener) documentListHit(d DocumentMatch, country string) engine.Hit {
	score, why := docExact, "same number and issuing state"
	if country == "" || d.Document.Country == "" {
		score, why = docNoCountry, "same number (issuing state not compared)"
	}
	return engine.Hit{
		List:        d.List,
		ListVersion: d.ListVersion,
		EntryID:     documentEntryID(d.Document),
		Score:       score,
		Band:        s.band(score),
		Action:      d.Action,
		Explanation: engine.Explanation{Document: fmt.Sprintf("%s: %s %s", why, docLabel(d.Document.Type), d.Document.Number)},
	}
}

// documentEntryID names a document-list row: TYPE/NUMBER/COUNTRY.
func documentEntryID(d engine.Document) string {
	return d.Type + "/" + engine.DocumentKey(d.Number) + "/" + d.Country
}

func docLabel(t string) string {
	switch strings.ToUpper(t) {
	case "P":
		return "passport"
	case "I", "ID":
		return "identity card"
	case "V":
		return "visa"
	case "":
		return "document"
	}
	return t
}
