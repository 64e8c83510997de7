// Package daemon is Watchpost's wiring: the one place where concrete
// implementations meet. Its one job is to turn a configuration into a
// running border post or a running HQ. Post (NewPost, Run) wires a post:
// its Badger store, the screening index (deltas applied in place,
// rebuilds after snapshots and imports), the ledger,
// the outbox, the link to HQ, the local API and the folder intake. HQ
// (NewHQ, Run; Open for the commands) wires headquarters: its store, the
// embedded broker or the link to one, the publisher of signed versions,
// the server that receives the posts' records, retention, the re-signing
// of heads and HTTPS.
//
// Imported only by daemon/cli and daemon/hqcli (the two command lines),
// daemon/demo (the demo, which runs both), daemon/fieldtest (field
// conditions, whose tests run both), daemon/doctor (the
// technician's checks) and the tests of daemon/api (which run the API on
// the real ledger through APILedger); nothing in sync/ or engine/ imports
// it, and the mains in cmd/ reach it through the command lines.
//
// The two sides meet in no file: the files whose names start with "hq"
// wire HQ and import no post package, the others wire the post and
// import no HQ package. Below this package the post's packages and HQ's
// share only sync/protocol, the transport and the engine.
package daemon
