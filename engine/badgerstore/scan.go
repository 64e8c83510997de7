package badgerstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/watchpost/watchpost/engine"
)

// row is one stored version of a group, valid only inside the callback of
// scanGroups. val is nil for rows whose value was not copied.
type row struct {
	key []byte
	ver uint64
	val []byte
}

// scanGroups calls fn once per group under prefix with the group's rows,
// newest version first. Only the values of the newest row and of the row
// visible at version cur are copied; the others are nil. The slices are
// reused after fn returns.
func scanGroups(txn *badger.Txn, list string, prefix []byte, cur uint64, fn func(group []byte, rows []row) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()

	type span struct {
		ko, ke, vo, ve int
		ver            uint64
	}
	var (
		group   []byte
		spans   []span
		arena   []byte
		rows    []row
		visible bool // the group's visible row has been copied
	)
	flush := func() error {
		if len(spans) == 0 {
			return nil
		}
		rows = rows[:0]
		for _, sp := range spans {
			r := row{key: arena[sp.ko:sp.ke], ver: sp.ver}
			if sp.vo >= 0 {
				r.val = arena[sp.vo:sp.ve]
			}
			rows = append(rows, r)
		}
		err := fn(group, rows)
		spans, arena = spans[:0], arena[:0]
		return err
	}
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		g, ver, ok := splitRowKey(k)
		if !ok {
			return fmt.Errorf("list %q: key %q: %w: malformed row key", list, k, engine.ErrCorruptRecord)
		}
		first := !bytes.Equal(g, group)
		if first {
			if err := flush(); err != nil {
				return err
			}
			group = append(group[:0], g...)
			visible = false
		}
		sp := span{ko: len(arena), ver: ver, vo: -1}
		arena = append(arena, k...)
		sp.ke = len(arena)
		if first || (!visible && ver <= cur) {
			visible = visible || ver <= cur
			sp.vo = len(arena)
			err := item.Value(func(v []byte) error {
				arena = append(arena, v...)
				return nil
			})
			if err != nil {
				return fmt.Errorf("list %q: key %q: read value: %w", list, k, err)
			}
			sp.ve = len(arena)
		}
		spans = append(spans, sp)
	}
	return flush()
}

// visible returns the index of the row a reader at version cur sees, or -1.
func visible(rows []row, cur uint64) int {
	for i, r := range rows {
		if r.ver <= cur {
			return i
		}
	}
	return -1
}

// getInfo reads a list's metadata in txn; ok is false if it does not exist.
func getInfo(txn *badger.Txn, name string) (info engine.ListInfo, ok bool, err error) {
	item, err := txn.Get(metaKey(name))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return info, false, nil
	}
	if err != nil {
		return info, false, fmt.Errorf("list %q: read metadata: %w", name, err)
	}
	err = item.Value(func(v []byte) error { return json.Unmarshal(v, &info) })
	if err != nil {
		return info, false, fmt.Errorf("list %q: key %q: %w: %v", name, metaKey(name), engine.ErrCorruptRecord, err)
	}
	return info, true, nil
}

func parseHash(list, s string) (engine.SetHash, error) {
	var h engine.SetHash
	if len(s) != 64 {
		return h, fmt.Errorf("list %q: %w: hash %q is not 64 hex digits", list, engine.ErrCorruptRecord, s)
	}
	for i := range h {
		var v uint64
		for _, c := range []byte(s[i*16 : i*16+16]) {
			var d byte
			switch {
			case c >= '0' && c <= '9':
				d = c - '0'
			case c >= 'a' && c <= 'f':
				d = c - 'a' + 10
			default:
				return h, fmt.Errorf("list %q: %w: hash %q is not hex", list, engine.ErrCorruptRecord, s)
			}
			v = v<<4 | uint64(d)
		}
		h[i] = v
	}
	return h, nil
}
