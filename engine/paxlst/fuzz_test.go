package paxlst

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzPAXLST feeds arbitrary bytes to Parse: it must not panic, must keep
// its limits, and what it reads must survive Write and Parse again with the
// same number of travellers per message.
func FuzzPAXLST(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, name := range files {
		if ext := filepath.Ext(name); ext == ".edi" || ext == ".txt" && filepath.Base(name) != "PROVENANCE.txt" &&
			filepath.Base(name) != "LICENSE-GTAS.txt" {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	var buf bytes.Buffer
	if err := Write(&buf, tricky(), WriteOptions{Separators: Separators{':', '*', '.', '?', ' ', '"'}, LineBreak: "\n", Now: testNow}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("UNA:+.? 'UNH+1+PAXLST:D:05B:UN:IATA'NAD+FL+++A?"))
	f.Add([]byte("UNB+UNOA:4+A+B'UNH'UNH'UNT'DOC++'LOC+91'DTM+36'"))

	f.Fuzz(func(t *testing.T, data []byte) {
		ic, err := ParseWith(data, Options{Now: testNow})
		if err != nil {
			if ic != nil {
				t.Fatal("result with an error")
			}
			return
		}
		if len(ic.Warnings) > MaxWarnings+1 || len(ic.Messages) > MaxMessages {
			t.Fatalf("limits exceeded: %d warnings, %d messages", len(ic.Warnings), len(ic.Messages))
		}
		for _, m := range ic.Messages {
			if len(m.Warnings) > MaxWarnings+1 {
				t.Fatalf("%d warnings in a message", len(m.Warnings))
			}
			for i, tr := range m.Travellers {
				if tr.Position != i+1 {
					t.Fatalf("position %d at index %d", tr.Position, i)
				}
			}
			for _, w := range m.Warnings {
				if w.Offset < 0 || w.Offset > len(data) || w.Position < 0 {
					t.Fatalf("warning out of range: %+v", w)
				}
			}
		}
		var out bytes.Buffer
		if err := Write(&out, ic, WriteOptions{Now: testNow}); err != nil {
			t.Fatalf("Write: %v", err)
		}
		again, err := ParseWith(out.Bytes(), Options{Now: testNow})
		if err != nil {
			t.Fatalf("re-Parse: %v\n%q", err, out.Bytes())
		}
		if len(again.Messages) != len(ic.Messages) {
			t.Fatalf("messages %d, after a round trip %d\n%q", len(ic.Messages), len(again.Messages), out.Bytes())
		}
		for i := range ic.Messages {
			if a, b := len(ic.Messages[i].Travellers), len(again.Messages[i].Travellers); a != b {
				t.Fatalf("message %d: %d travellers, after a round trip %d\n%q", i, a, b, out.Bytes())
			}
		}
	})
}
