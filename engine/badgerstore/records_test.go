package badgerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func TestRecordsNamespaceValidation(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	for _, ns := range []string{"", "A", "a/b", "a b", "0123456789012345678901234567890123"} {
		err := s.Records(ns).Update(ctx, func(*RecordsTxn) error { return nil })
		if !errors.Is(err, ErrBadNamespace) {
			t.Errorf("namespace %q: err = %v, want ErrBadNamespace", ns, err)
		}
	}
	if err := s.Records("outbox_1-a").View(ctx, func(*RecordsTxn) error { return nil }); err != nil {
		t.Errorf("valid namespace: %v", err)
	}
}

func TestRecordsCRUDAndConfinement(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	ctx := context.Background()
	a, b := s.Records("a"), s.Records("ab")
	err := a.Update(ctx, func(tx *RecordsTxn) error {
		for _, k := range []string{"k1", "k2", "k3", "x"} {
			if err := tx.Set([]byte(k), []byte("a-"+k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A namespace that shares a prefix with "a" must not see its keys.
	err = b.Update(ctx, func(tx *RecordsTxn) error { return tx.Set([]byte("k1"), []byte("b")) })
	if err != nil {
		t.Fatal(err)
	}
	// Watchlist data must not be visible either.
	if _, err := s.ReplaceEntries(ctx, ListMeta{Name: "lst"}, entrySrc(makeEntries(0, 3, "t"))); err != nil {
		t.Fatal(err)
	}

	err = a.View(ctx, func(tx *RecordsTxn) error {
		var keys []string
		if err := tx.Iterate(nil, func(k, v []byte) error {
			keys = append(keys, fmt.Sprintf("%s=%s", k, v))
			return nil
		}); err != nil {
			return err
		}
		if got := fmt.Sprint(keys); got != "[k1=a-k1 k2=a-k2 k3=a-k3 x=a-x]" {
			t.Errorf("iterate all = %s", got)
		}
		keys = nil
		if err := tx.IterateFrom([]byte("k"), []byte("k2"), func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		}); err != nil {
			return err
		}
		if got := fmt.Sprint(keys); got != "[k2 k3]" {
			t.Errorf("iterate from k2 = %s", got)
		}
		keys = nil
		if err := tx.Iterate([]byte("k"), func(k, _ []byte) error {
			keys = append(keys, string(k))
			return StopIteration
		}); err != nil {
			t.Errorf("StopIteration returned %v", err)
		}
		if len(keys) != 1 {
			t.Errorf("StopIteration: %d calls", len(keys))
		}
		v, err := tx.Get([]byte("k2"))
		if err != nil || string(v) != "a-k2" {
			t.Errorf("Get k2 = %q, %v", v, err)
		}
		if _, err := tx.Get([]byte("nope")); !errors.Is(err, ErrRecordNotFound) {
			t.Errorf("Get absent: %v", err)
		}
		if err := tx.Set([]byte("w"), nil); err == nil {
			t.Error("Set in a View succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if err := a.Update(ctx, func(tx *RecordsTxn) error { return tx.Delete([]byte("k1")) }); err != nil {
		t.Fatal(err)
	}
	// Durable across a reopen; the watchlist store still opens and verifies.
	s.Close()
	s = openT(t, dir)
	err = s.Records("a").View(ctx, func(tx *RecordsTxn) error {
		if _, err := tx.Get([]byte("k1")); !errors.Is(err, ErrRecordNotFound) {
			t.Errorf("deleted k1: %v", err)
		}
		if v, err := tx.Get([]byte("k3")); err != nil || string(v) != "a-k3" {
			t.Errorf("k3 after reopen = %q, %v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(ctx, "lst"); err != nil {
		t.Errorf("Verify with records present: %v", err)
	}
}

func TestRecordsAbortAndCrossNamespaceAtomicity(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	boom := errors.New("boom")
	var hookCalls []bool
	err := s.Records("screenings").Update(ctx, func(tx *RecordsTxn) error {
		tx.OnDone(func(c bool) { hookCalls = append(hookCalls, c) })
		if err := tx.Set([]byte("s1"), []byte("screening")); err != nil {
			return err
		}
		out, err := tx.Records("outbox")
		if err != nil {
			return err
		}
		out.OnDone(func(c bool) { hookCalls = append(hookCalls, c) })
		if err := out.Set([]byte("h1"), []byte("hit")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if fmt.Sprint(hookCalls) != "[false false]" {
		t.Errorf("hooks after abort: %v", hookCalls)
	}
	check := func(ns, key string, want bool) {
		t.Helper()
		err := s.Records(ns).View(ctx, func(tx *RecordsTxn) error {
			_, err := tx.Get([]byte(key))
			if got := err == nil; got != want {
				t.Errorf("%s/%s present = %v, want %v (%v)", ns, key, got, want, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check("screenings", "s1", false)
	check("outbox", "h1", false)

	hookCalls = nil
	err = s.Records("screenings").Update(ctx, func(tx *RecordsTxn) error {
		tx.OnDone(func(c bool) {
			hookCalls = append(hookCalls, c)
			// A hook may start another transaction.
			if err := s.Records("x").Update(ctx, func(tx *RecordsTxn) error { return nil }); err != nil {
				t.Errorf("transaction in hook: %v", err)
			}
		})
		if err := tx.Set([]byte("s1"), []byte("screening")); err != nil {
			return err
		}
		out, err := tx.Records("outbox")
		if err != nil {
			return err
		}
		return out.Set([]byte("h1"), []byte("hit"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(hookCalls) != "[true]" {
		t.Errorf("hooks after commit: %v", hookCalls)
	}
	check("screenings", "s1", true)
	check("outbox", "h1", true)
}

func TestRecordsCancelledBeforeCommit(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	err := s.Records("a").Update(ctx, func(tx *RecordsTxn) error {
		cancel()
		return tx.Set([]byte("k"), []byte("v"))
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	err = s.Records("a").View(context.Background(), func(tx *RecordsTxn) error {
		if _, err := tx.Get([]byte("k")); !errors.Is(err, ErrRecordNotFound) {
			t.Errorf("k written by a cancelled update: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRecordsTxnTooBig(t *testing.T) {
	s, err := Open(t.TempDir(), Options{MemTableSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	val := bytes.Repeat([]byte("x"), 1024)
	err = s.Records("a").Update(context.Background(), func(tx *RecordsTxn) error {
		for i := 0; ; i++ {
			if err := tx.Set(fmt.Appendf(nil, "k%06d", i), val); err != nil {
				return err
			}
		}
	})
	if !errors.Is(err, ErrTxnTooBig) || !errors.Is(err, badger.ErrTxnTooBig) {
		t.Fatalf("err = %v, want ErrTxnTooBig", err)
	}
	err = s.Records("a").View(context.Background(), func(tx *RecordsTxn) error {
		return tx.Iterate(nil, func(k, _ []byte) error {
			t.Errorf("key %q written by a failed transaction", k)
			return StopIteration
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRecordsAfterClose(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Records("a")
	s.Close()
	if err := r.Update(context.Background(), func(*RecordsTxn) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Update after Close: %v", err)
	}
}
