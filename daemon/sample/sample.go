// Package sample embeds the material `watchpost demo` and `watchpost bench`
// run on with no setup: the UN Security Council Consolidated List of
// 2026-02-27 and a small set of sample travellers.
package sample

import (
	_ "embed"

	"github.com/watchpost/watchpost/engine"
)

// UNList is the UN SC Consolidated List XML (see PROVENANCE.txt).
//
//go:embed un_consolidated.xml
var UNList []byte

// UNListDate is the list's dateGenerated.
const UNListDate = "2026-02-27"

// Traveller is a sample traveller with what an officer should expect.
type Traveller struct {
	Query  engine.Query
	Expect string // what the demo shows and why
}

// Travellers are invented travellers: some written the way a passport or an
// airline would write a listed person (other transliterations, other
// scripts, missing names, typos), some ordinary people with common names.
var Travellers = []Traveller{
	{engine.Query{ID: "T01", Name: "Saadi Gaddafi", BirthDate: "1973-05-27", Nationality: "LBY", Sex: "M"},
		"another transliteration of a listed name, same birth date"},
	{engine.Query{ID: "T02", Surname: "HOJATI", GivenNames: "MOHSEN", BirthDate: "1955-09-28"},
		"surname and given names as an MRZ gives them"},
	{engine.Query{ID: "T03", Name: "Ислам Атабиев", BirthDate: "1983-09-29"},
		"Cyrillic script, middle name (patronymic) missing"},
	{engine.Query{ID: "T04", Name: "اياد اغ غالي"},
		"Arabic script, no birth date"},
	{engine.Query{ID: "T05", Name: "Uday Sadam Husein al Tikriti", BirthDate: "1964"},
		"typos and a particle; the list gives the year only"},
	{engine.Query{ID: "T06", Name: "Mounir Motassadeq", DocumentNumber: "H236483", DocumentCountry: "MAR"},
		"passport number and issuing state equal a listed document"},
	{engine.Query{ID: "T07", Name: "Han Jang Su", BirthDate: "2001-02-03", Nationality: "PRK"},
		"listed name, but born 32 years later: scored down"},
	{engine.Query{ID: "T08", Name: "Mohammed Ali", BirthDate: "1990-03-14", Nationality: "GBR"},
		"two common words; the list has a namesake born four years later: a possible at most"},
	{engine.Query{ID: "T09", Name: "Maria Garcia Lopez", BirthDate: "1985-11-02", Nationality: "ESP"},
		"an ordinary traveller: no hit expected"},
	{engine.Query{ID: "T10", Surname: "AL JALAHMAH", GivenNames: "JABER ABDALLAH JAB", NameTruncated: true, BirthDate: "1959-09-24"},
		"an MRZ name cut short by the field length"},
}
