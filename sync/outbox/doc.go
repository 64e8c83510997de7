// Package outbox is the post's durable store-and-forward queue to HQ. Its
// one job: every record put in it (hits first) reaches HQ at least once,
// across link outages, broker restarts, kill -9 and power cuts, and is
// deleted only when HQ has said it stored it. MQTT is treated as an
// unreliable transport, not a queue.
//
// # Records and storage
//
// A Record has an id that never changes (NewID: ULID layout, 48-bit
// milliseconds from the injected clock plus 80 bits from crypto/rand, or
// the caller's), a protocol.RecordKind (hit, disposition, status, telemetry), the
// Priority its kind implies (hits and dispositions high, status and
// telemetry low), a JSON Payload and CreatedAt. They live in the store's
// Badger database, in the records namespace "outbox"
// (badgerstore.Records), as
//
//	r/outbox/q/<p><seq>   the record; p = priority byte (1 high, 2 low),
//	                      seq = 8-byte big-endian sequence: FIFO per priority
//	r/outbox/i/<id>       <p><seq>: the id index, used by acks
//
// Put writes both rows in one transaction (SyncWrites: durable when Put
// returns). PutTx writes them inside a caller's Records transaction, so a
// screening record and its hit commit together or not at all; issue 5's
// screening API uses it that way (see PutTx). The sequence is allocated
// in memory (the highest stored one plus 1 at Open); a transaction that
// commits late with a lower sequence is not skipped, because the drain
// never scans past a sequence whose transaction is still open.
//
// # Disk budget policy
//
// The outbox has a budget in logical bytes (keys and values of its rows;
// Options.Budget, DefaultBudget 64 MiB; Badger's overhead and compaction
// lag come on top and belong to the store's own disk guard).
//
//   - Hits and dispositions are NEVER dropped. A Put of one succeeds over
//     budget (as long as the disk takes it) and keeps the alarm on.
//   - A status supersedes every older status still in the outbox, in the
//     same transaction: the outbox holds at most one status (the latest),
//     whatever the budget. HQ orders status by created_at.
//   - After every put, while the outbox is over budget, low-priority
//     records are dropped: telemetry oldest-first, then the status. Drops
//     are counted (Depth.Dropped) and logged.
//   - The alarm (OverBudget, Options.OnAlarm) is raised as soon as the
//     outbox exceeds its budget and cleared when acknowledgements bring it
//     back under ClearBelow (90% of the budget by default): it says the
//     link has been down long enough for the post to start shedding
//     telemetry, or that hits alone fill the budget.
//
// # Delivery (Publisher)
//
// The publisher sends each record as one MQTT message (QoS 1, not
// retained) on watchpost/v1/posts/<post>/hits, JSON:
//
//	{"id":"01K0…","kind":"hit","created_at":"2026-07-01T10:00:00.123456789Z","payload":{…}}
//
// (protocol.EncodeRecord; payload is the record's JSON document as is). All kinds share
// the topic: it is the post's one reliable stream, and HQ deduplicates
// and acknowledges it in one place. The retained, human-readable status on
// .../status (mosquitto_sub) is a separate, fire-and-forget publish.
//
// HQ stores each record once, deduplicating by id, and only then
// acknowledges on watchpost/v1/posts/<post>/acks with
//
//	{"ids":["01K0…","01K0…"]}
//
// (protocol.AckMessage, at most protocol.MaxAckIDs ids; HQ batches). A duplicate is acked
// again. The publisher deletes a record ONLY on that ack, never on PUBACK
// (a PUBACK says the broker took the message, and MQTT 3.1.1 PUBACKs even
// a publish its ACL dropped). Acks for ids that are not
// in the outbox are counted and ignored.
//
// Rules of the loop:
//
//   - High-priority records go before low ones, each in FIFO order; at
//     most Window (32) records are in flight, i.e. published or being
//     published and not acked.
//   - A record whose ack has not come AckTimeout after its PUBACK is sent
//     again with the same id (at least once; HQ deduplicates).
//   - A failed publish (link down, no PUBACK in time) stops all publishing
//     for a jittered exponential back-off (BackoffMin doubling to
//     BackoffMax, uniform in [d/2, d)); the record is retried first.
//   - MaxRate optionally spaces publishes evenly.
//   - Nothing in flight is persisted: after a restart every record still
//     in the outbox is sent again.
//
// Run(ctx) owns its goroutines (one loop plus at most Window publishes)
// and returns nil, with all of them stopped, when ctx ends.
package outbox
