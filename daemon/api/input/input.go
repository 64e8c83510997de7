// Package input turns what a post receives – a JSON traveller, an MRZ read
// from a document, a PAXLST manifest from an airline – into the queries to
// screen, the same way for every door (the HTTP API, folder intake,
// `watchpost screen`). It holds no policy: it decodes strictly, places each
// traveller and keeps what the input said about itself.
package input

import (
	"strconv"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/mrz"
	"github.com/watchpost/watchpost/engine/paxlst"
)

// MRZSummary is what an MRZ said about itself: a record whose check digits
// fail is still screened, and the officer sees why it is suspect.
type MRZSummary struct {
	Format       mrz.Format   `json:"format"`
	DocumentCode string       `json:"document_code"`
	ExpiryDate   string       `json:"expiry_date,omitempty"`
	Valid        bool         `json:"valid"`
	Errors       []string     `json:"errors,omitempty"`
	Repairs      []mrz.Repair `json:"repairs,omitempty"`
	Quirks       []string     `json:"quirks,omitempty"`
}

// FromMRZ parses one MRZ and returns the traveller to screen and what the
// MRZ said about itself. Only a layout error (line count or length, a bad
// character: a *mrz.FormatError) is an error; failed check digits are in
// the summary.
func FromMRZ(p *mrz.Parser, text string) (engine.Query, *MRZSummary, error) {
	rec, err := p.Parse(text)
	if err != nil {
		return engine.Query{}, nil, err
	}
	q, sum := MRZQuery(rec)
	return q, sum, nil
}

// MRZQuery returns the traveller to screen of a parsed MRZ record and what
// the record said about itself.
func MRZQuery(rec *mrz.Record) (engine.Query, *MRZSummary) {
	return rec.Query(), &MRZSummary{
		Format: rec.Format, DocumentCode: rec.DocumentCode, ExpiryDate: rec.ExpiryDate,
		Valid: rec.Valid, Errors: rec.Errors, Repairs: rec.Repairs, Quirks: rec.Quirks,
	}
}

// Traveller is one traveller of a PAXLST interchange, placed in it.
type Traveller struct {
	Message  int    // 1-based message of the interchange
	Position int    // 1-based position in the message
	Role     string // passenger, crew, or the NAD qualifier as given
	// Flight is the message's first flight number, else its reference.
	Flight string
	// Query is the traveller to screen; its ID is "<reference>/<position>",
	// as `watchpost screen --format paxlst` gives it.
	Query engine.Query
}

// FromPAXLST lists every traveller of every message of a parsed
// interchange, in order.
func FromPAXLST(ic *paxlst.Interchange) []Traveller {
	var out []Traveller
	for mi := range ic.Messages {
		m := &ic.Messages[mi]
		flight := m.Reference
		if len(m.Flights) > 0 && m.Flights[0].Number != "" {
			flight = m.Flights[0].Number
		}
		for ti := range m.Travellers {
			t := &m.Travellers[ti]
			q := t.Query()
			q.ID = m.Reference + "/" + strconv.Itoa(t.Position)
			out = append(out, Traveller{Message: mi + 1, Position: t.Position, Role: t.Role, Flight: flight, Query: q})
		}
	}
	return out
}

// PAXLSTWarnings returns every warning of an interchange as text, those of
// a message prefixed by "message <n>: ".
func PAXLSTWarnings(ic *paxlst.Interchange) []string {
	var out []string
	for _, w := range ic.Warnings {
		out = append(out, w.String())
	}
	for mi := range ic.Messages {
		for _, w := range ic.Messages[mi].Warnings {
			out = append(out, "message "+strconv.Itoa(mi+1)+": "+w.String())
		}
	}
	return out
}
