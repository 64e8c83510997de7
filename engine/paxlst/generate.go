package paxlst

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// GenerateOption tunes Generate.
type GenerateOption func(*genConfig)

type genConfig struct {
	crew      int
	departure time.Time
}

// WithCrew adds a crew list message (BGM+250) with n crew members.
func WithCrew(n int) GenerateOption { return func(c *genConfig) { c.crew = n } }

// WithDeparture sets the flight's departure time (default 2026-03-14 10:30).
func WithDeparture(t time.Time) GenerateOption { return func(c *genConfig) { c.departure = t } }

// culture is a small pool of name parts and the nationalities that go
// with them.
type culture struct {
	surnames       []string
	male, female   []string
	nationalities  []string
	feminineSuffix bool // Slavic surnames take -A for women (IVANOV → IVANOVA)
}

// The name parts are common names, chosen to cover scripts' usual
// romanisations, particles, hyphens and apostrophes.
var cultures = []culture{
	{surnames: []string{"SMITH", "JOHNSON", "O'LEARY", "O'BRIEN", "MURPHY", "WILLIAMS", "TAYLOR", "WALSH", "MACDONALD"},
		male: []string{"JAMES", "JOHN", "MICHAEL PATRICK", "DAVID", "THOMAS"}, female: []string{"MARY", "SARAH JANE", "EMMA", "SIOBHAN", "CLAIRE"},
		nationalities: []string{"GBR", "IRL", "USA", "CAN", "AUS"}},
	{surnames: []string{"GARCIA", "MARTINEZ", "RODRIGUEZ LOPEZ", "HERNANDEZ", "DE LA CRUZ", "GONZALEZ", "PEREZ"},
		male: []string{"JOSE", "CARLOS", "JUAN PABLO", "LUIS"}, female: []string{"MARIA", "ANA", "LUCIA", "MARIA JOSE"},
		nationalities: []string{"ESP", "MEX", "COL", "ARG"}},
	{surnames: []string{"AL-HASSAN", "ABDULLAH", "HADDAD", "EL AMRANI", "AL FARSI", "MANSOUR", "KHALIL", "NASSER"},
		male: []string{"MOHAMMED", "AHMED", "OMAR", "YOUSSEF"}, female: []string{"FATIMA", "AISHA", "LAYLA", "NOUR"},
		nationalities: []string{"SAU", "EGY", "JOR", "MAR", "ARE"}},
	{surnames: []string{"WANG", "LI", "ZHANG", "LIU", "CHEN", "YANG", "HUANG"},
		male: []string{"WEI", "JIANGUO", "HAO"}, female: []string{"XIUYING", "MEI", "LING"},
		nationalities: []string{"CHN", "TWN", "SGP"}},
	{surnames: []string{"IVANOV", "SMIRNOV", "KUZNETSOV", "POPOV", "PETROV"},
		male: []string{"ALEKSANDR", "DMITRII", "SERGEI"}, female: []string{"OLGA", "TATIANA", "ANNA"},
		nationalities: []string{"RUS", "BLR", "KAZ"}, feminineSuffix: true},
	{surnames: []string{"SHARMA", "PATEL", "SINGH", "KUMAR", "REDDY", "IYER"},
		male: []string{"RAHUL", "AMIT", "ARJUN"}, female: []string{"PRIYA", "ANANYA", "DEEPIKA"},
		nationalities: []string{"IND"}},
	{surnames: []string{"OKAFOR", "ADEYEMI", "MENSAH", "DIALLO", "OKONKWO"},
		male: []string{"CHUKWUEMEKA", "KWAME", "MAMADOU"}, female: []string{"NGOZI", "AMA", "FATOUMATA"},
		nationalities: []string{"NGA", "GHA", "SEN"}},
	{surnames: []string{"MUELLER", "SCHMIDT", "VAN DER BERG", "DE JONG", "DUBOIS", "D'ANGELO", "ROSSI", "LEFEVRE-MARTIN"},
		male: []string{"HANS PETER", "PIETER", "JEAN-LUC", "MARCO"}, female: []string{"ANNA", "SOPHIE", "GIULIA", "ANNE-MARIE"},
		nationalities: []string{"DEU", "NLD", "FRA", "ITA", "BEL"}},
	{surnames: []string{"NGUYEN", "TRAN", "KIM", "PARK", "LEE", "YILMAZ", "KAYA"},
		male: []string{"VAN MINH", "MIN-JUN", "MEHMET"}, female: []string{"THI HOA", "JI-WOO", "AYSE"},
		nationalities: []string{"VNM", "KOR", "TUR"}},
}

var routes = []struct{ carrier, from, to, toCountry string }{
	{"LH", "FRA", "JFK", "USA"}, {"BA", "LHR", "IAD", "USA"}, {"AF", "CDG", "YUL", "CAN"},
	{"EK", "DXB", "SYD", "AUS"}, {"SQ", "SIN", "LAX", "USA"}, {"QR", "DOH", "ORD", "USA"},
	{"ET", "ADD", "IAD", "USA"}, {"TK", "IST", "MIA", "USA"}, {"KE", "ICN", "YVR", "CAN"},
}

const alnum = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"

// Generate makes a realistic flight: one passenger list message with one
// flight and the given number of passengers (names drawn from small
// built-in pools across cultures, birth dates, nationalities, passports,
// some visas, seats, bookings and bags), plus a crew list with WithCrew.
// The same seed gives the same interchange. Write followed by Parse gives
// it back unchanged.
func Generate(seed int64, passengers int, opts ...GenerateOption) *Interchange {
	cfg := genConfig{departure: time.Date(2026, 3, 14, 10, 30, 0, 0, time.UTC)}
	for _, o := range opts {
		o(&cfg)
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x5DEECE66D))
	route := routes[r.IntN(len(routes))]
	dep := cfg.departure
	arr := dep.Add(time.Duration(90+r.IntN(12*60)) * time.Minute)
	f := Flight{
		Number:        route.carrier + strconv.Itoa(1+r.IntN(999)),
		Carrier:       route.carrier,
		Departure:     route.from,
		Arrival:       route.to,
		DepartureTime: dep.Format("2006-01-02T15:04"),
		ArrivalTime:   arr.Format("2006-01-02T15:04"),
	}
	sender := "APIS*" + route.carrier
	ref := strconv.FormatInt(1000000+int64(r.IntN(9000000)), 10)
	ic := &Interchange{Messages: []Message{{
		Type: "passenger", Version: "D05B", Reference: ref,
		Sender: sender, Recipient: "USADHS",
		Flights:    []Flight{f},
		Travellers: make([]Traveller, 0, passengers),
	}}}
	g := generator{r: r, dep: dep, route: route}
	seats := map[string]bool{}
	booking := ""
	for i := 0; i < passengers; i++ {
		t := g.person(i+1, "passenger")
		if booking == "" || r.IntN(3) > 0 {
			booking = g.code(6)
		}
		t.BookingReference = booking
		for {
			seat := strconv.Itoa(1+r.IntN(60)) + string("ABCDEFGHJK"[r.IntN(10)])
			if !seats[seat] || len(seats) >= 600 {
				seats[seat] = true
				t.Seat = seat
				break
			}
		}
		if r.IntN(10) < 6 {
			b := &Bags{Count: 1 + r.IntN(3)}
			b.Weight, b.Unit = strconv.Itoa(8+r.IntN(25*b.Count)), "KGM"
			for k := 0; k < b.Count; k++ {
				b.Tags = append(b.Tags, route.carrier+strconv.Itoa(100000+r.IntN(900000)))
			}
			t.Bags = b
		}
		if r.IntN(20) == 0 {
			t.References = []Reference{{Qualifier: "ABO", Value: g.code(9)}}
		}
		ic.Messages[0].Travellers = append(ic.Messages[0].Travellers, t)
	}
	if cfg.crew > 0 {
		crew := Message{Type: "crew", Version: "D05B", Reference: ref + "C",
			Sender: sender, Recipient: "USADHS", Flights: []Flight{f}}
		for i := 0; i < cfg.crew; i++ {
			crew.Travellers = append(crew.Travellers, g.person(i+1, "crew"))
		}
		ic.Messages = append(ic.Messages, crew)
	}
	return ic
}

type generator struct {
	r     *rand.Rand
	dep   time.Time
	route struct{ carrier, from, to, toCountry string }
}

func (g *generator) code(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(alnum[g.r.IntN(len(alnum))])
	}
	return b.String()
}

func (g *generator) person(pos int, role string) Traveller {
	r := g.r
	c := &cultures[r.IntN(len(cultures))]
	female := r.IntN(2) == 0
	surname := c.surnames[r.IntN(len(c.surnames))]
	given := c.male
	sex := "M"
	if female {
		given, sex = c.female, "F"
		if c.feminineSuffix {
			surname += "A"
		}
	}
	if r.IntN(200) == 0 {
		sex = "X"
	}
	nat := c.nationalities[r.IntN(len(c.nationalities))]
	minAge, maxAge := 0, 90
	if role == "crew" {
		minAge, maxAge = 21, 65
	}
	birth := g.dep.AddDate(-minAge-r.IntN(maxAge-minAge+1), 0, -1-r.IntN(364))
	t := Traveller{
		Position:       pos,
		Role:           role,
		Surname:        surname,
		GivenNames:     given[r.IntN(len(given))],
		BirthDate:      birth.Format("2006-01-02"),
		Sex:            sex,
		Nationality:    nat,
		Residence:      nat,
		Embarkation:    g.route.from,
		Disembarkation: g.route.to,
	}
	if r.IntN(10) == 0 {
		t.Residence = g.route.toCountry
	}
	expiry := g.dep.AddDate(1+r.IntN(9), r.IntN(12), r.IntN(28))
	t.Documents = []Document{{Type: "P", Number: g.code(9), IssuingState: nat, ExpiryDate: expiry.Format("2006-01-02")}}
	if nat != g.route.toCountry && r.IntN(4) == 0 {
		visa := g.dep.AddDate(0, 1+r.IntN(24), 0)
		t.Documents = append(t.Documents, Document{Type: "V", Number: g.code(8), IssuingState: g.route.toCountry,
			ExpiryDate: visa.Format("2006-01-02")})
	}
	return t
}
