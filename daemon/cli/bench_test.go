package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/sample"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/importer"
	"github.com/watchpost/watchpost/engine/match"
	"github.com/watchpost/watchpost/engine/synth"
)

// BenchmarkScreenLine measures one `watchpost screen` line (JSON in,
// screening, JSON out) against the embedded UN list.
func BenchmarkScreenLine(b *testing.B) {
	bl := match.NewBuilder()
	h := bl.AddList(engine.ListInfo{Name: "un", Version: 1})
	var persons []engine.Entry
	if err := importer.ReadUNXML(bytes.NewReader(sample.UNList), "un.xml", func(e *engine.Entry) error {
		bl.Add(h, e)
		if e.Kind == engine.KindPerson {
			persons = append(persons, *e)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	s := match.NewScreener(bl.Build(), nil, match.Config{})
	qs := synth.Travellers(5, 5000, persons, 0.1)
	lines := make([][]byte, len(qs))
	for i := range qs {
		lines[i], _ = json.Marshal(&qs[i])
	}
	w := bufio.NewWriter(io.Discard)
	enc := json.NewEncoder(w)
	ls := &listScreener{s: s, checked: daemon.CheckedLists(s, nil, nil)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := enc.Encode(screenLine(ls, lines[i%len(lines)], i)); err != nil {
			b.Fatal(err)
		}
	}
}
