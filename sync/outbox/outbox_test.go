package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/sync/outbox"
)

func TestPutValidation(t *testing.T) {
	clk := clocktest.New()
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{Clock: clk})
	ctx := context.Background()
	bad := []outbox.Record{
		{Kind: 0, Payload: []byte(`{}`)},
		{Kind: 9, Payload: []byte(`{}`)},
		{Kind: outbox.KindHit, Payload: []byte(`not json`)},
		{Kind: outbox.KindHit, Payload: nil},
		{Kind: outbox.KindHit, Payload: []byte(`{}`), ID: "has space"},
		{Kind: outbox.KindHit, Payload: []byte(`{}`), ID: strings.Repeat("a", 65)},
		{Kind: outbox.KindHit, Payload: []byte(`{}`), Priority: outbox.PriorityLow},
		{Kind: outbox.KindTelemetry, Payload: []byte(`{}`), Priority: outbox.PriorityHigh},
		{Kind: outbox.KindHit, Payload: []byte(`"` + strings.Repeat("a", outbox.MaxPayload) + `"`)},
	}
	for i, r := range bad {
		if _, err := ob.Put(ctx, r); !errors.Is(err, outbox.ErrInvalidRecord) {
			t.Errorf("case %d: err = %v, want ErrInvalidRecord", i, err)
		}
	}
	r := put(t, ob, outbox.KindHit, `{"a":1}`)
	if len(r.ID) != 26 || r.Priority != outbox.PriorityHigh || !r.CreatedAt.Equal(clk.Now()) {
		t.Errorf("stored record %+v", r)
	}
	if _, err := ob.Put(ctx, outbox.Record{ID: r.ID, Kind: outbox.KindHit, Payload: []byte(`{}`)}); !errors.Is(err, outbox.ErrDuplicateID) {
		t.Errorf("duplicate id: %v", err)
	}
	if r2, err := ob.Put(ctx, outbox.Record{ID: "caller-id:1", Kind: outbox.KindDisposition, Payload: []byte(`{}`)}); err != nil || r2.ID != "caller-id:1" {
		t.Errorf("caller id: %+v, %v", r2, err)
	}
	mustDepth(t, ob, 2)
}

func TestNewIDTimeOrdered(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		id := outbox.NewID(t0.Add(time.Duration(i) * time.Millisecond))
		if len(id) != 26 || strings.ContainsAny(id, "ILOU") || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		if id[:10] <= prev {
			t.Fatalf("id %q not after %q in time", id, prev)
		}
		prev = id[:10]
		seen[id] = true
	}
}

func TestMessageAndAckRoundTrip(t *testing.T) {
	r := outbox.Record{ID: outbox.NewID(time.Now()), Kind: outbox.KindHit, Payload: []byte(`{"entry_id":"x"}`), CreatedAt: time.Date(2026, 7, 1, 10, 0, 0, 123456789, time.FixedZone("X", 3600))}
	b, err := outbox.EncodeMessage(r)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"id":"%s","kind":"hit","created_at":"2026-07-01T09:00:00.123456789Z","payload":{"entry_id":"x"}}`, r.ID)
	if string(b) != want {
		t.Errorf("message = %s\nwant      %s", b, want)
	}
	got, err := outbox.DecodeMessage(b)
	if err != nil || got.ID != r.ID || got.Kind != outbox.KindHit || !got.CreatedAt.Equal(r.CreatedAt) || string(got.Payload) != string(r.Payload) {
		t.Errorf("decoded %+v, %v", got, err)
	}
	a, _ := outbox.EncodeAck([]string{"a", "b"})
	if string(a) != `{"ids":["a","b"]}` {
		t.Errorf("ack = %s", a)
	}
	for _, bad := range []string{`{`, `{"ids":["bad id"]}`, `{"ids":[1]}`} {
		if _, err := outbox.DecodeAck([]byte(bad)); err == nil {
			t.Errorf("DecodeAck(%s) succeeded", bad)
		}
	}
}

func TestBudgetPolicy(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	var mu sync.Mutex
	var alarms []bool
	opts := outbox.Options{Budget: 4000, OnAlarm: func(over bool, _ outbox.Depth) {
		mu.Lock()
		alarms = append(alarms, over)
		mu.Unlock()
	}}
	ob := openOutbox(t, s, opts)
	ctx := context.Background()
	alarmLog := func() string { mu.Lock(); defer mu.Unlock(); return fmt.Sprint(alarms) }

	// Status: only the latest is kept.
	var st outbox.Record
	for i := range 3 {
		st = put(t, ob, outbox.KindStatus, fmt.Sprintf(`{"n":%d}`, i))
	}
	if d := ob.Depth(); d.Low != 1 || d.Superseded != 2 {
		t.Fatalf("after 3 statuses: %+v", d)
	}
	// Telemetry until over budget: the oldest go first, the status stays
	// while there is telemetry to drop.
	var tele []outbox.Record
	for i := range 60 {
		tele = append(tele, put(t, ob, outbox.KindTelemetry, fmt.Sprintf(`{"sample":%d,"pad":"%s"}`, i, strings.Repeat("x", 40))))
	}
	d := ob.Depth()
	if d.Bytes > d.Budget || d.Dropped == 0 || !d.OverBudget || !ob.OverBudget() {
		t.Fatalf("telemetry over budget: %+v", d)
	}
	if alarmLog() != "[true]" {
		t.Errorf("alarm callbacks %s, want [true]", alarmLog())
	}
	kept := keptIDs(t, ob)
	if !kept[st.ID] {
		t.Error("the status was dropped while telemetry was left")
	}
	for i, r := range tele {
		oldest := i < int(d.Dropped)
		if kept[r.ID] == oldest {
			t.Fatalf("telemetry %d kept=%v; %d dropped, want oldest-first", i, kept[r.ID], d.Dropped)
		}
	}

	// Hits over budget: all accepted, never dropped; low priority yields.
	var hits []string
	for i := range 60 {
		hits = append(hits, put(t, ob, outbox.KindHit, string(hitPayload(i))).ID)
	}
	d = ob.Depth()
	if d.High != 60 || d.Low != 0 || !d.OverBudget || d.Bytes <= d.Budget {
		t.Fatalf("hits over budget: %+v", d)
	}
	kept = keptIDs(t, ob)
	for _, id := range hits {
		if !kept[id] {
			t.Fatalf("hit %s dropped", id)
		}
	}
	// A restart keeps the alarm and the hits.
	s.Close()
	s = openStore(t, dir)
	ob = openOutbox(t, s, outbox.Options{Budget: 4000, OnAlarm: opts.OnAlarm})
	if d := ob.Depth(); d.High != 60 || !d.OverBudget {
		t.Fatalf("after reopen: %+v", d)
	}
	// Acks bring it under ClearBelow: the alarm clears.
	if n, err := ob.Ack(ctx, hits[:50]); err != nil || n != 50 {
		t.Fatalf("Ack = %d, %v", n, err)
	}
	if d := ob.Depth(); d.OverBudget || d.High != 10 {
		t.Fatalf("after acks: %+v", d)
	}
	if got := alarmLog(); got != "[true true false]" {
		t.Errorf("alarm callbacks %s, want [true true false] (raised, raised again by the new Outbox, cleared)", got)
	}
}

// keptIDs returns the ids in the outbox, read from Badger.
func keptIDs(t testing.TB, ob *outbox.Outbox) map[string]bool {
	t.Helper()
	kept, err := ob.QueuedIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return kept
}

func TestPutTxAtomicWithScreening(t *testing.T) {
	s := openStore(t, t.TempDir())
	ob := openOutbox(t, s, outbox.Options{})
	ctx := context.Background()
	screenings := s.Records("screenings")
	var hit outbox.Record
	err := screenings.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		if err := tx.Set([]byte("scr-1"), []byte(`{"traveller":"x"}`)); err != nil {
			return err
		}
		var err error
		hit, err = ob.PutTx(tx, outbox.Record{Kind: outbox.KindHit, Payload: hitPayload(1)})
		if err != nil {
			return err
		}
		return errAbort // e.g. the screening could not be completed
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Update = %v", err)
	}
	exists := func(key string) bool {
		var ok bool
		err := screenings.View(ctx, func(tx *badgerstore.RecordsTxn) error {
			_, err := tx.Get([]byte(key))
			ok = err == nil
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if exists("scr-1") || len(keptIDs(t, ob)) != 0 {
		t.Fatal("aborted transaction left a screening or a hit")
	}
	mustDepth(t, ob, 0)
	if n, _ := ob.Ack(ctx, []string{hit.ID}); n != 0 {
		t.Fatal("aborted hit is ackable")
	}

	err = screenings.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		if err := tx.Set([]byte("scr-2"), []byte(`{"traveller":"y"}`)); err != nil {
			return err
		}
		var err error
		hit, err = ob.PutTx(tx, outbox.Record{Kind: outbox.KindHit, Payload: hitPayload(2)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !exists("scr-2") || !keptIDs(t, ob)[hit.ID] {
		t.Fatal("committed transaction lost the screening or the hit")
	}
	mustDepth(t, ob, 1)

	err = screenings.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		_, err := ob.PutTx(tx, outbox.Record{Kind: outbox.KindHit, Payload: hitPayload(3)})
		return err
	})
	if err == nil {
		t.Error("PutTx in a read-only transaction succeeded")
	}
	mustDepth(t, ob, 1)
}
