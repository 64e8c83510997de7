package paxlst

import (
	"bytes"
	"testing"
	"time"
)

// TestPathological feeds large inputs of repetitive shapes that could
// trigger quadratic behaviour; each must parse in linear time.
func TestPathological(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const size = 2 << 20
	head := []byte("UNB+UNOA:4+A+B+260101:1200+1'")
	shapes := map[string][]byte{
		"UNH only":             []byte("UNH'"),
		"NAD only":             []byte("NAD+FL+++X'"),
		"release runs":         []byte("??????????????????????????????'?'"),
		"one giant segment":    []byte("NAD+FL+++AAAAAAAAAAAAAAAAAAAA:"),
		"DOC groups":           []byte("DOC+P+1'DTM+36:200101'LOC+91+X'"),
		"unknown segments":     []byte("ZZZ+1'"),
		"line breaks":          []byte("\r\n \r\n"),
		"TDT legs":             []byte("TDT+20+X'LOC+92+A'LOC+92+B'LOC+92+C'"),
		"junk before tags":     []byte("\xff\xfeNAD+FL+++X'"),
		"UNZ and interchanges": []byte("UNZ+1+1'UNB+UNOA:4+A+B'"),
	}
	for name, unit := range shapes {
		t.Run(name, func(t *testing.T) {
			data := append(append([]byte(nil), head...), bytes.Repeat(unit, size/len(unit))...)
			start := time.Now()
			ic, err := ParseWith(data, Options{Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("%v for %d bytes", d, len(data))
			}
			n := 0
			for _, m := range ic.Messages {
				n += len(m.Travellers)
			}
			if n > MaxTravellers || len(ic.Messages) > MaxMessages {
				t.Errorf("limits exceeded: %d travellers, %d messages", n, len(ic.Messages))
			}
		})
	}
}
