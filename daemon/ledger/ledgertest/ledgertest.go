// Package ledgertest reaches into a ledger's rows as someone with the disk
// would, so that tests can damage the audit trail and check it is caught.
package ledgertest

import (
	"bytes"
	"context"
	"testing"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/protocol"
)

// EntryKey finds, with the store's own API, the key of the audit entry
// whose seq is seq among the rows under prefixes; it fails the test when
// there is none.
func EntryKey(t testing.TB, recs *badgerstore.Records, seq uint64, prefixes ...string) []byte {
	t.Helper()
	var key []byte
	err := recs.View(context.Background(), func(tx *badgerstore.RecordsTxn) error {
		for _, p := range prefixes {
			if err := tx.Iterate([]byte(p), func(k, v []byte) error {
				if l, err := protocol.DecodeAuditLink(v); err == nil && l.Seq == seq {
					key = bytes.Clone(k)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || key == nil {
		t.Fatalf("entry %d: %v", seq, err)
	}
	return key
}

// Tamper changes the rows in one update, failing the test if it cannot.
func Tamper(t testing.TB, recs *badgerstore.Records, fn func(tx *badgerstore.RecordsTxn) error) {
	t.Helper()
	if err := recs.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// Swap exchanges the values of rows a and b in one update, failing the
// test if it cannot.
func Swap(t testing.TB, recs *badgerstore.Records, a, b []byte) {
	t.Helper()
	Tamper(t, recs, func(tx *badgerstore.RecordsTxn) error {
		va, err := tx.Get(a)
		if err != nil {
			return err
		}
		vb, err := tx.Get(b)
		if err != nil {
			return err
		}
		if err := tx.Set(a, vb); err != nil {
			return err
		}
		return tx.Set(b, va)
	})
}
