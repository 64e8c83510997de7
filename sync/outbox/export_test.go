package outbox

import "context"

// QueuedIDs returns the ids of the records in the outbox, read from
// Badger; it exists for the external tests (package outbox_test).
func (o *Outbox) QueuedIDs(ctx context.Context) (map[string]bool, error) {
	kept := map[string]bool{}
	for _, p := range []Priority{PriorityHigh, PriorityLow} {
		recs, _, err := o.scan(ctx, p, 0, 1<<30, nil)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			kept[r.rec.ID] = true
		}
	}
	return kept, nil
}

// Started reports whether Run was called.
func (p *Publisher) Started() bool { return p.started.Load() }
