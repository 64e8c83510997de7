package protocol

import (
	"bytes"
	"io"
	"testing"
)

// FuzzDecodeEnvelope: no input panics; whatever opens re-encodes to itself
// (the envelope is canonical) and verifies.
func FuzzDecodeEnvelope(f *testing.F) {
	s := testSigner(f, 1)
	ks := keySetOf(f, s)
	good, _ := SealDelta(s, sampleDelta(f, 2))
	f.Add(good)
	f.Add(good[:EnvelopeHeaderSize])
	h, _ := SealHead(s, sampleHead())
	f.Add(h)
	f.Add([]byte("WP"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEnvelope(b)
		if err != nil {
			return
		}
		if len(b) != EnvelopeHeaderSize+len(e.Payload) {
			t.Fatalf("envelope of %d bytes with a %d-byte payload", len(b), len(e.Payload))
		}
		if p, _, err := ks.Open(b, e.Kind, t0); err == nil {
			if !bytes.Equal(p, e.Payload) || e.KeyID != s.ID() {
				t.Fatal("opened a different payload")
			}
		}
	})
}

// FuzzDecodeDelta: no input panics, and any payload that decodes is the
// canonical encoding of what it decodes to.
func FuzzDecodeDelta(f *testing.F) {
	p, _ := EncodeDelta(sampleDelta(f, 3))
	f.Add(p)
	f.Add(p[:len(p)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDelta(b)
		if err != nil {
			return
		}
		again, err := EncodeDelta(d)
		if err != nil {
			t.Fatalf("decoded delta does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("non-canonical delta accepted:\n in  %x\n out %x", b, again)
		}
	})
}

// FuzzDecodeSnapshot: no input panics or allocates beyond the limits.
func FuzzDecodeSnapshot(f *testing.F) {
	s := testSigner(f, 1)
	ks := keySetOf(f, s)
	var buf bytes.Buffer
	es := synthEntries(f, 4, 4)
	w, err := NewSnapshotWriter(&buf, s, SnapshotHeader{List: "un", Epoch: 1, Version: 2, Hash: SetHashOf(setOf(es)), Count: 4, IssuedAt: t0})
	if err != nil {
		f.Fatal(err)
	}
	for i := range es {
		if err := w.Add(&es[i]); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:100])
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewSnapshotReader(bytes.NewReader(b), ks, t0, nil)
		if err != nil {
			return
		}
		for i := 0; ; i++ {
			_, err := r.Next()
			if err == io.EOF {
				if r.FileSHA256() == ([32]byte{}) {
					t.Fatal("EOF without a file hash")
				}
				return
			}
			if err != nil {
				return
			}
			if uint64(i) > r.Header().Count {
				t.Fatal("more records than the header's count")
			}
		}
	})
}
