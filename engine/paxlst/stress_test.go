package paxlst

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

// hangGuard bounds one parse of a pathological input in real time. It is
// a guard against a hang, not a speed goal (those live in the
// benchmarks): the 8 MB parse takes about a second on an idle machine and
// may take many times that under -race on a loaded one.
const hangGuard = 2 * time.Minute

// TestPathological feeds large inputs of repetitive shapes that could
// trigger quadratic behaviour; each must parse in linear work: four times
// the input may allocate at most six times as much (a quadratic parser
// allocates about sixteen times as much), and every parse stays within
// the message limits.
func TestPathological(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const small, large = 2 << 20, 8 << 20
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
			parse := func(size int) uint64 {
				data := append(append([]byte(nil), head...), bytes.Repeat(unit, size/len(unit))...)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				start := time.Now()
				ic, err := ParseWith(data, Options{Now: testNow})
				if d := time.Since(start); d > hangGuard {
					t.Errorf("%d bytes: %v, beyond the %v hang guard", len(data), d, hangGuard)
				}
				runtime.ReadMemStats(&after)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, m := range ic.Messages {
					n += len(m.Travellers)
				}
				if n > MaxTravellers || len(ic.Messages) > MaxMessages {
					t.Errorf("%d bytes: limits exceeded: %d travellers, %d messages", len(data), n, len(ic.Messages))
				}
				return after.TotalAlloc - before.TotalAlloc
			}
			a, b := parse(small), parse(large)
			if b > 6*a {
				t.Errorf("%d bytes allocated %d, %d bytes %d: %.1f times as much for four times the input", small, a, large, b, float64(b)/float64(a))
			}
		})
	}
}
