package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func sampleDelta(t testing.TB, n int) *Delta {
	t.Helper()
	d := &Delta{
		List: "un", Epoch: 1, FromVersion: 41, ToVersion: 42,
		Upserts:  typicalUpserts(t, n),
		Deletes:  []string{"QDi.999", "QDe.123"},
		IssuedAt: t0, ValidUntil: t0.Add(30 * 24 * time.Hour),
	}
	set := setOf(nil)
	set["QDi.999"] = synthEntries(t, 1, 1)[0]
	set["QDe.123"] = synthEntries(t, 2, 1)[0]
	h, err := ApplyToSet(set, d)
	if err != nil {
		t.Fatal(err)
	}
	d.HashAfter = h
	return d
}

func TestSealOpenRoundTrip(t *testing.T) {
	hq := testSigner(t, 1)
	ks := keySetOf(t, hq)
	for _, kind := range []Kind{KindDelta, KindHead, KindRotation, KindSnapshot, KindSealKey, KindDocDelta, KindDocSnapshot} {
		payload := []byte("payload of " + kind.String())
		b, err := Seal(hq, kind, payload)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != EnvelopeHeaderSize+len(payload) {
			t.Errorf("%s: %d bytes, want %d", kind, len(b), EnvelopeHeaderSize+len(payload))
		}
		got, id, err := ks.Open(b, kind, t0)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if id != hq.ID() || !bytes.Equal(got, payload) {
			t.Errorf("%s: got %q from %s", kind, got, id)
		}
	}

	d := sampleDelta(t, 10)
	got := sealOpen(t, hq, d, SealDelta, ks.OpenDelta)
	p1, _ := EncodeDelta(d)
	p2, _ := EncodeDelta(got)
	if !bytes.Equal(p1, p2) || got.HashAfter != d.HashAfter || !got.IssuedAt.Equal(d.IssuedAt) || len(got.Upserts) != 10 {
		t.Errorf("delta changed in the round trip")
	}

	h := sampleHead()
	if gh := sealOpen(t, hq, h, SealHead, ks.OpenHead); *gh != *h {
		t.Errorf("head round trip: got %+v, want %+v", gh, h)
	}
}

// sealOpen seals m with hq and opens it again at t0.
func sealOpen[T any](t *testing.T, hq *Signer, m *T, seal func(*Signer, *T) ([]byte, error), open func([]byte, time.Time) (*T, KeyID, error)) *T {
	t.Helper()
	b, err := seal(hq, m)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := open(b, t0)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func sampleHead() *Head {
	return &Head{
		List: "un", Epoch: 1, Version: 42, Entries: 1000,
		IssuedAt: t0, ValidUntil: t0.Add(24 * time.Hour),
		SnapshotURL: "https://hq.example/v1/lists/un/snapshot/1/40", SnapshotVersion: 40,
		SnapshotSHA256: [32]byte{1, 2, 3}, SnapshotSize: 123456,
	}
}

// TestOpenHostile covers the envelope part of the hostile-broker case: nothing
// but a correctly signed message of the expected kind from a trusted,
// currently valid key is opened.
func TestOpenHostile(t *testing.T) {
	hq := testSigner(t, 1)
	rogue := testSigner(t, 2)
	ks := keySetOf(t, hq)
	d := sampleDelta(t, 3)
	good, err := SealDelta(hq, d)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := EncodeDelta(d)
	byRogue, _ := SealDelta(rogue, d)
	// The rogue signs but claims to be HQ's key.
	impostor := bytes.Clone(byRogue)
	copy(impostor[offKeyID:], hq.id[:])
	unsignedEnv := bytes.Clone(good)
	clear(unsignedEnv[offSig : offSig+64])
	// A valid head signature moved into a delta envelope (kind byte changed).
	headAsDelta, _ := Seal(hq, KindHead, payload)
	headAsDelta[offKind] = byte(KindDelta)
	asHead, _ := Seal(hq, KindDelta, payload)

	tests := []struct {
		name string
		msg  []byte
		kind Kind
		want error
	}{
		{"unsigned raw payload", payload, KindDelta, ErrUnsigned},
		{"unsigned JSON", []byte(`{"list":"un","from":1,"to":2}`), KindDelta, ErrUnsigned},
		{"empty signature", unsignedEnv, KindDelta, ErrUnsigned},
		{"unknown key", byRogue, KindDelta, ErrUnknownKey},
		{"wrong key claiming a trusted id", impostor, KindDelta, ErrBadSignature},
		{"signed as head, relabelled delta", headAsDelta, KindDelta, ErrBadSignature},
		{"delta opened as head", asHead, KindHead, ErrWrongKind},
		{"delta opened as key rotation", asHead, KindRotation, ErrWrongKind},
		{"empty", nil, KindDelta, ErrUnsigned},
		{"truncated header", good[:40], KindDelta, ErrMalformed},
		{"truncated payload", good[:len(good)-1], KindDelta, ErrMalformed},
		{"padded", append(bytes.Clone(good), 0), KindDelta, ErrMalformed},
		{"padded with a second envelope", append(bytes.Clone(good), good...), KindDelta, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ks.Open(tc.msg, tc.kind, t0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
}

// TestEveryCorruptionRejected flips each byte of an envelope (three ways)
// and truncates it at every length: every result is rejected, none panics.
func TestEveryCorruptionRejected(t *testing.T) {
	hq := testSigner(t, 1)
	ks := keySetOf(t, hq, testSigner(t, 3))
	good, err := SealDelta(hq, sampleDelta(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	for i := range good {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			b := bytes.Clone(good)
			b[i] ^= x
			if _, _, err := ks.OpenDelta(b, t0); err == nil {
				t.Fatalf("byte %d ^ %#x accepted", i, x)
			}
		}
	}
	for n := 0; n < len(good); n++ {
		if _, _, err := ks.OpenDelta(good[:n], t0); err == nil {
			t.Fatalf("truncated to %d bytes accepted", n)
		}
	}
}

func TestDecodeErrorsNameFieldAndOffset(t *testing.T) {
	d := sampleDelta(t, 1)
	p, err := EncodeDelta(d)
	if err != nil {
		t.Fatal(err)
	}
	listLen := 1 + len(d.List)
	tests := []struct {
		name  string
		b     []byte
		field string
	}{
		{"empty", nil, "list"},
		{"bad list name", append([]byte{2, 'U', 'N'}, p[listLen:]...), "list"},
		{"zero epoch", append(append(bytes.Clone(p[:listLen]), 0), p[listLen+1:]...), "epoch"},
		{"to is not from+1", func() []byte { b := bytes.Clone(p); b[listLen+2] = 99; return b }(), "to_version"},
		{"non-minimal varint", append(append(bytes.Clone(p[:listLen]), 0x81, 0x00), p[listLen+1:]...), "epoch"},
		{"trailing byte", append(bytes.Clone(p), 7), "end"},
		{"truncated hash", p[:listLen+3+10], "hash_after"},
		{"huge upsert count", func() []byte {
			b := bytes.Clone(p[:listLen+3+10+32])
			return append(b, 0xff, 0xff, 0xff, 0xff, 0x0f)
		}(), "upserts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeDelta(tc.b)
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want a DecodeError", err)
			}
			if de.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", de.Field, tc.field, err)
			}
			if !strings.Contains(err.Error(), "offset") {
				t.Errorf("error does not give the offset: %v", err)
			}
			t.Log(err)
		})
	}
}

func TestEncodeRefusesWhatDecodeRejects(t *testing.T) {
	base := func() *Delta { return sampleDelta(t, 2) }
	tests := []struct {
		name string
		mod  func(*Delta)
	}{
		{"no list", func(d *Delta) { d.List = "" }},
		{"to != from+1", func(d *Delta) { d.ToVersion = d.FromVersion + 2 }},
		{"from 0", func(d *Delta) { d.FromVersion, d.ToVersion = 0, 1 }},
		{"epoch 0", func(d *Delta) { d.Epoch = 0 }},
		{"no valid_until", func(d *Delta) { d.ValidUntil = time.Time{} }},
		{"valid_until before issued_at", func(d *Delta) { d.ValidUntil = d.IssuedAt.Add(-time.Second) }},
		{"sub-second time", func(d *Delta) { d.IssuedAt = d.IssuedAt.Add(time.Millisecond) }},
		{"upsert and delete one id", func(d *Delta) { d.Deletes = append(d.Deletes, d.Upserts[0].ID) }},
		{"duplicate upsert", func(d *Delta) { d.Upserts = append(d.Upserts, d.Upserts[0]) }},
		{"invalid entry", func(d *Delta) { d.Upserts[0].Names = nil }},
		{"NUL in id", func(d *Delta) { d.Deletes = append(d.Deletes, "a\x00b") }},
	}
	for _, tc := range tests {
		d := base()
		tc.mod(d)
		if _, err := EncodeDelta(d); err == nil {
			t.Errorf("%s: encoded", tc.name)
		}
	}
}

func TestHeadRoundTripAndErrors(t *testing.T) {
	h := sampleHead()
	p, err := EncodeHead(h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeHead(p)
	if err != nil || *got != *h {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	bad := []func(*Head){
		func(h *Head) { h.SnapshotURL = "http://hq.example/x" },
		func(h *Head) { h.SnapshotVersion = h.Version + 1 },
		func(h *Head) { h.SnapshotSize = 0 },
		func(h *Head) { h.SnapshotURL = "" },
		func(h *Head) { h.SnapshotURL += " x" },
		func(h *Head) { h.Version = 0 },
	}
	for i, mod := range bad {
		h := sampleHead()
		mod(h)
		if _, err := EncodeHead(h); err == nil {
			t.Errorf("case %d: encoded %+v", i, h)
		}
	}
	noSnap := sampleHead()
	noSnap.SnapshotURL, noSnap.SnapshotVersion, noSnap.SnapshotSize, noSnap.SnapshotSHA256 = "", 0, 0, [32]byte{}
	if _, err := EncodeHead(noSnap); err != nil {
		t.Errorf("head without snapshot: %v", err)
	}
}
