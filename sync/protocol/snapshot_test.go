package protocol

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
)

func readAll(file []byte, ks *KeySet, h *Head) (int, error) {
	r, err := NewSnapshotReader(bytes.NewReader(file), ks, t0, h)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func TestSnapshot(t *testing.T) {
	hq := newHQ(t, 3, 3)
	ks := keySetOf(t, hq.signer)
	file := hq.snapshot(3)
	sum := sha256.Sum256(file)
	head := &Head{List: "un", Epoch: 1, Version: 3, Hash: hq.hashes[2], IssuedAt: t0, ValidUntil: t0.Add(1e12),
		SnapshotURL: "https://hq.example/s", SnapshotVersion: 3, SnapshotSHA256: sum, SnapshotSize: uint64(len(file))}
	n, err := readAll(file, ks, head)
	if err != nil || n != len(hq.editions[2]) {
		t.Fatalf("read %d entries: %v", n, err)
	}

	wrong := *head
	wrong.SnapshotVersion = 2
	if _, err := readAll(file, ks, &wrong); !errors.Is(err, ErrConflict) {
		t.Errorf("snapshot of another version: %v", err)
	}
	wrong = *head
	wrong.SnapshotSHA256[0] ^= 1
	if _, err := readAll(file, ks, &wrong); !errors.Is(err, ErrMalformed) {
		t.Errorf("wrong file hash: %v", err)
	}
	if _, err := readAll(file, keySetOf(t, testSigner(t, 5)), nil); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("untrusted snapshot: %v", err)
	}
	// Every truncation is refused, never panics.
	for i := 0; i < len(file); i += 1 + i/64 {
		if _, err := readAll(file[:i], ks, nil); err == nil {
			t.Fatalf("truncated to %d accepted", i)
		}
	}
	// Every flipped byte is refused (signature, record, hash or trailer).
	for i := 0; i < len(file); i += 1 + i/64 {
		b := bytes.Clone(file)
		b[i] ^= 0x20
		if _, err := readAll(b, ks, nil); err == nil {
			t.Fatalf("byte %d flipped accepted", i)
		}
	}
}

func TestSnapshotWriterChecksHeader(t *testing.T) {
	s := testSigner(t, 1)
	es := synthEntries(t, 1, 3)
	set := setOf(es)
	var buf bytes.Buffer
	w, err := NewSnapshotWriter(&buf, s, SnapshotHeader{List: "un", Epoch: 1, Version: 1, Hash: SetHashOf(set), Count: 3, IssuedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(&es[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(&es[0]); err == nil {
		t.Error("duplicate id written")
	}
	if err := w.Close(); err == nil {
		t.Error("closed with 1 of 3 entries")
	}
}
