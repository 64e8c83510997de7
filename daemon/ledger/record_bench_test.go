package ledger

import (
	"context"
	"testing"
)

// BenchmarkRecordParallel records screenings from parallel callers (5%
// of them hits), as the API's handlers do: each Record is one
// transaction, and the audit chain serialises their appends. Run with
//
//	go test -run '^$' -bench RecordParallel -benchtime 2000x ./daemon/ledger
func BenchmarkRecordParallel(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			n := 0
			if i%20 == 0 {
				n = 1
			}
			i++
			if _, err := e.l.Record(ctx, screening(n)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
