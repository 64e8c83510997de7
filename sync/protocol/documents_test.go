package protocol

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
)

func docDelta(up, del []engine.Document) *Delta {
	var h engine.SetHash
	for i := range up {
		h.Add(engine.MarshalDocument(&up[i]))
	}
	return &Delta{List: "sltd", Kind: engine.ListDocuments, Epoch: 1, FromVersion: 4, ToVersion: 5,
		DocUpserts: up, DocDeletes: del, HashAfter: h, IssuedAt: t0, ValidUntil: t0.Add(time.Hour)}
}

func TestDocDeltaRoundTrip(t *testing.T) {
	s := testSigner(t, 1)
	ks := keySetOf(t, s)
	want := docDelta(
		[]engine.Document{{Type: "P", Number: "X123", Country: "FRA", Note: "stolen 2026-11-30"}, {Type: "I", Number: "Y9", Country: "DEU"}},
		[]engine.Document{{Type: "P", Number: "Z77", Country: "ITA"}})
	b, err := SealDelta(s, want)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := DecodeEnvelope(b); err != nil || e.Kind != KindDocDelta {
		t.Fatalf("envelope kind %v, %v; want doc-delta", e, err)
	}
	got, _, err := ks.OpenDelta(b, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OpenDelta = %+v, want %+v", got, want)
	}
	// The doc-delta's signature does not verify for another kind: a
	// relabelled envelope (kind delta, same payload and signature) fails.
	relabelled := bytes.Clone(b)
	relabelled[offKind] = byte(KindDelta)
	if _, _, err := ks.OpenDelta(relabelled, t0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("relabelled doc-delta: %v, want ErrBadSignature", err)
	}
	if _, _, err := ks.Open(b, KindDelta, t0); !errors.Is(err, ErrWrongKind) {
		t.Errorf("Open(doc-delta, delta): %v, want ErrWrongKind", err)
	}
}

func TestDocDeltaRefused(t *testing.T) {
	p := engine.Document{Type: "P", Number: "X1", Country: "FRA"}
	for name, d := range map[string]*Delta{
		"twice":          docDelta([]engine.Document{p, {Type: "P", Number: "x-1", Country: "fra", Note: "n"}}, nil),
		"up and delete":  docDelta([]engine.Document{p}, []engine.Document{p}),
		"no number":      docDelta([]engine.Document{{Number: "--"}}, nil),
		"delete note":    docDelta(nil, []engine.Document{{Number: "X1", Note: "why"}}),
		"entries inside": func() *Delta { d := docDelta([]engine.Document{p}, nil); d.Deletes = []string{"1"}; return d }(),
	} {
		if _, err := EncodeDelta(d); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	// A payload naming a row twice is refused by the decoder as well.
	ok, err := EncodeDelta(docDelta([]engine.Document{p}, []engine.Document{{Type: "P", Number: "X2", Country: "FRA"}}))
	if err != nil {
		t.Fatal(err)
	}
	twice := bytes.Replace(ok, []byte("X2"), []byte("X1"), 1)
	if _, err := DecodeDocDelta(twice); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Errorf("decode a row twice: %v", err)
	}
	if _, err := DecodeDocDelta(ok[:len(ok)-1]); err == nil {
		t.Error("decode a truncated doc-delta: no error")
	}
}

func TestDocSnapshot(t *testing.T) {
	s := testSigner(t, 1)
	ks := keySetOf(t, s)
	docs := []engine.Document{
		{Type: "P", Number: "A1", Country: "FRA"},
		{Type: "P", Number: "B2", Country: "DEU", Note: "lost"},
		{Type: "P", Number: "B2", Country: "FRA"},
	}
	var h engine.SetHash
	for i := range docs {
		h.Add(engine.MarshalDocument(&docs[i]))
	}
	write := func(rows []engine.Document) ([]byte, error) {
		var buf bytes.Buffer
		sw, err := NewSnapshotWriter(&buf, s, SnapshotHeader{List: "sltd", Kind: engine.ListDocuments, Epoch: 1, Version: 2, Hash: h, Count: uint64(len(rows)), IssuedAt: t0})
		if err != nil {
			return nil, err
		}
		for i := range rows {
			if err := sw.AddDocument(&rows[i]); err != nil {
				return nil, err
			}
		}
		err = sw.Close()
		return buf.Bytes(), err
	}
	file, err := write(docs)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewSnapshotReader(bytes.NewReader(file), ks, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if hd := r.Header(); hd.Kind != engine.ListDocuments || hd.Count != 3 {
		t.Errorf("header %+v, want a documents list of 3", hd)
	}
	if _, err := r.Next(); err == nil {
		t.Error("Next on a documents snapshot: no error")
	}
	var got []engine.Document
	for {
		d, err := r.NextDocument()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d)
	}
	if !reflect.DeepEqual(got, docs) {
		t.Errorf("read %+v, want %+v", got, docs)
	}
	if _, err := write([]engine.Document{docs[1], docs[0], docs[2]}); err == nil {
		t.Error("unsorted rows written")
	}
	if _, err := write([]engine.Document{docs[0], docs[0], docs[2]}); err == nil {
		t.Error("a duplicate row written")
	}
	// A names snapshot of the same header is a different signed kind.
	var buf bytes.Buffer
	if _, err := NewSnapshotWriter(&buf, s, SnapshotHeader{List: "sltd", Epoch: 1, Version: 2, Hash: h, Count: 3, IssuedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(buf.Bytes(), file[:buf.Len()]) {
		t.Error("names and documents snapshot headers are the same bytes")
	}
}
