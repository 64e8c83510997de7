package paxlst_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/engine/paxlst"
)

func ExampleParse() {
	msg := "UNA:+.? 'UNB+UNOA:4+APIS*ABE+USADHS+070429:0900+1++APIS'" +
		"UNH+PAX001+PAXLST:D:05B:UN:IATA'BGM+745'TDT+20+UA123+++UA'" +
		"LOC+125+YVR'DTM+189:0704291230:201'LOC+87+JFK'DTM+232:0704291600:201'" +
		"NAD+FL+++O?'LEARY:KRIS:ANN'ATT+2++F'DTM+329:331231'NAT+2+IRL'" +
		"DOC+P:110:111+E54321A'DTM+36:300831'LOC+91+IRL'" +
		"CNT+42:2'UNT+16+PAX001'UNZ+1+1'"
	ic, err := paxlst.ParseWith([]byte(msg), paxlst.Options{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		panic(err)
	}
	m := ic.Messages[0]
	f := m.Flights[0]
	fmt.Println(m.Type, m.Version, f.Number, f.Departure, f.Arrival, f.DepartureTime)
	for _, t := range m.Travellers {
		q := t.Query()
		fmt.Println(q.Surname, q.GivenNames, q.BirthDate, q.Sex, q.DocumentNumber, q.DocumentCountry)
	}
	for _, w := range m.Warnings {
		fmt.Println(w)
	}
	// Output:
	// passenger D05B UA123 YVR JFK 2007-04-29T12:30
	// O'LEARY KRIS ANN 1933-12-31 F E54321A IRL
	// segment 17 (offset 291) "CNT+42:2": CNT+42 declares 2 passengers, 1 found
}

func ExampleWrite() {
	ic := paxlst.Generate(1, 2)
	var buf bytes.Buffer
	err := paxlst.Write(&buf, ic, paxlst.WriteOptions{
		Separators: paxlst.Separators{Component: ':', Element: '*', Decimal: '.', Release: '?', Repetition: ' ', Terminator: '"'},
		LineBreak:  "\n",
		Now:        time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(buf.Bytes()[:57]))
	// Output:
	// UNA:*.? "
	// UNB*UNOA:4*APIS?*EK*USADHS*260301:0900*1**APIS"
}
