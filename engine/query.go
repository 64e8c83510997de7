package engine

import (
	"strings"
	"unicode"
)

// Query is one traveller to screen. Name may be given whole, or split into
// Surname and GivenNames (as an MRZ or a PAXLST gives it); both forms screen
// the same way, word order does not matter.
type Query struct {
	ID              string `json:"id,omitempty"`
	Name            string `json:"name,omitempty"`
	Surname         string `json:"surname,omitempty"`
	GivenNames      string `json:"given_names,omitempty"`
	BirthDate       string `json:"birth_date,omitempty"`  // YYYY-MM-DD, YYYY-MM or YYYY
	Nationality     string `json:"nationality,omitempty"` // ISO 3166 alpha-3
	Sex             string `json:"sex,omitempty"`         // M, F or X
	DocumentNumber  string `json:"document_number,omitempty"`
	DocumentCountry string `json:"document_country,omitempty"` // issuing state, ISO 3166 alpha-3
	// NameTruncated marks a name that filled its field (an MRZ): its last
	// word may be cut short, so it may match as a prefix.
	NameTruncated bool `json:"name_truncated,omitempty"`
}

// FullName returns the name to screen: Name, or the given names followed by
// the surname.
func (q *Query) FullName() string {
	if strings.TrimSpace(q.Name) != "" {
		return q.Name
	}
	return strings.TrimSpace(q.GivenNames + " " + q.Surname)
}

// Caps on a traveller's name: a name longer than MaxNameChars characters or
// of more words than MaxNameTokens is screened on its beginning, so that
// screening takes the same bounded time whatever an input holds.
const (
	MaxNameChars  = 256
	MaxNameTokens = 12
)

// CapName returns s cut to at most MaxNameChars characters and
// MaxNameTokens words (runs of non-space), and whether it cut. It reads s
// once, and no further than the cut.
func CapName(s string) (string, bool) {
	chars, words, inWord := 0, 0, false
	for i, r := range s {
		if chars == MaxNameChars {
			return strings.TrimRightFunc(s[:i], unicode.IsSpace), true
		}
		chars++
		if unicode.IsSpace(r) {
			inWord = false
			continue
		}
		if !inWord {
			if words == MaxNameTokens {
				return strings.TrimRightFunc(s[:i], unicode.IsSpace), true
			}
			words++
			inWord = true
		}
	}
	return s, false
}

// CheckedList is one list a screening is checked against, at the version
// it had then: every screening result names them, so that "no hit" always
// says against what.
type CheckedList struct {
	List    string `json:"list"`
	Version uint64 `json:"version"`
	Entries int    `json:"entries"`
	// Stale: the list has no unexpired signed head from HQ; it still
	// screens, and StaleReason says why.
	Stale       bool   `json:"stale"`
	StaleReason string `json:"stale_reason,omitempty"`
}

// Band is how strongly a hit matches.
type Band string

// Bands, strongest first.
const (
	BandMatch    Band = "match"
	BandPossible Band = "possible"
)

// Strongest returns the strongest band among hits, "" when there is none.
func Strongest(hits []Hit) Band {
	var b Band
	for i := range hits {
		switch hits[i].Band {
		case BandMatch:
			return BandMatch
		case BandPossible:
			b = BandPossible
		}
	}
	return b
}

// Hit is one watchlist entry that a traveller may be. A hit is a reason for
// an officer to look, never a decision.
type Hit struct {
	List        string      `json:"list"`
	ListVersion uint64      `json:"list_version"`
	EntryID     string      `json:"entry_id"`
	Score       float64     `json:"score"`
	Band        Band        `json:"band"`
	MatchedName string      `json:"matched_name"`
	Action      string      `json:"action,omitempty"`
	Explanation Explanation `json:"explanation"`
}

// Explanation says, feature by feature, why a hit fired.
type Explanation struct {
	Name        *NameExplanation `json:"name,omitempty"`
	BirthDate   string           `json:"birth_date,omitempty"`
	Nationality string           `json:"nationality,omitempty"`
	Sex         string           `json:"sex,omitempty"`
	Document    string           `json:"document,omitempty"`
}

// NameExplanation is the alignment of the query's name words with the
// listed name's words.
type NameExplanation struct {
	Score          float64      `json:"score"`
	Aligned        []TokenMatch `json:"aligned"`
	UnmatchedQuery []string     `json:"unmatched_query,omitempty"`
	UnmatchedList  []string     `json:"unmatched_list,omitempty"`
	// Costs says what kept the name score under 1, item by item: words
	// without a counterpart, words spelt differently, too little
	// information. They add up to 1 − Score (to rounding).
	Costs []NameCost `json:"costs,omitempty"`
}

// NameCost is one reason a name score is under 1, and how much it took.
type NameCost struct {
	Word string  `json:"word,omitempty"` // the word (query word for a differently spelt pair); "" for the name as a whole
	Side string  `json:"side,omitempty"` // NameSideQuery, NameSideList or "" (both, or the whole name)
	Why  string  `json:"why"`
	Cost float64 `json:"cost"`
}

// Sides of a name comparison.
const (
	NameSideQuery = "query"
	NameSideList  = "list"
)

// TokenMatch is one aligned pair of name words and how they matched.
type TokenMatch struct {
	Query      string  `json:"query"`
	List       string  `json:"list"`
	How        string  `json:"how"`        // exact, variant, typo, similar, prefix, joined, part, initial
	Similarity float64 `json:"similarity"` // how far the pair counts as one word, in [0,1]
	Weight     float64 `json:"weight"`     // rarity weight of the word in the lists
}
