package ledger

import (
	"context"
	"testing"
	"time"
)

// TestBatches: the markers come back newest first, at most limit, with
// the counts per flight and file and the hit ids, and no traveller.
func TestBatches(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i, key := range []string{"k1", "k2", "k3"} {
		ss := []Screening{
			{Source: SourceIntake, Ref: "LH123 a.edi", Traveller: traveller()},
			{Source: SourceIntake, Ref: "LH123 a.edi", Traveller: traveller(), Hits: hits(1)},
			{Source: SourceIntake, Ref: "LH124 a.edi", Traveller: traveller()},
		}
		if _, err := e.l.RecordBatch(ctx, key, ss[:i+1]); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	bs, err := e.l.Batches(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || bs[0].Key != "k3" || bs[1].Key != "k2" {
		t.Fatalf("batches: %+v, want k3 then k2", bs)
	}
	b := bs[0]
	if b.Screened != 3 || b.HitTravellers != 1 || len(b.HitRecords) != 1 || len(b.Refs) != 2 {
		t.Fatalf("k3: %+v", b)
	}
	if r := b.Refs[0]; r.Ref != "LH123 a.edi" || r.Source != SourceIntake || r.Screened != 2 || r.HitTravellers != 1 {
		t.Errorf("first ref: %+v", r)
	}
	if r := b.Refs[1]; r.Ref != "LH124 a.edi" || r.Screened != 1 || r.HitTravellers != 0 {
		t.Errorf("second ref: %+v", r)
	}
	all, err := e.l.Batches(ctx, 0)
	if err != nil || len(all) != 3 {
		t.Fatalf("all batches: %d, %v", len(all), err)
	}
}
