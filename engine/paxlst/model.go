package paxlst

import (
	"strconv"
	"strings"

	"github.com/watchpost/watchpost/engine"
)

// Interchange is one EDIFACT interchange (UNB … UNZ) and the PAXLST
// messages it carries.
type Interchange struct {
	Messages []Message `json:"messages"`
	// Warnings are problems found outside any message: the envelope
	// (UNA, UNB, UNG/UNE, UNZ), junk before or after it, segments between
	// messages.
	Warnings []Warning `json:"warnings,omitempty"`
}

// Message is one PAXLST message (UNH … UNT).
type Message struct {
	// Type is "passenger" (BGM+745), "crew" (BGM+250) or, for any other
	// document code, the code as given (a warning says so).
	Type string `json:"type"`
	// Version is the message version, "D05B" for PAXLST:D:05B:UN:IATA;
	// other schemes keep their version and release joined by ":"
	// ("001:000" for the legacy US CEDIPAX dialect).
	Version string `json:"version"`
	// Reference is the message reference number (UNH element 1).
	Reference string `json:"reference"`
	// Sender and Recipient are the interchange sender and recipient
	// identifications (UNB elements 2 and 3, first component).
	Sender     string      `json:"sender"`
	Recipient  string      `json:"recipient"`
	Flights    []Flight    `json:"flights,omitempty"`
	Travellers []Traveller `json:"travellers,omitempty"`
	Warnings   []Warning   `json:"warnings,omitempty"`
}

// Flight is one leg of the journey a message reports.
type Flight struct {
	Number        string `json:"number"` // journey identifier, e.g. "UA123"
	Carrier       string `json:"carrier,omitempty"`
	Departure     string `json:"departure"`      // airport, as given (IATA code)
	Arrival       string `json:"arrival"`        // airport, as given
	DepartureTime string `json:"departure_time"` // ISO 8601 local time, "2009-11-13T10:30"
	ArrivalTime   string `json:"arrival_time"`
	// Routing lists the LOC+92 (routing) places given for this leg, in
	// order; they also fill Departure and Arrival.
	Routing []string `json:"routing,omitempty"`
}

// Traveller is one person listed in a message.
type Traveller struct {
	Position int `json:"position"` // 1-based index within its message
	// Role is "passenger" (NAD+FL), "crew" (NAD+FM), or the NAD party
	// qualifier as given for any other person (DDU, DDT, COT, …).
	Role       string `json:"role"`
	Surname    string `json:"surname"`
	GivenNames string `json:"given_names"` // space separated
	BirthDate  string `json:"birth_date"`  // YYYY-MM-DD
	Sex        string `json:"sex"`         // M, F, U or X as given
	// Nationality, Residence, Embarkation and Disembarkation are codes as
	// given (ISO 3166 alpha-3 countries, IATA airports, usually).
	Nationality      string     `json:"nationality"`
	Residence        string     `json:"residence"`
	Embarkation      string     `json:"embarkation"`
	Disembarkation   string     `json:"disembarkation"`
	BookingReference string     `json:"booking_reference"`
	Seat             string     `json:"seat"`
	Documents        []Document `json:"documents,omitempty"`

	// BirthPlace is LOC+180 (place of birth in the WCO/IATA guideline;
	// some senders put a country of residence there).
	BirthPlace string `json:"birth_place,omitempty"`
	// Clearance is LOC+22, the place of clearance or first arrival.
	Clearance string `json:"clearance,omitempty"`
	// Bags is the checked baggage (MEA, FTX+BAG), when given.
	Bags *Bags `json:"bags,omitempty"`
	// References are the RFF references other than booking (AVF) and
	// seat (SEA).
	References []Reference `json:"references,omitempty"`
}

// Document is one travel document (DOC group) of a traveller.
type Document struct {
	// Type is the document type code as given: P passport, V visa,
	// I identity card, "" when the sender left it empty (DOC++number).
	Type         string `json:"type"`
	Number       string `json:"number"`
	IssuingState string `json:"issuing_state"` // LOC+91, as given
	ExpiryDate   string `json:"expiry_date"`   // YYYY-MM-DD
}

// Bags is a traveller's checked baggage.
type Bags struct {
	Count  int      `json:"count,omitempty"`  // MEA+CT
	Weight string   `json:"weight,omitempty"` // MEA+WT, as given ("80")
	Unit   string   `json:"unit,omitempty"`   // KGM or LBR
	Tags   []string `json:"tags,omitempty"`   // FTX+BAG tag numbers; "tag:n" for a run of n tags
}

// Reference is one RFF reference: qualifier (ABO, TN, AEA, CR, …) and value.
type Reference struct {
	Qualifier string `json:"qualifier"`
	Value     string `json:"value"`
}

// Warning is one thing that was wrong with the input. Position and Offset
// locate the segment: Position is its 1-based index among all segments of
// the data (UNA included), Offset its byte offset; both are 0 for a
// warning about the message as a whole.
type Warning struct {
	Position int    `json:"position"`
	Offset   int    `json:"offset"`
	Segment  string `json:"segment"` // the segment text, shortened if long
	Message  string `json:"message"`
}

func (w Warning) String() string {
	var b strings.Builder
	if w.Position > 0 {
		b.WriteString("segment ")
		b.WriteString(strconv.Itoa(w.Position))
		b.WriteString(" (offset ")
		b.WriteString(strconv.Itoa(w.Offset))
		b.WriteString(")")
		if w.Segment != "" {
			b.WriteString(" ")
			b.WriteString(strconv.Quote(w.Segment))
		}
		b.WriteString(": ")
	}
	b.WriteString(w.Message)
	return b.String()
}

// Query returns the traveller as a screening query: name, birth date, sex
// (M, F or X; U and anything else is left out), nationality, and the first
// passport-like document (type P…, else an untyped one, else an identity
// document; never a visa) with its issuing state. ID is the traveller's
// position within its message.
func (t *Traveller) Query() engine.Query {
	q := engine.Query{
		ID:          strconv.Itoa(t.Position),
		Surname:     t.Surname,
		GivenNames:  t.GivenNames,
		BirthDate:   t.BirthDate,
		Nationality: t.Nationality,
	}
	switch t.Sex {
	case "M", "F", "X":
		q.Sex = t.Sex
	}
	if d := t.passportLike(); d != nil {
		q.DocumentNumber = d.Number
		q.DocumentCountry = d.IssuingState
	}
	return q
}

// passportLike picks the document to screen: a passport, else a document
// of unknown type, else an identity document.
func (t *Traveller) passportLike() *Document {
	rank := func(typ string) int {
		switch {
		case strings.HasPrefix(typ, "P"):
			return 0
		case typ == "":
			return 1
		case typ == "I" || typ == "A" || typ == "C" || typ == "IP" || typ == "AC" || typ == "ID":
			return 2
		}
		return -1
	}
	var best *Document
	bestRank := 3
	for i := range t.Documents {
		d := &t.Documents[i]
		if d.Number == "" {
			continue
		}
		if r := rank(d.Type); r >= 0 && r < bestRank {
			best, bestRank = d, r
		}
	}
	return best
}
