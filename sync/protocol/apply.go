package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/watchpost/watchpost/engine"
)

// SetHashOf returns the list hash of a set of entries exactly as
// engine/badgerstore computes ListInfo.Hash: the engine.SetHash of each
// entry's MarshalEntry record.
func SetHashOf(entries map[string]engine.Entry) engine.SetHash {
	var h engine.SetHash
	for _, e := range entries {
		h.Add(engine.MarshalEntry(&e))
	}
	return h
}

// CloneSet returns a copy of entries (keyed by entry id) that shares
// nothing with it, to keep a set that ApplyToSet will change.
func CloneSet(entries map[string]engine.Entry) map[string]engine.Entry {
	c := make(map[string]engine.Entry, len(entries))
	for id, e := range entries {
		c[id] = e.Clone()
	}
	return c
}

// ApplyToSet applies d to entries (keyed by entry id) with the store's
// rules (UpdateEntries: an upsert replaces or adds, a delete must find
// the id) and returns the resulting list hash. It checks everything
// before changing anything, so on error entries are untouched. HQ uses
// it to compute HashAfter; tests use it as the post's reference.
func ApplyToSet(entries map[string]engine.Entry, d *Delta) (engine.SetHash, error) {
	fail := func(err error) (engine.SetHash, error) {
		return engine.SetHash{}, fmt.Errorf("apply delta %d->%d to set: %w", d.FromVersion, d.ToVersion, err)
	}
	upserted := make(map[string]bool, len(d.Upserts))
	for i := range d.Upserts {
		e := &d.Upserts[i]
		if err := e.Validate(); err != nil {
			return fail(fmt.Errorf("upsert %d: %w", i, err))
		}
		upserted[e.ID] = true
	}
	for _, id := range d.Deletes {
		if upserted[id] {
			return fail(fmt.Errorf("entry %q is both upserted and deleted", id))
		}
		if _, ok := entries[id]; !ok {
			return fail(fmt.Errorf("delete entry %q: not in the list", id))
		}
	}
	for i := range d.Upserts {
		entries[d.Upserts[i].ID] = d.Upserts[i].Clone()
	}
	for _, id := range d.Deletes {
		delete(entries, id)
	}
	return SetHashOf(entries), nil
}

// Diff returns the operations that turn old into new: upserts for
// entries that are new or whose record bytes changed, deletes for ids
// that are gone, each sorted by id so that HQ's deltas are deterministic.
func Diff(old, new map[string]engine.Entry) (upserts []engine.Entry, deletes []string) {
	for id, e := range new {
		if o, ok := old[id]; ok && bytes.Equal(engine.MarshalEntry(&o), engine.MarshalEntry(&e)) {
			continue
		}
		upserts = append(upserts, e.Clone())
	}
	for id := range old {
		if _, ok := new[id]; !ok {
			deletes = append(deletes, id)
		}
	}
	slices.SortFunc(upserts, func(a, b engine.Entry) int { return strings.Compare(a.ID, b.ID) })
	slices.Sort(deletes)
	return upserts, deletes
}

// ParseSetHash reads the 64 hex digits of engine.SetHash.String (the
// form of engine.ListInfo.Hash).
func ParseSetHash(s string) (engine.SetHash, error) {
	var h engine.SetHash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return h, fmt.Errorf("parse list hash %q: want 64 hex digits", s)
	}
	for i := range h {
		h[i] = binary.BigEndian.Uint64(b[i*8:])
	}
	return h, nil
}
