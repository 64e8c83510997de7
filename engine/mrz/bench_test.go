package mrz

import (
	"strings"
	"testing"
)

func benchParse(b *testing.B, text string) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		rec, err := testParser.Parse(text)
		if err != nil || !rec.Valid {
			b.Fatalf("%+v, %v", rec, err)
		}
	}
}

func BenchmarkParseTD3(b *testing.B) { benchParse(b, strings.Join(td3Specimen, "\n")) }

func BenchmarkParseTD1(b *testing.B) { benchParse(b, strings.Join(td1Specimen, "\n")) }

// BenchmarkParseTD3Repair is the worst usual case: OCR repairs in every
// kind of field.
func BenchmarkParseTD3Repair(b *testing.B) {
	benchParse(b, "P<UT0ERIK55ON<<ANNA<MAR1A<<<<<<<<<<<<<<<<<<<\nL898902C36UTO740BIZZF12041S9ZE184226B<<<<<1O")
}

// BenchmarkParseTD1Ambiguous is a failing document number: every single
// swap is tried.
func BenchmarkParseTD1Ambiguous(b *testing.B) {
	text := "I<UTOB8B8B8B8B5<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := testParser.Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}
