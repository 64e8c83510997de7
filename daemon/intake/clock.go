package intake

import "github.com/watchpost/watchpost/sync/outbox"

// Clock is the time source of the intake: the scan interval, the stability
// rule and the timestamps in result and reason files. It is the daemon's
// one clock interface (the outbox's, also used by the ledger and the sync
// agent); tests inject a fake and advance it instead of sleeping (STYLE
// 14).
type Clock = outbox.Clock

// Timer is a one-shot timer of a Clock.
type Timer = outbox.Timer

// SystemClock is the real clock.
type SystemClock = outbox.SystemClock
