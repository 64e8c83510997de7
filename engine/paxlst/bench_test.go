package paxlst

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// BenchmarkParse500 parses a generated 500-passenger message.
func BenchmarkParse500(b *testing.B) {
	data := write(b, Generate(1, 500), WriteOptions{LineBreak: "\n"})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		ic, err := ParseWith(data, Options{Now: testNow})
		if err != nil || len(ic.Messages[0].Travellers) != 500 {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseQueries500 is what screening needs before matching: parse
// and turn every traveller into an engine.Query.
func BenchmarkParseQueries500(b *testing.B) {
	data := write(b, Generate(1, 500), WriteOptions{})
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		ic, err := ParseWith(data, Options{Now: testNow})
		if err != nil {
			b.Fatal(err)
		}
		for i := range ic.Messages[0].Travellers {
			q := ic.Messages[0].Travellers[i].Query()
			n += len(q.Surname)
		}
	}
	if n == 0 {
		b.Fatal("no queries")
	}
}

// BenchmarkWrite500 writes a 500-passenger message.
func BenchmarkWrite500(b *testing.B) {
	ic := Generate(1, 500)
	opts := WriteOptions{LineBreak: "\n", Now: testNow}
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(io.Discard, ic, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParse500Budget guards the time budget loosely (the race detector and
// slow CI machines are far slower than a benchmark run): 500 passengers
// must parse well within the 50 ms that parsing and screening share.
func TestParse500Budget(t *testing.T) {
	data := write(t, Generate(1, 500), WriteOptions{})
	best := time.Hour
	for i := 0; i < 5; i++ {
		start := time.Now()
		if _, err := ParseWith(data, Options{Now: testNow}); err != nil {
			t.Fatal(err)
		}
		best = min(best, time.Since(start))
	}
	if best > 50*time.Millisecond {
		t.Errorf("parsing 500 passengers took %v", best)
	}
	if !bytes.Contains(data, []byte("CNT+42:500'")) {
		t.Error("generated message lacks CNT+42:500")
	}
}
